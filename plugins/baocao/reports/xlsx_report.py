"""The report's .xlsx annexes: Biểu 01, Biểu 02, each form by unit, status, warnings."""

from __future__ import annotations

from collections import defaultdict
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from baocao.forms import SHEET_TITLES
from baocao.programme import TOTAL
from baocao.reports.context import ReportData, fund_rows, target_rows
from baocao.warehouse.readmodels import STATUS_LABELS, completeness

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="D9E1F2")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COUNT_FMT, MONEY_FMT = "#,##0", "#,##0.000"


def put(ws, row: int, col: int, value: Any, *, bold: bool = False, fmt: str | None = None,
        head: bool = False, wrap: bool = False):
    """Write one cell; text that looks like a formula is stored as text, never evaluated."""
    c = ws.cell(row, col)
    c.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        c.data_type = "s"
        c.quotePrefix = True
    c.border = _BOX
    if bold or head:
        c.font = Font(bold=True)
    if head:
        c.fill = _HEAD
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    elif wrap:
        c.alignment = Alignment(wrap_text=True, vertical="top")
    if fmt:
        c.number_format = fmt
    return c


def _sheet(wb: Workbook, name: str, title: str, subtitle: str, headers: list[str],
           widths: list[int]):
    ws = wb.create_sheet(name)
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.cell(2, 1, subtitle).font = Font(italic=True)
    for i, h in enumerate(headers, 1):
        put(ws, 4, i, h, head=True)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.row_dimensions[4].height = 45
    ws.freeze_panes = "B5"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "4:4"
    return ws


def render_xlsx(data: ReportData) -> bytes:
    prog, period = data.prog, data.period
    wb = Workbook()
    wb.remove(wb.active)
    sub = f"{prog.province} — {period.title} (số liệu {period.cutoff_start:%d/%m/%Y} – " \
          f"{period.cutoff_end:%d/%m/%Y})"
    if prog.targets:
        ws = _sheet(wb, "Biểu 01", "BIỂU SỐ 01. KẾT QUẢ THỰC HIỆN MỤC TIÊU", sub,
                    ["Chỉ tiêu", "Mục tiêu", "Thực hiện", "Tỷ lệ", "Đánh giá",
                     "Lũy kế từ đầu giai đoạn", "Mục tiêu lũy kế", "Cùng kỳ năm trước",
                     "Tăng/giảm"], [50, 14, 14, 10, 12, 16, 16, 16, 12])
        for r, t in enumerate(target_rows(data), 5):
            target = t["target_value"]
            for c, v in enumerate([t["name"], target, t["achieved_value"], t["pct"], t["met"],
                                   t["cumulative"], t["cumulative_target"], t["previous"],
                                   t["growth"]], 1):
                put(ws, r, c, v, fmt=COUNT_FMT if isinstance(v, float | int) else None,
                    wrap=c == 1)
        if period.kind == "H":
            ws.cell(ws.max_row + 2, 1, "Mục tiêu 6 tháng là 1/2 mục tiêu năm, chỉ để tham "
                                       "khảo.").font = Font(italic=True)
    ws = _sheet(wb, "Biểu 02", "BIỂU SỐ 02. NGUỒN VỐN SO VỚI KẾ HOẠCH (triệu đồng)", sub,
                ["Nguồn vốn", "Kế hoạch giai đoạn", "Giải ngân trong kỳ", "Lũy kế giải ngân",
                 "Tỷ lệ so với kế hoạch", "Số người được vay/hỗ trợ", "Dư nợ", "Nợ quá hạn"],
                [45, 16, 16, 16, 12, 14, 16, 14])
    plan = {p.source: p.amount for p in prog.budget.parts} if prog.budget else {}
    for r, (row, member) in enumerate(zip(fund_rows(data),
                                          [*prog.dimension("source").codes, TOTAL],
                                          strict=True), 5):
        budget = plan.get(member) if member != TOTAL else (prog.budget.total if prog.budget
                                                           else None)
        vals = [data.totals.get(("F_FUNDS", member, m), 0.0)
                for m in ("disbursed", "cumulative", "beneficiaries", "outstanding", "overdue")]
        cells = [row["name"], budget, vals[0], vals[1], row["pct"], vals[2], vals[3], vals[4]]
        for c, v in enumerate(cells, 1):
            put(ws, r, c, v, bold=member == TOTAL,
                fmt=(COUNT_FMT if c == 6 else MONEY_FMT) if isinstance(v, float | int) else None)
    for sheet in ("workers", "funds", "communication", "enforcement"):
        _by_unit_sheet(wb, data, sheet, sub)
    _status_sheet(wb, data, sub)
    _warnings_sheet(wb, data, sub)
    wb.properties.title = f"Phụ lục báo cáo {period.title}"
    wb.properties.creator = "baocao"
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _by_unit_sheet(wb: Workbook, data: ReportData, sheet: str, sub: str) -> None:
    prog = data.prog
    columns: list[tuple[str, str, str, str, str]] = []  # key parts + header + kind
    for ind in prog.sheet_indicators(sheet):
        for row, col in prog.cells(ind):
            label = ind.name
            if row:
                label += " — " + ("Tổng cộng" if row == TOTAL
                                  else prog.dimension(ind.rows).member(row).name)
            if col:
                label += " — " + prog.dimension(ind.cols).member(col).name
            kind = prog.value_kind(ind, col) if col else ind.kind
            columns.append((ind.code, row, col, label, kind))
    values: dict[str, dict[tuple[str, str, str], float]] = defaultdict(dict)
    for r in data.by_unit:
        values[r["unit_code"]][(r["indicator"], r["row_key"], r["col_key"])] = r["value"]
    units = [u for u in prog.expected_units(data.period)
             if sheet in prog.unit_sheets(u) and u.code in values]
    title = SHEET_TITLES[sheet][1] + " — TỔNG HỢP THEO ĐƠN VỊ"
    ws = _sheet(wb, SHEET_TITLES[sheet][0][:31], title, sub,
                ["Cơ quan, đơn vị", *[c[3] for c in columns]], [40] + [14] * len(columns))
    ws.row_dimensions[4].height = 90
    for r, unit in enumerate(units, 5):
        put(ws, r, 1, unit.name, wrap=True)
        for c, (ind, row, col, _label, kind) in enumerate(columns, 2):
            put(ws, r, c, values[unit.code].get((ind, row, col)),
                fmt=MONEY_FMT if kind == "money" else COUNT_FMT)
    r = 5 + len(units)
    put(ws, r, 1, "Tổng cộng các đơn vị", bold=True)
    for c, (ind, row, col, _label, kind) in enumerate(columns, 2):
        total = round(sum(values[u.code].get((ind, row, col), 0.0) for u in units), 3)
        put(ws, r, c, total, bold=True, fmt=MONEY_FMT if kind == "money" else COUNT_FMT)


