"""The report's .xlsx annexes, laid out for reading and printing on A4.

Sheets: Biểu 01 (targets), Biểu 02 (funds against plan), the comparison with a year earlier,
each form by unit (units as rows, grouped by kind, with subtotals; tables with a detail
sheet), the submission status and the figures to note. Numbers, percentages and dates are
stored as numbers and dates with Vietnamese display formats.

Totals mean one thing each: the grand total of a by-unit sheet is the sum of the rows it
says it adds (the local units' reports, or every unit where each unit's own activity
counts); a provincial figure (the lead department's register, or the units named as the
source) is shown on its own row, labelled as the official figure where the indicator's
``primary`` says so, and never added in.

Every sheet goes through ``_print`` at the end of ``render_xlsx`` (A4 page setup, headers and
footers), so sheets added later get it too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from baocao.forms import SHEET_TITLES
from baocao.programme import TOTAL, Indicator, Programme, Unit
from baocao.reports.context import (
    ReportData,
    area_rows,
    cumulative_label,
    empty_text,
    fund_rows,
    funds_source_note,
    growth_text,
    percent,
    report_series_notes,
    target_table,
)
from baocao.sheet_print import (
    FONT,
    HEADER_SIZE,
    fit_row,
    fit_rows,
    hf_text,
    new_workbook,
    print_setup,
)
from baocao.statuses import SubmissionStatus
from baocao.timezone import VN_TZ
from baocao.vn_numbers import NotANumber, parse_vn_number
from baocao.warehouse.readmodels import completeness

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="D9E1F2")
_TOTAL = PatternFill("solid", fgColor="F2F2F2")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Vietnamese display whatever the reader's locale ([$-42A] = vi-VN): 1.234,500 and 45,7%
COUNT_FMT, MONEY_FMT = "[$-42A]#,##0", "[$-42A]#,##0.000"
PCT_FMT, DATE_FMT = "[$-42A]0.0%", "dd/mm/yyyy hh:mm"
NONE_TEXT = "không có"
NUM_WIDTH, MONEY_WIDTH = 8, 12


def put(ws, row: int, col: int, value: Any, *, bold: bool = False, fmt: str | None = None,
        head: bool = False, wrap: bool = False, fill: PatternFill | None = None):
    """Write one cell; text that looks like a formula is stored as text, never evaluated."""
    c = ws.cell(row, col)
    c.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        c.data_type = "s"
        c.quotePrefix = True
    c.border = _BOX
    c.font = Font(name=FONT, bold=bold or head)
    if head:
        c.fill = _HEAD
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    elif wrap:
        c.alignment = Alignment(wrap_text=True, vertical="top")
    elif isinstance(value, str) and value in ("-", NONE_TEXT):
        c.alignment = Alignment(horizontal="center", vertical="top")
    else:
        c.alignment = Alignment(vertical="top")
    if fill is not None:
        c.fill = fill
    if fmt:
        c.number_format = fmt
    return c


def _num(ws, row: int, col: int, value: float | int | None, kind: str = "count", **kw):
    """A number cell with its column's format (blank when there is no figure)."""
    if isinstance(value, float) and kind == "count" and value.is_integer():
        value = int(value)
    elif isinstance(value, float):
        value = round(value, 3)
    return put(ws, row, col, value, fmt=MONEY_FMT if kind == "money" else COUNT_FMT, **kw)


def _pct(ws, row: int, col: int, part: float | None, whole: float | None, *,
         rate: bool = False, **kw):
    """A percentage stored as a fraction (0.457 shows 45,7%); '-' without a base. It shows
    what the report's .docx shows (half up, ``context.percent``): an unmet target is given
    as many decimals as it takes never to read 100% (2.499/2.500 shows 99,96%)."""
    if part is None or not whole:
        return put(ws, row, col, "-", **kw)
    shown = percent(part, whole, met=part >= whole if rate else None).rstrip("%")
    decimals = len(shown.split(",")[1]) if "," in shown else 0
    fmt = PCT_FMT if decimals == 1 else f"[$-42A]0{'.' + '0' * decimals if decimals else ''}%"
    return put(ws, row, col, round(part / whole, 8), fmt=fmt, **kw)


