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
from baocao.reports.context import (
    ReportData,
    area_rows,
    cumulative_label,
    empty_text,
    fund_rows,
    funds_source_note,
    growth_text,
    report_series_notes,
    target_table,
)
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
           widths: list[int], notice: str = ""):
    ws = wb.create_sheet(name)
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.cell(2, 1, subtitle).font = Font(italic=True)
    if notice:  # a period without reports says so on every sheet
        ws.cell(3, 1, notice).font = Font(bold=True, color="C00000")
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


def render_xlsx(data: ReportData, draft: bool = False) -> bytes:
    """The annexes as .xlsx bytes; a draft says so on every sheet and every printed page."""
    prog, period = data.prog, data.period
    wb = Workbook()
    wb.remove(wb.active)
    sub = f"{prog.province} — {period.title} (số liệu {period.cutoff_start:%d/%m/%Y} – " \
          f"{period.cutoff_end:%d/%m/%Y})"
    notice = empty_text(data)
    if notice:
        _status_sheet(wb, data, sub, notice)
    _targets_sheet(wb, data, sub, notice)
    _funds_sheet(wb, data, sub, notice)
    _comparison_sheet(wb, data, sub, notice)
    for sheet in ("workers", "funds", "communication", "enforcement"):
        _by_unit_sheet(wb, data, sheet, sub, notice)
    if not notice:
        _status_sheet(wb, data, sub)
    _warnings_sheet(wb, data, sub, notice)
    _unit_detail_sheet(wb, data, sub, notice)
    if draft:
        for ws in wb.worksheets:
            ws.cell(2, 1).value = f"BẢN DỰ THẢO — {ws.cell(2, 1).value}"
            ws.cell(2, 1).font = Font(italic=True, bold=True, color="C00000")
            ws.oddHeader.center.text = "BẢN DỰ THẢO"
            ws.oddHeader.center.color = "C00000"
    wb.properties.title = ("Dự thảo phụ lục" if draft else "Phụ lục") + \
        f" báo cáo {period.title}"
    wb.properties.creator = "baocao"
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _note_rows(ws, lines: list[str]) -> None:
    """Italic notes under a table, one per row."""
    r = ws.max_row + 2
    for line in lines:
        if line:
            ws.cell(r, 1, line).font = Font(italic=True)
            r += 1


def _targets_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Biểu 01: period, year and cumulative targets against achieved; growth on a year ago."""
    prog, period = data.prog, data.period
    half = period.kind == "H"
    ws = _sheet(wb, "Biểu 01", "BIỂU SỐ 01. KẾT QUẢ THỰC HIỆN MỤC TIÊU", sub,
                ["Chỉ tiêu", "Mục tiêu kỳ báo cáo" + (" (1/2 mục tiêu năm, tham khảo)"
                                                       if half else ""),
                 "Thực hiện", "Tỷ lệ", "Đánh giá", "Mục tiêu năm", "Tỷ lệ so với mục tiêu năm",
                 cumulative_label(data), "Mục tiêu lũy kế", "Tỷ lệ lũy kế",
                 "Cùng kỳ năm trước", "Tăng/giảm"],
                [50, 16, 14, 10, 12, 14, 12, 16, 16, 10, 16, 12], notice)
    for r, t in enumerate(target_table(data), 5):
        cells = [t["name"], t["target_value"] if t["has_target"] else t["target"],
                 t["achieved_value"], t["pct"], t["met"],
                 t["yearly_value"] if t["yearly_value"] is not None else t["yearly"],
                 t["pct_year"], t["cumulative_value"],
                 t["cumulative_target_value"] if t["cumulative_target_value"] is not None
                 else t["cumulative_target"], t["cumulative_pct"],
                 t["previous_value"] if t["previous_value"] is not None else t["previous"],
                 t["growth"]]
        for c, v in enumerate(cells, 1):
            put(ws, r, c, v, fmt=COUNT_FMT if isinstance(v, float | int) else None,
                wrap=c == 1)
    _note_rows(ws, [growth_text(data),
                    "Mục tiêu 6 tháng (và phần của năm nay trong mục tiêu lũy kế) bằng 1/2 "
                    "mục tiêu năm, chỉ để tham khảo." if half and prog.targets else "",
                    *report_series_notes(data)])


def _funds_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Biểu 02: funds against the programme's plan ('chưa có kế hoạch' without one)."""
    ws = _sheet(wb, "Biểu 02", "BIỂU SỐ 02. NGUỒN VỐN SO VỚI KẾ HOẠCH (triệu đồng)", sub,
                ["Nguồn vốn", "Kế hoạch giai đoạn", "Giải ngân trong kỳ", "Lũy kế giải ngân",
                 "Tỷ lệ so với kế hoạch", "Số người được vay/hỗ trợ", "Dư nợ", "Nợ quá hạn"],
                [45, 16, 16, 16, 12, 14, 16, 14], notice)
    for r, row in enumerate(fund_rows(data), 5):
        vals = row["values"]
        cells = [row["name"], row["budget_value"] if row["budget_value"] is not None
                 else row["budget"], vals["disbursed"], vals["cumulative"], row["pct"],
                 vals["beneficiaries"], vals["outstanding"], vals["overdue"]]
        for c, v in enumerate(cells, 1):
            put(ws, r, c, "-" if v is None else v, bold=row["code"] == TOTAL,
                fmt=(COUNT_FMT if c == 6 else MONEY_FMT) if isinstance(v, float | int) else None)
    _note_rows(ws, [funds_source_note(data)])


