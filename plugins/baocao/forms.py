"""Form layout and blank workbooks: where every input cell of a unit's workbook lives.

The layout is computed from the programme alone, so the template writer, the demo filler
and the parser agree on every cell address without trusting anything inside a received file.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from baocao.periods import Period
from baocao.programme import TOTAL, Indicator, Programme, Unit

SHEET_TITLES = {
    "workers": ("Biểu 1 - Lao động", "BIỂU 1. NGƯỜI LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI"),
    "funds": ("Biểu 2 - Nguồn vốn", "BIỂU 2. NGUỒN VỐN HỖ TRỢ VÀ TÍN DỤNG"),
    "communication": ("Biểu 3 - Tuyên truyền", "BIỂU 3. TUYÊN TRUYỀN, TƯ VẤN VÀ ĐÀO TẠO"),
    "enforcement": ("Biểu 4 - Thanh tra", "BIỂU 4. THANH TRA, KIỂM TRA VÀ BẢO HỘ CÔNG DÂN"),
    "tasks": ("Biểu 5 - Nhiệm vụ", "BIỂU 5. KẾT QUẢ THỰC HIỆN NHIỆM VỤ ĐƯỢC GIAO"),
}
META_SHEET = "_meta"
GUIDE_SHEET = "Hướng dẫn"
TASK_STATUSES = {"done": "Đã hoàn thành", "in_progress": "Đang thực hiện",
                 "not_started": "Chưa thực hiện"}
NARRATIVES = {"difficulties": "Khó khăn, vướng mắc",
              "recommendations": "Đề xuất, kiến nghị",
              "next_plan": "Phương hướng, nhiệm vụ kỳ tới"}
HEADER_ROWS = 5  # title, unit, period, unit of measure note, blank
FIRST_VALUE_COL = 3  # column C
KIND_UNIT = {"count": "người/lượt", "money": "triệu đồng"}


@dataclass(frozen=True)
class CellSpec:
    """One numeric input cell of a form."""

    sheet: str
    address: str
    indicator: str
    row: str  # row member ('' if none; TOTAL for the total row)
    col: str  # column member ('' if none)
    kind: str  # count | money
    formula: str = ""  # form-owned formula (total row)


@dataclass(frozen=True)
class TaskSpec:
    code: str
    text: str
    group: str | None
    status_cell: str
    description_cell: str


@dataclass
class SheetLayout:
    sheet: str
    name: str
    cells: list[CellSpec] = field(default_factory=list)
    labels: list[tuple[int, int, str, str]] = field(default_factory=list)  # row, col, text, style
    tasks: list[TaskSpec] = field(default_factory=list)
    narratives: dict[str, str] = field(default_factory=dict)  # key -> cell address
    width: int = 3


def _addr(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def sheet_layout(prog: Programme, sheet: str, unit: Unit | None = None) -> SheetLayout:
    """The layout of one sheet (shared, read-only); the tasks sheet depends on the unit's
    own tasks, the others only on the programme's indicators and dimensions."""
    if sheet == "tasks":
        return _sheet_layout(prog, sheet, unit)
    key = (id(prog.indicators), id(prog.dimensions), sheet)
    hit = _LAYOUTS.get(key)
    if hit is None or hit[0] is not prog.indicators or hit[1] is not prog.dimensions:
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        hit = _LAYOUTS[key] = (prog.indicators, prog.dimensions,
                               _sheet_layout(prog, sheet, unit))
    return hit[2]


# (indicators id, dimensions id, sheet) -> (indicators, dimensions, layout)
_LAYOUTS: dict[tuple[int, int, str], tuple[list, list, SheetLayout]] = {}


