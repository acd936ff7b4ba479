"""Sheets people print: A4 page setup, row heights that fit wrapped text, one body font.

Shared by the blank forms (``baocao.forms``) and the report's annexes
(``baocao.reports.xlsx_report``). Excel and LibreOffice do not grow a row to fit wrapped text
written by openpyxl, so heights are estimated here from the text and the column width. The
page setup keeps printed text at 8 pt or more: a sheet is fitted to the page width only when
that keeps at least ``MIN_SCALE`` of its size; a wider one prints in landscape across several
pages that repeat its title rows and label columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.worksheet import Worksheet

FONT = "Times New Roman"  # LibreOffice prints it with the metric-compatible Liberation Serif
BODY_SIZE = 11
HEADER_SIZE = 10  # page headers and footers (LibreOffice scales them with the page)
MIN_PRINT_PT = 8.0
MIN_SCALE = 0.8  # 11 pt body text prints at 8.8 pt, 10 pt headers and footers at 8 pt
FIXED_SCALE = 90  # a sheet too wide to fit: landscape at this scale, pages across
_PAGE = {"portrait": (595.3, 841.9), "landscape": (841.9, 595.3)}  # A4 in points
MARGINS = {"left": 0.6, "right": 0.4, "top": 0.75, "bottom": 0.75, "header": 0.3,
           "footer": 0.3}  # inches
_DEFAULT_COL_WIDTH = 8.43
_DEFAULT_ROW_PT = 15.0


def new_workbook() -> Workbook:
    """An empty workbook whose default font is the body font (column widths are measured in
    the default font's digits: with Calibri, which LibreOffice replaces by a wider font,
    every column prints wider than Excel shows it)."""
    wb = Workbook()
    font = Font(name=FONT, size=BODY_SIZE, family=1)
    wb._fonts = IndexedList([font])  # style 0 of every cell without its own font
    wb._named_styles["Normal"].font = font
    return wb


def col_points(width: float | None) -> float:
    """The printed width in points of a column ``width`` characters wide: one digit of the
    11 pt body font (5.5 pt) per character, as LibreOffice prints it, plus Excel's padding
    (Excel itself draws 7-pixel digits, slightly narrower)."""
    w = _DEFAULT_COL_WIDTH if width is None else width
    return w * 5.5 + 4


def sheet_width(ws: Worksheet, last_col: int | None = None) -> float:
    """The printed width in points of columns A..``last_col`` (default: the last used)."""
    last = last_col or ws.max_column
    total = 0.0
    for col in range(1, last + 1):
        dim = ws.column_dimensions.get(get_column_letter(col))
        total += col_points(dim.width if dim is not None and dim.width else None)
    return total


def text_lines(text: str, width: float, size: float = BODY_SIZE, bold: bool = False) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` characters wide.

    A conservative estimate for Times New Roman: a line holds about 1.12 characters per
    unit of width at 11 pt (fewer when bold or larger); words are wrapped whole.
    """
    per_line = max(1.0, (width - 1) * 1.12 * BODY_SIZE / size / (1.1 if bold else 1.0))
    lines = 0
    for para in str(text).split("\n"):
        used, n = 0.0, 1
        for word in para.split():
            size_w = sum(1.45 if ch.isupper() else 1.0 for ch in word)  # capitals are wider
            if used and used + 1 + size_w > per_line:
                n += 1
                used = 0.0
            used += size_w + (1 if used else 0)
            while used > per_line:  # a word longer than the line breaks inside it
                n += 1
                used -= per_line
        lines += n
    return max(lines, 1)


def hf_text(text: str) -> str:
    """Text for a page header or footer ('&' starts a code there)."""
    return text.replace("&", "&&")


def line_height(size: float = BODY_SIZE) -> float:
    return round(size * 1.22, 1)


def _cell_height(ws: Worksheet, cell, width: float) -> float:
    """The height a cell's wrapped text needs (0 for a cell that does not wrap)."""
    if cell.value is None or not isinstance(cell.value, str):
        return 0.0
    wrap = cell.alignment is not None and cell.alignment.wrap_text
    if not wrap and "\n" not in cell.value:
        return 0.0
    size = cell.font.sz if cell.font is not None and cell.font.sz else BODY_SIZE
    bold = bool(cell.font is not None and cell.font.b)
    return text_lines(cell.value, width, size, bold) * line_height(size) + 4


def _merges(ws: Worksheet, row: int) -> tuple[dict[int, float], set[int]]:
    """Merged widths of one-row merges starting in ``row``; columns of taller merges."""
    spans, tall = {}, set()
    for rng in ws.merged_cells.ranges:
        if rng.min_row == row == rng.max_row:
            spans[rng.min_col] = sum(_width(ws, c) for c in range(rng.min_col, rng.max_col + 1))
        elif rng.min_row <= row <= rng.max_row:
            tall.update(range(rng.min_col, rng.max_col + 1))
    return spans, tall


def fit_row(ws: Worksheet, row: int, minimum: float = _DEFAULT_ROW_PT) -> float:
    """Set ``row``'s height to fit its wrapped cells (merged cells use the merged width;
    cells merged over several rows are left to ``fit_rows``)."""
    spans, tall = _merges(ws, row)
    need = minimum
    for cell in ws[row]:
        if cell.column not in tall:
            need = max(need, _cell_height(ws, cell, spans.get(cell.column,
                                                              _width(ws, cell.column))))
    ws.row_dimensions[row].height = round(need, 1)
    return need