def _sheet(wb: Workbook, name: str, title: str, subtitle: str, headers: list[str],
           widths: list[float], notice: str = "", header_row: int = 4):
    """A sheet with its title, subtitle, notice and one header row; frozen below the header,
    which (with column A) repeats on every printed page."""
    ws = wb.create_sheet(name)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    # titles wrap within the table's width: text running past it would widen the print
    for row, text, font in ((1, title, Font(name=FONT, bold=True, size=13)),
                            (2, subtitle, Font(name=FONT, italic=True)),
                            (3, notice, Font(name=FONT, bold=True, color="C00000"))):
        if not text:  # a period without reports says so on every sheet (row 3)
            continue
        c = ws.cell(row, 1, text)
        c.font, c.alignment = font, Alignment(wrap_text=True, vertical="top")
        if len(widths) > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row,
                           end_column=len(widths))
        fit_row(ws, row)
    for i, h in enumerate(headers, 1):
        put(ws, header_row, i, h, head=True)
    if headers:
        fit_row(ws, header_row, 30)
    ws.freeze_panes = ws.cell(header_row + 1, 2)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_title_cols = "A:A"
    return ws


def render_xlsx(data: ReportData, draft: bool = False) -> bytes:
    """The annexes as .xlsx bytes; a draft says so on every sheet and every printed page."""
    prog, period = data.prog, data.period
    wb = new_workbook()
    wb.remove(wb.active)
    sub = f"{prog.province} — {period.title} (số liệu {period.cutoff_start:%d/%m/%Y} – " \
          f"{period.cutoff_end:%d/%m/%Y})"
    notice = empty_text(data)
    if notice:
        _status_sheet(wb, data, sub, notice)
    _targets_sheet(wb, data, sub, notice)
    _funds_sheet(wb, data, sub, notice)
    _comparison_sheet(wb, data, sub, notice)
    for n, sheet in enumerate(("workers", "funds", "communication", "enforcement"), 1):
        _by_unit_sheets(wb, data, sheet, n, sub, notice)
    _unit_detail_sheet(wb, data, sub, notice)
    if not notice:
        _status_sheet(wb, data, sub)
    _warnings_sheet(wb, data, sub, notice)
    if draft:
        for ws in wb.worksheets:
            ws.cell(2, 1).value = f"BẢN DỰ THẢO — {ws.cell(2, 1).value}"
            ws.cell(2, 1).font = Font(name=FONT, italic=True, bold=True, color="C00000")
    for ws in wb.worksheets:
        _print(ws, data, draft)
    wb.properties.title = ("Dự thảo phụ lục" if draft else "Phụ lục") + \
        f" báo cáo {period.title}"
    wb.properties.creator = "baocao"
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _short(text: str, limit: int = 95) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _print(ws, data: ReportData, draft: bool) -> None:
    """A4 page setup of one annex sheet: header with the period and the sheet's name,
    footer with the report's title and page x/y; 'BẢN DỰ THẢO' on every page of a draft."""
    print_setup(ws, header_left=hf_text(f"Phụ lục báo cáo {data.period.title}"),
                footer_left=hf_text(_short(f"Báo cáo {data.prog.title[:1].lower()}"
                                           f"{data.prog.title[1:]}")))
    if draft:
        ws.oddHeader.center.text = "BẢN DỰ THẢO"
        ws.oddHeader.center.color = "C00000"
        ws.oddHeader.center.size = HEADER_SIZE


def _note_rows(ws, lines: list[str], width_cols: int | None = None) -> None:
    """Italic notes under a table, one per row, wrapped over the table's width."""
    r = ws.max_row + 2
    last = width_cols or ws.max_column
    for line in lines:
        if line:
            c = ws.cell(r, 1, line)
            c.font = Font(name=FONT, italic=True)
            c.alignment = Alignment(wrap_text=True, vertical="top")
            if last > 1:
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=last)
            fit_row(ws, r)
            r += 1