def _sheet_layout(prog: Programme, sheet: str, unit: Unit | None = None) -> SheetLayout:
    lay = SheetLayout(sheet=sheet, name=SHEET_TITLES[sheet][0])
    r = HEADER_ROWS + 1
    if sheet == "tasks":
        return _tasks_layout(prog, lay, unit, r)
    scalars: list[Indicator] = []

    def flush_scalars(r: int) -> int:
        if not scalars:
            return r
        lay.labels += [(r, 1, "STT", "head"), (r, 2, "Chỉ tiêu", "head"),
                       (r, FIRST_VALUE_COL, "Số liệu", "head"),
                       (r, FIRST_VALUE_COL + 1, "Đơn vị tính", "head")]
        r += 1
        for n, ind in enumerate(scalars, 1):
            lay.labels += [(r, 1, str(n), "text"), (r, 2, ind.name, "text"),
                           (r, FIRST_VALUE_COL + 1, KIND_UNIT[ind.kind], "text")]
            lay.cells.append(CellSpec(sheet, _addr(r, FIRST_VALUE_COL), ind.code, "", "",
                                      ind.kind))
            r += 1
        lay.width = max(lay.width, FIRST_VALUE_COL + 1)
        scalars.clear()
        return r + 1

    for ind in prog.sheet_indicators(sheet):
        if not ind.rows and not ind.cols:
            scalars.append(ind)
            continue
        r = flush_scalars(r)
        lay.labels.append((r, 1, ind.name.upper(), "block"))
        r += 1
        cols = prog.dimension(ind.cols).members if ind.cols else []
        lay.labels += [(r, 1, "STT", "head"),
                       (r, 2, prog.dimension(ind.rows).name if ind.rows else "", "head")]
        if cols:
            for j, m in enumerate(cols):
                lay.labels.append((r, FIRST_VALUE_COL + j, m.name, "head"))
        else:
            lay.labels.append((r, FIRST_VALUE_COL, f"Số liệu ({KIND_UNIT[ind.kind]})", "head"))
        r += 1
        rows = prog.dimension(ind.rows).members if ind.rows else []
        first = r
        col_codes = [m.code for m in cols] or [""]
        for n, m in enumerate(rows, 1):
            lay.labels += [(r, 1, str(n), "text"), (r, 2, m.name, "text")]
            for j, c in enumerate(col_codes):
                lay.cells.append(CellSpec(sheet, _addr(r, FIRST_VALUE_COL + j), ind.code,
                                          m.code, c, prog.value_kind(ind, c) if c else ind.kind))
            r += 1
        if ind.total_row:
            lay.labels += [(r, 2, "Tổng cộng", "total")]
            for j, c in enumerate(col_codes):
                col = get_column_letter(FIRST_VALUE_COL + j)
                lay.cells.append(CellSpec(sheet, f"{col}{r}", ind.code, TOTAL, c,
                                          prog.value_kind(ind, c) if c else ind.kind,
                                          formula=f"=SUM({col}{first}:{col}{r - 1})"))
            r += 1
        lay.width = max(lay.width, FIRST_VALUE_COL + len(col_codes) - 1)
        r += 1
    flush_scalars(r)
    return lay


def _tasks_layout(prog: Programme, lay: SheetLayout, unit: Unit | None, r: int) -> SheetLayout:
    lay.width = 4
    lay.labels += [(r, 1, "STT", "head"), (r, 2, "Nhiệm vụ được giao", "head"),
                   (r, 3, "Tình trạng", "head"), (r, 4, "Kết quả thực hiện", "head")]
    r += 1
    for n, t in enumerate(prog.unit_tasks(unit) if unit else [], 1):
        lay.labels += [(r, 1, str(n), "text"), (r, 2, t.text, "wrap")]
        lay.tasks.append(TaskSpec(t.code, t.text, t.group, _addr(r, 3), _addr(r, 4)))
        r += 1
    r += 1
    for key, label in NARRATIVES.items():
        lay.labels.append((r, 1, label.upper(), "block"))
        lay.narratives[key] = _addr(r + 1, 2)
        r += 3
    return lay


def workbook_layouts(prog: Programme, unit: Unit) -> list[SheetLayout]:
    return [sheet_layout(prog, s, unit) for s in prog.unit_sheets(unit)]


# ----- the blank workbook ---------------------------------------------------------------
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")


def build_form(prog: Programme, unit: Unit, period: Period,
               generated_at: datetime | None = None) -> bytes:
    """A unit's blank workbook for a period: its sheets, guide, validation, protection, meta."""
    wb = Workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET
    _write_guide(guide, prog, unit, period)
    for lay in workbook_layouts(prog, unit):
        _write_sheet(wb.create_sheet(lay.name), lay, prog, unit, period)
    meta = wb.create_sheet(META_SHEET)
    for i, (k, v) in enumerate([
        ("programme", prog.code), ("unit", unit.code),
        ("unit_valid_from", unit.valid_from.isoformat()), ("period", period.code),
        ("form_version", prog.form_version),
        ("generated_at", (generated_at or datetime(period.year, 1, 1)).isoformat()),
    ], 1):
        meta.cell(i, 1, k)
        meta.cell(i, 2, v)
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    wb.properties.title = f"Báo cáo {period.title} - {unit.name}"
    return save_stable(wb, generated_at or datetime(period.year, 1, 1))