def _status_sheet(wb: Workbook, data: ReportData, sub: str) -> None:
    ws = _sheet(wb, "Tình hình gửi báo cáo", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC ĐƠN VỊ",
                sub + f" — hạn gửi {data.period.deadline:%d/%m/%Y}",
                ["STT", "Cơ quan, đơn vị", "Mã", "Tình trạng", "Thời điểm nhận", "Lần gửi",
                 "Số tệp đã gửi"], [6, 45, 14, 24, 20, 10, 12])
    for r, s in enumerate(data.statuses, 5):
        for c, v in enumerate([r - 4, s.unit.name, s.unit.code, STATUS_LABELS[s.status],
                               f"{s.received_at:%d/%m/%Y %H:%M}" if s.received_at else "",
                               s.version, s.files], 1):
            put(ws, r, c, v)
    comp = completeness(data.statuses)
    r = ws.max_row + 2
    for label, key in (("Số đơn vị phải báo cáo", "expected"), ("Đã báo cáo", "received"),
                       ("Đúng hạn", "on_time"), ("Muộn", "late"), ("Chưa báo cáo", "missing"),
                       ("Tỷ lệ đầy đủ (%)", "completeness"), ("Tỷ lệ đúng hạn (%)",
                                                              "timeliness")):
        put(ws, r, 2, label, bold=True)
        put(ws, r, 4, comp[key])
        r += 1


def _warnings_sheet(wb: Workbook, data: ReportData, sub: str) -> None:
    names = {u.code: u.name for u in data.prog.units}
    ws = _sheet(wb, "Lưu ý", "SỐ LIỆU CẦN LƯU Ý (CẢNH BÁO)", sub,
                ["STT", "Cơ quan, đơn vị", "Quy tắc", "Trang tính", "Ô", "Giá trị", "Nội dung"],
                [6, 40, 22, 20, 8, 12, 70])
    for r, w in enumerate(data.warnings, 5):
        for c, v in enumerate([r - 4, names.get(w["unit_code"], w["unit_code"]), w["rule"],
                               w["sheet"], w["cell"], w["value"], w["message"]], 1):
            put(ws, r, c, v, wrap=c == 7)