# ----- Biểu 01, Biểu 02, comparison ---------------------------------------------------------
def _targets_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Biểu 01: period, year and cumulative targets against achieved; growth on a year ago."""
    prog, period = data.prog, data.period
    half = period.kind == "H"
    ws = _sheet(wb, "Biểu 01 - Chỉ tiêu", "BIỂU SỐ 01. KẾT QUẢ THỰC HIỆN MỤC TIÊU", sub,
                ["Chỉ tiêu", "Mục tiêu kỳ báo cáo" + (" (1/2 mục tiêu năm, tham khảo)"
                                                       if half else ""),
                 "Thực hiện", "Tỷ lệ", "Đánh giá", "Mục tiêu năm", "Tỷ lệ so với mục tiêu năm",
                 cumulative_label(data), "Mục tiêu lũy kế", "Tỷ lệ lũy kế",
                 "Cùng kỳ năm trước", "Tăng/giảm"],
                [36, 12, 10, 8, 9, 10, 9, 11, 11, 8, 10, 8], notice)
    rows = target_table(data)
    for r, t in enumerate(rows, 5):
        put(ws, r, 1, t["name"], wrap=True)
        target = t["target_value"]
        if target is not None:
            _num(ws, r, 2, target)
        else:
            put(ws, r, 2, t["target"], wrap=True)
        _num(ws, r, 3, t["achieved_value"])
        _pct(ws, r, 4, t["achieved_value"], target, rate=True)
        put(ws, r, 5, t["met"])
        if t["yearly_value"] is not None:
            _num(ws, r, 6, t["yearly_value"])
        else:
            put(ws, r, 6, t["yearly"], wrap=True)
        _pct(ws, r, 7, t["achieved_value"], t["yearly_value"], rate=True)
        _num(ws, r, 8, t["cumulative_value"])
        if t["cumulative_target_value"] is not None:
            _num(ws, r, 9, t["cumulative_target_value"])
        else:
            put(ws, r, 9, t["cumulative_target"], wrap=True)
        _pct(ws, r, 10, t["cumulative_value"], t["cumulative_target_value"], rate=True)
        prev = t["previous_value"]
        if prev is not None:
            _num(ws, r, 11, prev)
        else:
            put(ws, r, 11, "-")
        _pct(ws, r, 12, None if prev is None else t["achieved_value"] - prev, prev)
        fit_row(ws, r)
    _note_rows(ws, [growth_text(data),
                    "Mục tiêu 6 tháng (và phần của năm nay trong mục tiêu lũy kế) bằng 1/2 "
                    "mục tiêu năm, chỉ để tham khảo." if half and prog.targets else "",
                    *report_series_notes(data)])


def _funds_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Biểu 02: funds against the programme's plan ('chưa có kế hoạch' without one)."""
    ws = _sheet(wb, "Biểu 02 - Nguồn vốn", "BIỂU SỐ 02. NGUỒN VỐN SO VỚI KẾ HOẠCH "
                "(triệu đồng)", sub,
                ["Nguồn vốn", "Kế hoạch giai đoạn", "Giải ngân trong kỳ", "Lũy kế giải ngân",
                 "Tỷ lệ lũy kế so với kế hoạch", "Số người được vay/hỗ trợ (người)", "Dư nợ",
                 "Nợ quá hạn"],
                [38, 14, 13, 13, 10, 11, 13, 13], notice)
    for r, row in enumerate(fund_rows(data), 5):
        vals, bold = row["values"], row["code"] == TOTAL
        fill = _TOTAL if bold else None
        put(ws, r, 1, row["name"], bold=bold, wrap=True, fill=fill)
        if row["budget_value"] is not None:
            _num(ws, r, 2, row["budget_value"], "money", bold=bold, fill=fill)
        else:
            put(ws, r, 2, row["budget"], wrap=True, fill=fill)
        for c, key, kind in ((3, "disbursed", "money"), (4, "cumulative", "money"),
                             (6, "beneficiaries", "count"), (7, "outstanding", "money"),
                             (8, "overdue", "money")):
            if vals[key] is None:
                put(ws, r, c, "-", fill=fill)
            else:
                _num(ws, r, c, vals[key], kind, bold=bold, fill=fill)
        _pct(ws, r, 5, vals["cumulative"], row["budget_value"], rate=True, bold=bold,
             fill=fill)
        fit_row(ws, r)
    _note_rows(ws, [funds_source_note(data)])