_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def save_stable(wb, when: datetime) -> bytes:
    """Save a workbook byte-for-byte reproducibly: the same content gives the same checksum
    (openpyxl stamps the current time into the zip entries and docProps/core.xml)."""
    buf = BytesIO()
    wb.save(buf)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            info = zipfile.ZipInfo(item.filename, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            dst.writestr(info, data)
    return out.getvalue()


def _write_guide(ws, prog: Programme, unit: Unit, period: Period) -> None:
    d = period.deadline
    lines = [
        (f"BIỂU MẪU BÁO CÁO {period.title.upper()}", Font(bold=True, size=14)),
        (f"Đơn vị báo cáo: {unit.name} (mã {unit.code})", Font(bold=True)),
        (f"Số liệu tính từ ngày {period.cutoff_start:%d/%m/%Y} đến ngày "
         f"{period.cutoff_end:%d/%m/%Y}; hạn gửi trước ngày {d:%d/%m/%Y}.", None),
        ("", None),
        ("Hướng dẫn:", Font(bold=True)),
        ("1. Chỉ nhập số liệu vào các ô màu vàng; không thêm, xóa hoặc đổi tên trang tính.", None),
        ("2. Số người, số vụ việc là số nguyên không âm; số tiền tính bằng triệu đồng, "
         "tối đa 3 chữ số thập phân.", None),
        ("3. Ô để trống được hiểu là 0. Dòng \"Tổng cộng\" được tính tự động.", None),
        ("4. Trang \"Biểu 5 - Nhiệm vụ\": chọn tình trạng cho từng nhiệm vụ; nhiệm vụ đã "
         "hoàn thành hoặc đang thực hiện phải ghi kết quả.", None),
        (f"5. Gửi tệp vào thư mục inbox/{unit.code}/ của kho tiếp nhận. Hệ thống sẽ trả "
         f"phiếu tiếp nhận vào thư mục receipts/{unit.code}/.", None),
        (f"Căn cứ: {', '.join(f'{x.number} ngày {x.date:%d/%m/%Y}' for x in prog.documents)}.",
         Font(italic=True)),
    ]
    for i, (text, font) in enumerate(lines, 1):
        c = ws.cell(i, 1, text)
        if font:
            c.font = font
    ws.column_dimensions["A"].width = 120
    ws.protection.sheet = True


def _write_sheet(ws, lay: SheetLayout, prog: Programme, unit: Unit, period: Period) -> None:
    ws.cell(1, 1, SHEET_TITLES[lay.sheet][1]).font = Font(bold=True, size=13)
    ws.cell(2, 1, f"Đơn vị báo cáo: {unit.name}").font = Font(bold=True)
    ws.cell(3, 1, f"Kỳ báo cáo: {period.title} (mã kỳ {period.code}); số liệu từ "
                  f"{period.cutoff_start:%d/%m/%Y} đến {period.cutoff_end:%d/%m/%Y}")
    ws.cell(4, 1, "Đơn vị tính: người, lượt; tiền: triệu đồng").font = Font(italic=True)
    for row, col, text, style in lay.labels:
        c = ws.cell(row, col, text)
        if style == "head":
            c.font, c.fill, c.border = Font(bold=True), _HEAD_FILL, _BOX
            c.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        elif style == "block":
            c.font = Font(bold=True)
        elif style == "total":
            c.font, c.border = Font(bold=True), _BOX
        else:
            c.border = _BOX
            c.alignment = Alignment(wrap_text=True, vertical="top")
    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                            showErrorMessage=True, errorTitle="Số liệu không hợp lệ",
                            error="Nhập số nguyên không âm.")
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                           showErrorMessage=True, errorTitle="Số liệu không hợp lệ",
                           error="Nhập số tiền (triệu đồng) không âm, tối đa 3 chữ số thập phân.")
    ws.add_data_validation(counts)
    ws.add_data_validation(money)
    for cell in lay.cells:
        c = ws[cell.address]
        c.border = _BOX
        if cell.formula:
            c.value = cell.formula
            c.font = Font(bold=True)
        else:
            c.fill = _INPUT_FILL
            c.protection = Protection(locked=False)
            (money if cell.kind == "money" else counts).add(c)
        c.number_format = "#,##0.000" if cell.kind == "money" else "#,##0"
    if lay.tasks:
        status = DataValidation(type="list", formula1='"' + ",".join(TASK_STATUSES.values()) + '"',
                                showErrorMessage=True, errorTitle="Tình trạng không hợp lệ",
                                error="Chọn một tình trạng trong danh sách.")
        ws.add_data_validation(status)
        for t in lay.tasks:
            for addr in (t.status_cell, t.description_cell):
                ws[addr].fill, ws[addr].border = _INPUT_FILL, _BOX
                ws[addr].protection = Protection(locked=False)
                ws[addr].alignment = Alignment(wrap_text=True, vertical="top")
            status.add(ws[t.status_cell])
    for addr in lay.narratives.values():
        ws.merge_cells(f"{addr}:{get_column_letter(lay.width)}{ws[addr].row}")
        ws[addr].fill = _INPUT_FILL
        ws[addr].protection = Protection(locked=False)
        ws[addr].alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[ws[addr].row].height = 60
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 60 if lay.sheet == "tasks" else 45
    for col in range(FIRST_VALUE_COL, lay.width + 1):
        ws.column_dimensions[get_column_letter(col)].width = 50 if lay.sheet == "tasks" and \
            col == 4 else 16
    ws.freeze_panes = ws.cell(HEADER_ROWS + 1, FIRST_VALUE_COL)
    ws.protection.sheet = True
    ws.protection.formatRows = False
    ws.protection.formatColumns = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
