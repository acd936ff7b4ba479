"""Render the consolidated report .docx from the committed docxtpl template."""

from __future__ import annotations

import unicodedata
from io import BytesIO
from pathlib import Path
from typing import Any

from baocao.reports.chart import departures_chart
from baocao.reports.context import ReportData, context

TEMPLATE = "report.docx"


def _nfc(obj: Any) -> Any:
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, list):
        return [_nfc(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _nfc(v) for k, v in obj.items()}
    return obj


def template_path() -> Path:
    from baocao.config import settings

    return Path(settings().templates_dir) / TEMPLATE


def render_docx(data: ReportData, draft: bool = False) -> bytes:
    """The report as .docx bytes; all unit text is escaped (autoescape), never interpreted.
    A draft carries a red line on top saying it is not the official report."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage, Listing

    tpl = DocxTemplate(str(template_path()))
    ctx = _nfc(context(data))
    for key in ("sign_position", "issuer_name", "issuer_parent"):
        ctx[key] = Listing(ctx[key])
    ctx["chart"] = InlineImage(tpl, BytesIO(departures_chart(data)), width=Mm(160))
    tpl.render(ctx, autoescape=True)
    if draft:
        _draft_banner(tpl.docx, ctx["data_as_of"] if data.data_as_of else None)
    buf = BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def _draft_banner(doc, data_as_of: str | None) -> None:
    """A first paragraph 'BẢN DỰ THẢO …' (red, bold, centred) above the header table."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    para = doc.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    basis = f"số liệu đến {data_as_of}" if data_as_of else "chưa có số liệu"
    run = para.add_run(unicodedata.normalize(
        "NFC", f"BẢN DỰ THẢO — {basis}, chưa phải báo cáo chính thức"))
    run.bold = True
    run.font.size = Pt(12)
    run.font.name = "Times New Roman"
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    doc.element.body.insert(0, para._p)