def _comparison_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Departures by current unit (or group of successors) against a year earlier."""
    ws = _sheet(wb, "So sánh cùng kỳ", "SỐ LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI SO VỚI CÙNG KỲ "
                "NĂM TRƯỚC THEO ĐỊA BÀN", sub,
                ["Đơn vị, địa bàn (hiện nay)", "Cùng kỳ năm trước", "Kỳ này", "Tăng/giảm",
                 "Số liệu cũ cộng dồn từ"], [42, 11, 10, 9, 45], notice)
    rows = area_rows(data)
    for r, a in enumerate(rows, 5):
        put(ws, r, 1, a["name"], wrap=True)
        _num(ws, r, 2, a["previous_value"])
        _num(ws, r, 3, a["current_value"])
        _pct(ws, r, 4, a["current_value"] - a["previous_value"], a["previous_value"])
        put(ws, r, 5, a["former"] or "", wrap=True)
        fit_row(ws, r)
    if rows:
        r = 5 + len(rows)
        prev = round(sum(a["previous_value"] for a in rows), 3)
        now = round(sum(a["current_value"] for a in rows), 3)
        put(ws, r, 1, "Tổng cộng", bold=True, fill=_TOTAL)
        _num(ws, r, 2, prev, bold=True, fill=_TOTAL)
        _num(ws, r, 3, now, bold=True, fill=_TOTAL)
        _pct(ws, r, 4, now - prev, prev, bold=True, fill=_TOTAL)
        put(ws, r, 5, "", fill=_TOTAL)
    else:
        put(ws, 5, 1, NONE_TEXT)
    _note_rows(ws, report_series_notes(data) if rows
               else ["Chưa có số liệu cùng kỳ năm trước để so sánh."])


# ----- each form by unit ------------------------------------------------------------------------
_KIND_GROUPS = (("department", "SỞ, BAN, NGÀNH TỈNH"),
                ("organisation", "TỔ CHỨC, ĐƠN VỊ KHÁC CẤP TỈNH"),
                ("district", "HUYỆN, THÀNH PHỐ"), ("commune", "XÃ, PHƯỜNG"))
_ROMAN = ("I", "II", "III", "IV", "V", "VI")


@dataclass(frozen=True)
class _Column:
    indicator: str
    row: str
    col: str
    kind: str
    group: str  # the header over it (indicator), '' for a scalar
    name: str  # its own header
    width: float


@dataclass
class _Group:
    roman: str
    title: str
    units: list[Unit]
    counted: bool  # added into the grand total


@dataclass
class _Plan:
    """Who is listed on a by-unit sheet, what the grand total adds up, what is official."""

    groups: list[_Group]
    all_count: bool  # every unit's own activity counts (primary: all)
    labels: dict[str, str]  # unit code -> suffix for a provincial figure's row
    total_label: str
    notes: list[str]
    missing: list[Unit]


def _plan(prog: Programme, data: ReportData, sheet: str, values: dict[str, dict]) -> _Plan:
    inds = [i for i in prog.sheet_indicators(sheet)]
    all_count = bool(inds) and all(i.primary == "all" for i in inds)
    lead = prog.find_lead(data.period.deadline)
    official = {u for i in inds if i.primary == "units" for u in i.primary_units}
    if lead and any(i.primary == "lead" for i in inds):
        official.add(lead.code)
    expected = [u for u in prog.expected_units(data.period) if sheet in prog.unit_sheets(u)]
    reported = [u for u in expected if u.code in values]
    groups, n = [], 0
    for kind, title in _KIND_GROUPS:
        units = [u for u in reported if u.kind == kind]
        if units:
            counted = all_count or prog.is_local(units[0])
            groups.append(_Group(_ROMAN[n], title, units, counted))
            n += 1
    labels: dict[str, str] = {}
    if not all_count:
        for g in groups:
            if g.counted:
                continue
            for u in g.units:
                if u.code in official:
                    labels[u.code] = " — SỐ LIỆU CHÍNH THỨC CỦA TỈNH"
                elif lead and u.code == lead.code:
                    labels[u.code] = " — số liệu theo dõi của cơ quan thường trực"
    counted = [g for g in groups if g.counted]
    parts = " + ".join(g.roman for g in counted)
    if all_count:
        total_label = f"TỔNG CỘNG CÁC CƠ QUAN, ĐƠN VỊ ({parts})" if parts else "TỔNG CỘNG"
        notes = ["Tổng cộng là tổng báo cáo của tất cả các cơ quan, đơn vị (mỗi đơn vị báo cáo "
                 "hoạt động của chính mình) và là số liệu của tỉnh trong báo cáo."]
    else:
        local = " VÀ ".join(g.title for g in counted) or "CÁC ĐỊA PHƯƠNG"
        total_label = f"TỔNG CỘNG BÁO CÁO CỦA CÁC {local}" + (f" ({parts})" if parts else "")
        notes = [f"Tổng cộng chỉ cộng báo cáo của các {local.lower()}; số liệu của các cơ quan "
                 "cấp tỉnh ghi riêng từng dòng và không cộng vào tổng."]
        sources = [prog.units_by_code(c)[-1].name for c in sorted(official)
                   if prog.units_by_code(c)]
        if sources:
            notes.append("Số liệu chính thức của tỉnh: số liệu của " + ", ".join(sources)
                         + "; tổng báo cáo của các địa phương dùng để đối chiếu.")
        else:
            notes.append(f"Số liệu chính thức của tỉnh: tổng báo cáo của các {local.lower()}"
                         + (f"; số liệu theo dõi của {lead.name} dùng để đối chiếu."
                            if lead and any(u.code == lead.code for g in groups
                                            for u in g.units) else "."))
    missing = [u for u in expected if u.code not in values]
    return _Plan(groups, all_count, labels, total_label, notes, missing)


def _columns(prog: Programme, sheet: str, day) -> tuple[list[_Column], list[Indicator]]:
    """Main-sheet columns: a table's 'Tổng cộng' row by column, a list's rows (and its total),
    each scalar; and the tables (rows x columns) that get a detail sheet."""
    cols: list[_Column] = []
    tables = []
    for ind in prog.sheet_indicators(sheet):
        if ind.rows and ind.cols:
            tables.append(ind)
            if ind.total_row:
                group = f"{ind.name} — tổng cộng"
                cols += [_Column(ind.code, TOTAL, m.code, prog.value_kind(ind, m.code), group,
                                 m.name_on(day), _width(prog.value_kind(ind, m.code)))
                         for m in prog.dimension(ind.cols).members]
        elif ind.rows:
            group = f"{ind.name} ({prog.unit_of_measure(ind)})"
            members = [(m.code, m.name_on(day)) for m in prog.dimension(ind.rows).members]
            if ind.total_row:
                members.append((TOTAL, "Tổng cộng"))
            cols += [_Column(ind.code, code, "", ind.kind, group, name, _width(ind.kind))
                     for code, name in members]
        else:
            unit = prog.unit_of_measure(ind)
            name = ind.name if not unit or f"({unit})" in ind.name else f"{ind.name} ({unit})"
            cols.append(_Column(ind.code, "", "", ind.kind, "", name, _width(ind.kind)))
    return cols, tables


def _width(kind: str) -> float:
    return MONEY_WIDTH if kind == "money" else NUM_WIDTH


def _by_unit_sheets(wb: Workbook, data: ReportData, sheet: str, n: int, sub: str,
                    notice: str = "") -> None:
    prog = data.prog
    values: dict[str, dict[tuple[str, str, str], float]] = defaultdict(dict)
    for r in data.by_unit:
        values[r["unit_code"]][(r["indicator"], r["row_key"], r["col_key"])] = r["value"]
    plan = _plan(prog, data, sheet, values)
    cols, tables = _columns(prog, sheet, data.period.deadline)
    short = SHEET_TITLES[sheet][0].split(" - ", 1)[1]
    title = SHEET_TITLES[sheet][1].split(". ", 1)[1]
    if cols:
        _main_sheet(wb, data, f"PL{n} - {short} theo đơn vị"[:31],
                    f"PHỤ LỤC {n}. {title} — TỔNG HỢP THEO ĐƠN VỊ", sub, notice, plan, cols,
                    values)
    for ind in tables:
        _detail_sheet(wb, data, f"PL{n}b - {short} chi tiết"[:31],
                      f"PHỤ LỤC {n}b. {ind.name.upper()} — CHI TIẾT THEO ĐƠN VỊ", sub, notice,
                      plan, ind, values)


def _two_level_header(ws, row: int, cols: list[_Column], first: int) -> None:
    """Row ``row``: the indicator over its columns; row + 1: each column's own name."""
    c = first
    while c < first + len(cols):
        col = cols[c - first]
        span = 1
        while col.group and c + span < first + len(cols) and \
                cols[c - first + span].group == col.group:
            span += 1
        if col.group:
            put(ws, row, c, col.group, head=True)
            for k in range(span):
                put(ws, row + 1, c + k, cols[c - first + k].name, head=True)
                put(ws, row, c + k, ws.cell(row, c).value if k == 0 else None, head=True)
            if span > 1:
                ws.merge_cells(start_row=row, start_column=c, end_row=row,
                               end_column=c + span - 1)
        else:
            put(ws, row, c, col.name, head=True)
            put(ws, row + 1, c, None, head=True)
            ws.merge_cells(start_row=row, start_column=c, end_row=row + 1, end_column=c)
        c += span


