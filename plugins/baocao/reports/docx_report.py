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


def render_docx(data: ReportData) -> bytes:
    """The report as .docx bytes; all unit text is escaped (autoescape), never interpreted."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage, Listing

    tpl = DocxTemplate(str(template_path()))
    ctx = _nfc(context(data))
    for key in ("sign_position", "issuer_name", "issuer_parent"):
        ctx[key] = Listing(ctx[key])
    ctx["chart"] = InlineImage(tpl, BytesIO(departures_chart(data)), width=Mm(160))
    tpl.render(ctx, autoescape=True)
    buf = BytesIO()
    tpl.save(buf)
    return buf.getvalue()
