"""Render the consolidated report .docx from the committed docxtpl template.

After docxtpl fills the template, three touches need the rendered text: the drawn rules under
the issuer, the motto (or "ĐẢNG CỘNG SẢN VIỆT NAM") and the subject are sized to the text
above them (Decree 30/2020 Annex I: the motto's rule as long as the motto, the others a third
to a half of their line); total rows are set in bold. A draft carries "BẢN DỰ THẢO" in the
headers of the template (first page and the others), so it shows on every printed page.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from baocao.reports.chart import departures_chart
from baocao.reports.context import ReportData, context
from baocao.text import nfc_deep

TEMPLATE = "report.docx"
BODY_TWIPS = 9354  # 16.5 cm: A4 portrait less the 30 + 15 mm margins
CELL_MARGINS = 216  # twips: Word's default left + right cell margins (0.19 cm each)
SHORT_RULE = 0.4  # the issuer's and the subject's rule: 2/5 of the longest line
MIN_RULE = 1134  # twips (2 cm)


def template_path() -> Path:
    from baocao.config import settings

    return Path(settings().templates_dir) / TEMPLATE


def render_docx(data: ReportData, draft: bool = False) -> bytes:
    """The report as .docx bytes; all unit text is escaped (autoescape), never interpreted.
    A draft says so in the header of every page."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage, Listing

    tpl = DocxTemplate(str(template_path()))
    ctx = nfc_deep(context(data))
    for key in ("sign_position", "issuer_name", "issuer_parent"):
        ctx[key] = Listing(ctx[key])
    ctx["chart"] = InlineImage(tpl, BytesIO(departures_chart(data)), width=Mm(160))
    ctx["draft"] = draft
    tpl.render(ctx, autoescape=True)
    doc = tpl.docx
    _fit_rules(doc)
    _bold_totals(doc)
    buf = BytesIO()
    tpl.save(buf)
    return buf.getvalue()


# ---- drawn rules ----------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _font_file(bold: bool) -> str | None:
    """Liberation Serif (metric-compatible with Times New Roman), if installed."""
    from matplotlib import font_manager

    want = "LiberationSerif-Bold.ttf" if bold else "LiberationSerif-Regular.ttf"
    for path in font_manager.findSystemFonts():
        if Path(path).name == want:
            return path
    return None


def text_width_pt(text: str, size: float, bold: bool) -> float:
    """Printed width of ``text`` in points in Times New Roman (measured with Liberation
    Serif, which has the same metrics; estimated when the font is not installed)."""
    path = _font_file(bold)
    if path is None:
        return len(text) * size * (0.62 if bold else 0.5)
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    font.set_size(size, 72)
    font.set_text(text, 0.0)
    return font.get_width_height()[0] / 64.0


def _lines(p) -> tuple[list[str], float, bool]:
    """The lines of a paragraph (split at breaks), its font size (pt) and boldness."""
    from docx.oxml.ns import qn

    lines, current, size, bold = [], "", 14.0, False
    for el in p.iter():
        if el.tag == qn("w:t") and el.text:
            current += el.text
        elif el.tag == qn("w:br"):
            lines.append(current)
            current = ""
        elif el.tag == qn("w:sz") and el.getparent().tag == qn("w:rPr"):
            size = int(el.get(qn("w:val"))) / 2
        elif el.tag == qn("w:b") and el.get(qn("w:val"), "true") not in ("0", "false"):
            bold = True
    lines.append(current)
    return [x.strip() for x in lines if x.strip()], size, bold


def _fit_rules(doc) -> None:
    """Give each rule paragraph (styles RuleLong / RuleShort) the length of the text above."""
    from docx.oxml.ns import qn

    body = doc.element.body
    styles = {s.style_id: s.name for s in doc.styles if s.name in ("RuleLong", "RuleShort")}
    for p in body.iter(qn("w:p")):
        ppr = p.find(qn("w:pPr"))
        style = ppr.find(qn("w:pStyle")) if ppr is not None else None
        kind = styles.get(style.get(qn("w:val"))) if style is not None else None
        if kind is None:
            continue
        above = p.getprevious()
        while above is not None and above.tag == qn("w:p") and not _lines(above)[0]:
            above = above.getprevious()
        if above is None or above.tag != qn("w:p"):
            continue
        lines, size, bold = _lines(above)
        container = _container_twips(p)
        width = min(max(text_width_pt(x, size, bold) for x in lines) * 20, container)
        length = width if kind == "RuleLong" else max(width * SHORT_RULE, MIN_RULE)
        side = max(int((container - length) / 2), 0)
        ind = ppr.get_or_add_ind()  # in its schema place
        ind.set(qn("w:left"), str(side))
        ind.set(qn("w:right"), str(side))


def _container_twips(p) -> int:
    """The text width of the cell (or page) a paragraph sits in."""
    from docx.oxml.ns import qn

    tc = p.getparent()
    if tc.tag == qn("w:tc"):
        width = tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
        if width is not None and width.get(qn("w:type")) == "dxa":
            return int(width.get(qn("w:w"))) - CELL_MARGINS
    return BODY_TWIPS


# ---- totals and draft marking ----------------------------------------------------------------

def _bold_totals(doc) -> None:
    """Rows whose first cell reads 'Tổng cộng' are set in bold (on the XML: the appendix
    tables have thousands of rows)."""
    from docx.oxml.ns import qn

    for tr in doc.element.body.iter(qn("w:tr")):
        first = next(tr.iter(qn("w:t")), None)
        if first is None or not (first.text or "").strip().startswith("Tổng cộng"):
            continue
        for run in tr.iter(qn("w:r")):
            run.get_or_add_rPr().get_or_add_b().set(qn("w:val"), "1")  # schema order kept