def _main_sheet(wb: Workbook, data: ReportData, name: str, title: str, sub: str, notice: str,
                plan: _Plan, cols: list[_Column], values: dict[str, dict]) -> None:
    ws = _sheet(wb, name, title, sub, [], [5, 26] + [c.width for c in cols], notice)
    head = 5
    for c in (1, 2):
        put(ws, head, c, "STT" if c == 1 else "Cơ quan, đơn vị", head=True)
        put(ws, head + 1, c, None, head=True)
        ws.merge_cells(start_row=head, start_column=c, end_row=head + 1, end_column=c)
    _two_level_header(ws, head, cols, 3)
    fit_rows(ws, head, head + 1, 30)
    ws.freeze_panes = ws.cell(head + 2, 3)
    ws.print_title_rows = f"{head}:{head + 1}"
    ws.print_title_cols = "A:B"
    r = head + 2

    def value(unit: Unit, col: _Column) -> float:
        """A unit's figure; a table's 'Tổng cộng' adds up its rows (as the form does)."""
        mine = values[unit.code]
        if col.row != TOTAL:
            return mine.get((col.indicator, col.row, col.col), 0.0)
        return round(sum(v for (i, row, c), v in mine.items()
                         if i == col.indicator and c == col.col and row != TOTAL), 3)

    for g in plan.groups:
        r = _group_row(ws, r, g, len(cols))
        for i, unit in enumerate(g.units, 1):
            put(ws, r, 1, i)
            put(ws, r, 2, unit.name + plan.labels.get(unit.code, ""), wrap=True,
                bold="CHÍNH THỨC" in plan.labels.get(unit.code, ""))
            for k, col in enumerate(cols):
                _num(ws, r, 3 + k, value(unit, col), col.kind)
            fit_row(ws, r)
            r += 1
        if g.counted and sum(x.counted for x in plan.groups) > 1:
            put(ws, r, 1, None, fill=_TOTAL)
            put(ws, r, 2, f"Cộng {g.roman} ({len(g.units)} đơn vị)", bold=True, fill=_TOTAL)
            for k, col in enumerate(cols):
                _num(ws, r, 3 + k, sum(value(u, col) for u in g.units), col.kind, bold=True,
                     fill=_TOTAL)
            r += 1
    put(ws, r, 1, None, fill=_HEAD)
    put(ws, r, 2, plan.total_label, bold=True, wrap=True, fill=_HEAD)
    counted = [u for g in plan.groups if g.counted for u in g.units]
    for k, col in enumerate(cols):
        _num(ws, r, 3 + k, sum(value(u, col) for u in counted), col.kind, bold=True,
             fill=_HEAD)
    fit_row(ws, r)
    missing = ", ".join(u.name for u in plan.missing) or NONE_TEXT
    _note_rows(ws, [*plan.notes, f"Chưa có báo cáo được tiếp nhận: {missing}."],
               min(ws.max_column, 12))