def fit_rows(ws: Worksheet, first: int, last: int, minimum: float = _DEFAULT_ROW_PT) -> None:
    """Fit rows ``first``..``last``, then grow the last row of any merge over several of them
    until the merged cell's text fits (a two-level table header)."""
    for row in range(first, last + 1):
        fit_row(ws, row, minimum)
    for rng in ws.merged_cells.ranges:
        if first <= rng.min_row < rng.max_row <= last:
            width = sum(_width(ws, c) for c in range(rng.min_col, rng.max_col + 1))
            need = _cell_height(ws, ws.cell(rng.min_row, rng.min_col), width)
            have = sum(ws.row_dimensions[r].height for r in range(rng.min_row, rng.max_row + 1))
            if need > have:
                ws.row_dimensions[rng.max_row].height = round(
                    ws.row_dimensions[rng.max_row].height + need - have, 1)


def _width(ws: Worksheet, col: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(col))
    return dim.width if dim is not None and dim.width else _DEFAULT_COL_WIDTH


def sheet_height(ws: Worksheet) -> float:
    """The printed height in points of every used row."""
    return sum((ws.row_dimensions[r].height or _DEFAULT_ROW_PT)
               if r in ws.row_dimensions else _DEFAULT_ROW_PT
               for r in range(1, ws.max_row + 1))


@dataclass(frozen=True)
class PrintPlan:
    orientation: str
    fit_width: bool  # fitted to one page wide at ``scale`` (estimated)
    scale: float


def printable(orientation: str) -> tuple[float, float]:
    """Printable width and height (points) of an A4 page with ``MARGINS``."""
    w, h = _PAGE[orientation]
    return (w - 72 * (MARGINS["left"] + MARGINS["right"]),
            h - 72 * (MARGINS["top"] + MARGINS["bottom"]))


def plan_print(width: float, height: float) -> PrintPlan:
    """Portrait or landscape, fitted to the page width or not, for a sheet of this size.

    Fitted only while the text keeps ``MIN_SCALE`` of its size; between the orientations
    that do, the one with fewer pages wins (then the larger print).
    """
    options = []
    for orientation in ("portrait", "landscape"):
        pw, ph = printable(orientation)
        scale = min(1.0, pw / width) if width else 1.0
        if scale >= MIN_SCALE:
            pages = math.ceil(height * scale / ph) if height else 1
            options.append((pages, -scale, orientation != "portrait", orientation))
    if options:  # fewest pages, then the largest print, then portrait
        _pages, neg_scale, _landscape, orientation = min(options)
        return PrintPlan(orientation, True, -neg_scale)
    return PrintPlan("landscape", False, FIXED_SCALE / 100)


def print_setup(ws: Worksheet, *, header_left: str = "", header_right: str = "&A",
                footer_left: str = "", title_rows: str | None = None,
                title_cols: str | None = None, last_col: int | None = None) -> PrintPlan:
    """A4 page setup for a sheet as it stands: orientation and fit (``plan_print``), margins,
    repeated title rows/columns, header and footer (with page x/y), printed gridlines off."""
    plan = plan_print(sheet_width(ws, last_col), sheet_height(ws))
    ps = ws.page_setup
    ps.paperSize = ws.PAPERSIZE_A4
    ps.orientation = plan.orientation
    if plan.fit_width:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ps.fitToWidth, ps.fitToHeight = 1, 0
        ps.scale = None
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ps.scale = FIXED_SCALE
        ps.pageOrder = "overThenDown"
    for side, inches in MARGINS.items():
        setattr(ws.page_margins, side, inches)
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols and not plan.fit_width:
        ws.print_title_cols = title_cols
    for part, text in ((ws.oddHeader.left, header_left), (ws.oddHeader.right, header_right),
                       (ws.oddFooter.left, footer_left),
                       (ws.oddFooter.right, "Trang &P/&N")):
        if text:
            part.text = text
            part.size = HEADER_SIZE
            part.font = f"{FONT},Regular"
    return plan


def keep_together(ws: Worksheet, plan: PrintPlan, blocks: list[tuple[int, int]]) -> None:
    """Start a new page before any block of rows (first, last) that the page breaks would
    split, e.g. a sign-off block or a heading and its box. Pages are estimated from the row
    heights and the plan's scale; blocks taller than a page are left alone."""
    from openpyxl.worksheet.pagebreak import Break

    page = printable(plan.orientation)[1] / plan.scale * 0.95  # estimates: keep a margin

    def height(r: int) -> float:
        dim = ws.row_dimensions[r] if r in ws.row_dimensions else None
        return dim.height if dim is not None and dim.height else _DEFAULT_ROW_PT

    starts = {b[0]: b[1] for b in blocks}
    used, row = 0.0, 1
    while row <= ws.max_row:
        end = starts.get(row)
        if end is not None:
            block = sum(height(r) for r in range(row, end + 1))
            if used + block > page >= block and used > 0:
                ws.row_breaks.append(Break(id=row - 1))
                used = 0.0
        h = height(row)
        if used + h > page and used > 0:
            used = 0.0
        used += h
        row += 1