def _comparison_sheet(wb: Workbook, data: ReportData, sub: str, notice: str) -> None:
    """Departures by current unit (or group of successors) against a year earlier."""
    ws = _sheet(wb, "So sánh cùng kỳ", "SỐ LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI SO VỚI CÙNG KỲ "
                "NĂM TRƯỚC THEO ĐỊA BÀN", sub,
                ["Đơn vị, địa bàn (hiện nay)", "Cùng kỳ năm trước", "Kỳ này", "Tăng/giảm",
                 "Số liệu cũ cộng dồn từ"], [55, 16, 14, 12, 60], notice)
    rows = area_rows(data)
    for r, a in enumerate(rows, 5):
        for c, v in enumerate([a["name"], a["previous_value"], a["current_value"],
                               a["growth"], a["former"]], 1):
            put(ws, r, c, v, fmt=COUNT_FMT if isinstance(v, float | int) else None,
                wrap=c in (1, 5))
    if rows:
        r = 5 + len(rows)
        put(ws, r, 1, "Tổng cộng", bold=True)
        for c, key in ((2, "previous_value"), (3, "current_value")):
            put(ws, r, c, round(sum(a[key] for a in rows), 3), bold=True, fmt=COUNT_FMT)
    _note_rows(ws, report_series_notes(data) if rows
               else ["Chưa có số liệu cùng kỳ năm trước để so sánh."])


def _by_unit_sheet(wb: Workbook, data: ReportData, sheet: str, sub: str,
                   notice: str = "") -> None:
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
                ["Cơ quan, đơn vị", *[c[3] for c in columns]], [40] + [14] * len(columns),
                notice)
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


def _status_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    ws = _sheet(wb, "Tình hình gửi báo cáo", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC ĐƠN VỊ",
                sub + f" — hạn gửi {data.period.deadline:%d/%m/%Y}",
                ["STT", "Cơ quan, đơn vị", "Mã", "Tình trạng", "Thời điểm nhận", "Lần gửi",
                 "Số tệp đã gửi"], [6, 45, 14, 24, 20, 10, 12], notice)
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


def _warnings_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    names = {u.code: u.name for u in data.prog.units}
    ws = _sheet(wb, "Lưu ý", "SỐ LIỆU CẦN LƯU Ý (CẢNH BÁO)", sub,
                ["STT", "Cơ quan, đơn vị", "Quy tắc", "Trang tính", "Ô", "Giá trị", "Nội dung"],
                [6, 40, 22, 20, 8, 12, 70], notice)
    for r, w in enumerate(data.warnings, 5):
        for c, v in enumerate([r - 4, names.get(w["unit_code"], w["unit_code"]), w["rule"],
                               w["sheet"], w["cell"], w["value"], w["message"]], 1):
            put(ws, r, c, v, wrap=c == 7)


def _unit_detail_sheet(wb: Workbook, data: ReportData, sub: str, notice: str = "") -> None:
    """Each unit's task results and texts as it wrote them (the report body only sums them
    up): one row per task, then its difficulties, recommendations and plans."""
    from baocao.reports.annexes import NARRATIVE_KEYS, text_rows, unit_detail_rows

    labels = {"difficulties": "Khó khăn, vướng mắc", "recommendations": "Đề xuất, kiến nghị",
              "next_plan": "Phương hướng kỳ tới"}
    ws = _sheet(wb, "Nhiệm vụ theo đơn vị", "KẾT QUẢ THỰC HIỆN NHIỆM VỤ VÀ Ý KIẾN CỦA TỪNG "
                "CƠ QUAN, ĐƠN VỊ", sub,
                ["STT", "Cơ quan, đơn vị", "Mã", "Nhóm", "Nhiệm vụ / nội dung", "Tình trạng",
                 "Kết quả, ý kiến", "Ô"], [6, 34, 12, 8, 60, 16, 70, 12], notice)
    ws.page_setup.fitToHeight = 0  # as many pages tall as it takes, one page wide
    texts = {r["unit"]: r for r in text_rows(data)}
    rows: list[list[Any]] = []
    seen: list[str] = []
    for r in unit_detail_rows(data):
        if r["unit"] not in seen:
            seen.append(r["unit"])
        rows.append([len(seen), r["unit"], r["unit_code"], r["group"], r["task_full"],
                     r["status"], r["result"], r["cell"]])
    by_unit: dict[str, list[list[Any]]] = defaultdict(list)
    for row in rows:
        by_unit[row[1]].append(row)
    for name, t in texts.items():
        if name not in seen:
            seen.append(name)
        for key in NARRATIVE_KEYS:
            if t[key] != "-":
                by_unit[name].append([seen.index(name) + 1, name, "", "", labels[key], "",
                                      t[key], ""])
    r = 5
    wrapped = {2: 34, 5: 60, 7: 70}  # column -> width in characters
    for name in seen:
        for row in by_unit[name]:
            for c, v in enumerate(row, 1):
                put(ws, r, c, v, wrap=c in wrapped)
            lines = max(-(-len(str(row[c - 1] or "")) // int(w * 1.1)) for c, w in wrapped.items())
            ws.row_dimensions[r].height = 15 * max(lines, 1)  # openpyxl does not fit rows
            r += 1