def _detail_sheet(wb: Workbook, data: ReportData, name: str, title: str, sub: str,
                  notice: str, plan: _Plan, ind: Indicator, values: dict[str, dict]) -> None:
    prog = data.prog
    members = prog.dimension(ind.cols).members
    rows = prog.dimension(ind.rows).members
    day = data.period.deadline
    kinds = [prog.value_kind(ind, m.code) for m in members]
    ws = _sheet(wb, name, title, sub,
                ["STT", f"Cơ quan, đơn vị / {prog.dimension(ind.rows).name.lower()}",
                 *[m.name_on(day) for m in members]],
                [5, 34] + [MONEY_WIDTH if k == "money" else NUM_WIDTH for k in kinds], notice)
    ws.print_title_cols = "A:B"
    ws.freeze_panes = "C5"
    r = 5

    def line(label: str, key_values: dict, row_key: str, *, bold=False, fill=None, no=None):
        nonlocal r
        put(ws, r, 1, no, bold=bold, fill=fill)
        put(ws, r, 2, label, bold=bold, wrap=True, fill=fill)
        for k, m in enumerate(members):
            _num(ws, r, 3 + k, key_values.get((ind.code, row_key, m.code), 0.0), kinds[k],
                 bold=bold, fill=fill)
        fit_row(ws, r)
        r += 1

    def total_of(units: list[Unit]) -> dict:
        """(indicator, row, col) -> sum over ``units``; the TOTAL row adds up the rows."""
        out: dict = defaultdict(float)
        for u in units:
            for key, v in values[u.code].items():
                if key[0] == ind.code and key[1] != TOTAL:
                    out[key] += v
                    out[(ind.code, TOTAL, key[2])] += v
        return out

    for g in plan.groups:
        r = _group_row(ws, r, g, len(members))
        for i, unit in enumerate(g.units, 1):
            mine = total_of([unit])
            line(unit.name + plan.labels.get(unit.code, ""), mine, TOTAL, bold=True, no=i)
            for m in rows:
                if any(mine.get((ind.code, m.code, c.code)) for c in members):
                    line(f"– {m.name_on(day)}", mine, m.code)
    counted = [u for g in plan.groups if g.counted for u in g.units]
    grand = total_of(counted)
    line(plan.total_label, grand, TOTAL, bold=True, fill=_HEAD)
    for m in rows:
        line(f"– {m.name_on(day)}", grand, m.code, fill=_TOTAL)
    _note_rows(ws, [*plan.notes, "Mỗi đơn vị: dòng đầu là tổng cộng; chỉ ghi các dòng có số "
                                 "liệu khác 0."], min(ws.max_column, 10))


def _group_row(ws, r: int, group, width: int) -> int:
    """A group's heading row (roman numeral, title, empty figure cells); the next row."""
    put(ws, r, 1, group.roman, bold=True)
    put(ws, r, 2, group.title + ("" if group.counted else " (không cộng vào tổng)"), bold=True,
        wrap=True)
    for k in range(width):
        put(ws, r, 3 + k, None)
    fit_row(ws, r)
    return r + 1


# ----- status and warnings ------------------------------------------------------------------------
def _local(value: datetime | None) -> datetime | None:
    """A moment as Vietnam wall-clock time without a zone (Excel has none)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=VN_TZ)
    return aware.astimezone(VN_TZ).replace(tzinfo=None)


def _status_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    ws = _sheet(wb, "Tình hình gửi báo cáo", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC ĐƠN VỊ",
                sub + f" — hạn gửi {data.period.deadline:%d/%m/%Y}",
                ["STT", "Cơ quan, đơn vị", "Mã", "Tình trạng", "Thời điểm nhận", "Lần gửi",
                 "Số tệp đã gửi"], [5, 38, 11, 20, 15, 7, 8], notice)
    for r, s in enumerate(data.statuses, 5):
        put(ws, r, 1, r - 4)
        put(ws, r, 2, s.unit.name, wrap=True)
        put(ws, r, 3, s.unit.code)
        put(ws, r, 4, SubmissionStatus(s.status).label, wrap=True)
        put(ws, r, 5, _local(s.received_at), fmt=DATE_FMT)
        put(ws, r, 6, s.version, fmt=COUNT_FMT)
        put(ws, r, 7, s.files, fmt=COUNT_FMT)
        fit_row(ws, r)
    if not data.statuses:
        put(ws, 5, 2, NONE_TEXT)
    comp = completeness(data.statuses)
    r = ws.max_row + 2
    counted = [(SubmissionStatus(key).label, key) for key in ("on_time", "late", "missing")]
    for label, key in (("Số đơn vị phải báo cáo", "expected"), ("Đã báo cáo", "received"),
                       *counted,
                       ("Tỷ lệ đầy đủ", "completeness"), ("Tỷ lệ đúng hạn", "timeliness")):
        put(ws, r, 2, label, bold=True)
        if key in ("completeness", "timeliness"):
            put(ws, r, 4, round(comp[key] / 100, 4), fmt=PCT_FMT)
        else:
            put(ws, r, 4, comp[key], fmt=COUNT_FMT)
        r += 1


def _number_or_text(text: Any) -> float | str:
    if isinstance(text, int | float):
        return text
    try:
        return float(parse_vn_number(str(text)))
    except (NotANumber, ValueError):
        return str(text or "")


def _warnings_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    names = {u.code: u.name for u in data.prog.units}
    ws = _sheet(wb, "Số liệu cần lưu ý", "SỐ LIỆU CẦN LƯU Ý (CẢNH BÁO)", sub,
                ["STT", "Cơ quan, đơn vị", "Quy tắc", "Trang tính", "Ô", "Giá trị",
                 "Nội dung"], [5, 28, 16, 16, 6, 11, 52], notice)
    for r, w in enumerate(data.warnings, 5):
        put(ws, r, 1, r - 4)
        put(ws, r, 2, names.get(w["unit_code"], w["unit_code"]), wrap=True)
        put(ws, r, 3, w["rule"], wrap=True)
        put(ws, r, 4, w["sheet"], wrap=True)
        put(ws, r, 5, w["cell"])
        value = _number_or_text(w["value"])
        put(ws, r, 6, value, fmt=MONEY_FMT if isinstance(value, float)
            and not value.is_integer() else COUNT_FMT if isinstance(value, float) else None)
        put(ws, r, 7, w["message"], wrap=True)
        fit_row(ws, r)
    if not data.warnings:
        put(ws, 5, 1, None)
        put(ws, 5, 2, NONE_TEXT)
        for c in range(3, 8):
            put(ws, 5, c, None)


def _unit_detail_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    """Each unit's task results and texts as it wrote them (the report body only sums them
    up): one row per task (the unit named on its first row), then its difficulties,
    recommendations and plans; the cell each came from, for tracing."""
    from baocao.reports.annexes import NARRATIVE_KEYS, text_rows, unit_detail_rows

    labels = {"difficulties": "Khó khăn, vướng mắc", "recommendations": "Đề xuất, kiến nghị",
              "next_plan": "Phương hướng kỳ tới"}
    ws = _sheet(wb, "PL5 - Nhiệm vụ theo đơn vị",
                "KẾT QUẢ THỰC HIỆN NHIỆM VỤ VÀ Ý KIẾN CỦA TỪNG CƠ QUAN, ĐƠN VỊ", sub,
                ["STT", "Cơ quan, đơn vị", "Nhiệm vụ, nội dung", "Tình trạng",
                 "Kết quả thực hiện, ý kiến của đơn vị", "Ô"], [5, 22, 38, 12, 60, 9], notice)
    by_unit: dict[str, list[list[Any]]] = defaultdict(list)
    for r in unit_detail_rows(data):
        group = f"Nhóm {r['group']}: " if r["group"] else ""
        by_unit[r["unit"]].append([group + r["task"], r["status"], r["result"], r["cell"]])
    for t in text_rows(data):
        for key in NARRATIVE_KEYS:
            if t[key] != "-":
                by_unit[t["unit"]].append([labels[key], "", t[key], ""])
    r = 5
    for n, (name, rows) in enumerate(by_unit.items(), 1):
        for i, row in enumerate(rows):
            put(ws, r, 1, n if i == 0 else None)
            put(ws, r, 2, name if i == 0 else None, wrap=True)
            for c, v in enumerate(row, 3):
                put(ws, r, c, v, wrap=c in (3, 5))
            fit_row(ws, r)
            r += 1
    if not by_unit:
        put(ws, 5, 2, NONE_TEXT)
