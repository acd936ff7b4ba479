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

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from baocao.periods import Period
from baocao.programme import MONEY_UNIT, TOTAL, Indicator, Programme, Unit
from baocao.sheet_print import (
    FONT,
    fit_row,
    hf_text,
    keep_together,
    new_workbook,
    print_setup,
)

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
COUNT_EXAMPLE, MONEY_EXAMPLE = "12", "1.234,5"


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
    label: str = ""  # what the cell holds, as the form words it (row, then column)
    unit: str = ""  # unit of measure: người, hội nghị, triệu đồng...

    @property
    def example(self) -> str:
        """A value that fits the cell, for messages: a count '12', money '1.234,5'."""
        return MONEY_EXAMPLE if self.kind == "money" else COUNT_EXAMPLE

    @property
    def inputs(self) -> str:
        """The input range a form-owned total adds up ('C7:C14'), '' for an input cell."""
        return self.formula.removeprefix("=SUM(").removesuffix(")") if self.formula else ""


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
    units: list[str] = field(default_factory=list)  # units of measure used on the sheet

    @property
    def last_row(self) -> int:
        rows = [r for r, *_ in self.labels] + [int(_ROW_NO.sub("", c.address))
                                               for c in self.cells]
        rows += [int(_ROW_NO.sub("", a)) for a in self.narratives.values()]
        return max(rows, default=HEADER_ROWS)


_ROW_NO = re.compile(r"^[A-Z]+")


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
            unit = prog.unit_of_measure(ind)
            lay.labels += [(r, 1, str(n), "text"), (r, 2, ind.name, "text"),
                           (r, FIRST_VALUE_COL + 1, unit, "unit")]
            lay.cells.append(CellSpec(sheet, _addr(r, FIRST_VALUE_COL), ind.code, "", "",
                                      ind.kind, label=ind.name, unit=unit))
            lay.units.append(unit)
            r += 1
        lay.width = max(lay.width, FIRST_VALUE_COL + 1)
        scalars.clear()
        return r + 1

    for ind in prog.sheet_indicators(sheet):
        if not ind.rows and not ind.cols:
            scalars.append(ind)
            continue
        r = flush_scalars(r)
        cols = prog.dimension(ind.cols).members if ind.cols else []
        col_codes = [m.code for m in cols] or [""]
        units = {c: prog.unit_of_measure(ind, c) for c in col_codes}
        lay.units += units.values()
        one_unit = len(set(units.values())) == 1
        lay.labels.append((r, 1, ind.name.upper() + (f" (đơn vị tính: {units[col_codes[0]]})"
                                                     if one_unit else ""), "block"))
        r += 1
        lay.labels += [(r, 1, "STT", "head"),
                       (r, 2, prog.dimension(ind.rows).name if ind.rows else "", "head")]
        if cols:
            for j, m in enumerate(cols):
                shown = m.name if one_unit or "(" in m.name else f"{m.name} ({units[m.code]})"
                lay.labels.append((r, FIRST_VALUE_COL + j, shown, "head"))
        else:
            lay.labels.append((r, FIRST_VALUE_COL, f"Số liệu ({units['']})", "head"))
        r += 1
        rows = prog.dimension(ind.rows).members if ind.rows else []
        first = r
        col_names = {m.code: m.name for m in cols}
        for n, m in enumerate(rows, 1):
            lay.labels += [(r, 1, str(n), "text"), (r, 2, m.name, "text")]
            for j, c in enumerate(col_codes):
                lay.cells.append(CellSpec(sheet, _addr(r, FIRST_VALUE_COL + j), ind.code,
                                          m.code, c, prog.value_kind(ind, c) if c else ind.kind,
                                          label=_label(ind, m.name, col_names.get(c)),
                                          unit=units[c]))
            r += 1
        if ind.total_row:
            lay.labels += [(r, 2, "Tổng cộng (tự tính)", "total")]
            for j, c in enumerate(col_codes):
                col = get_column_letter(FIRST_VALUE_COL + j)
                lay.cells.append(CellSpec(sheet, f"{col}{r}", ind.code, TOTAL, c,
                                          prog.value_kind(ind, c) if c else ind.kind,
                                          formula=f"=SUM({col}{first}:{col}{r - 1})",
                                          label=_label(ind, "Tổng cộng", col_names.get(c)),
                                          unit=units[c]))
            r += 1
        lay.width = max(lay.width, FIRST_VALUE_COL + len(col_codes) - 1)
        r += 1
    flush_scalars(r)
    return lay


def _label(ind: Indicator, row: str, col: str | None) -> str:
    """'Số lao động … theo thị trường: Nhật Bản, Lao động nữ'."""
    return f"{ind.name}: {row}" + (f", {col}" if col else "")


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
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(wrap_text=True, horizontal="center", vertical="center")
# column widths per sheet (A: STT, B: labels, C..: values); input cells never move
_WIDTHS = {"tasks": {1: 5, 2: 52, 3: 17, 4: 42}, "default": {1: 5, 2: 40}}
VALUE_WIDTH = 11
GUIDE_WIDTH = 100
SIGNOFF_FIELDS = ("preparer", "phone", "email")


def build_form(prog: Programme, unit: Unit, period: Period,
               generated_at: datetime | None = None) -> bytes:
    """A unit's blank workbook for a period: its sheets, guide, validation, protection, meta.

    Every sheet prints on A4 (``baocao.sheet_print``); the last one ends with the sign-off
    block (người lập biểu, số điện thoại, thủ trưởng đơn vị).
    """
    wb = new_workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET
    layouts = workbook_layouts(prog, unit)
    _write_guide(guide, prog, unit, period, layouts)
    for n, lay in enumerate(layouts, 1):
        _write_sheet(wb.create_sheet(lay.name), lay, prog, unit, period,
                     last=n == len(layouts))
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


def guide_lines(prog: Programme, unit: Unit, period: Period,
                layouts: list[SheetLayout]) -> list[tuple[str, str]]:
    """The guide's lines as (style, text): plain administrative Vietnamese, one instruction
    per line; style is title, bold, head, text or note."""
    from baocao import clerk_texts as clerk

    sheets = [lay.sheet for lay in layouts]
    last = layouts[-1].name if layouts else ""
    fill = [
        "Chỉ nhập vào các ô màu vàng. Không thêm, xóa hoặc đổi tên trang tính; không chèn "
        "thêm dòng, cột.",
        "Số người, số hội nghị, số vụ việc...: ghi số đếm, không có phần lẻ (ví dụ 12). Đơn "
        "vị tính của từng chỉ tiêu ghi ở cột \"Đơn vị tính\" hoặc ở đầu mỗi bảng.",
    ]
    if any(u == MONEY_UNIT for lay in layouts for u in lay.units):
        fill.append("Số tiền ghi theo đơn vị triệu đồng, nhiều nhất 3 chữ số sau dấu phẩy "
                    "(ví dụ 1.234,5 triệu đồng là 1 tỷ 234 triệu 500 nghìn đồng).")
    fill.append("Ô để trống được hiểu là 0. Dòng \"Tổng cộng (tự tính)\" do biểu mẫu tự "
                "cộng, không cần nhập.")
    if "tasks" in sheets:
        fill.append(f"Trang \"{SHEET_TITLES['tasks'][0]}\": chọn tình trạng của từng nhiệm "
                    "vụ trong danh sách; nhiệm vụ đã hoàn thành hoặc đang thực hiện thì ghi rõ "
                    "kết quả.")
    if last:
        fill.append(f"Cuối trang \"{last}\": ghi họ tên, số điện thoại của người lập biểu; "
                    "bản in có chữ ký của thủ trưởng đơn vị được lưu tại đơn vị.")
    send = ["Lưu tệp ở dạng Excel (.xlsx), không đặt mật khẩu, không chuyển sang PDF; tên tệp "
            "đặt tùy ý.", *clerk.upload_steps(prog, unit.code), clerk.receipt_where(prog, unit)]
    lines: list[tuple[str, str]] = [
        ("title", f"BIỂU MẪU BÁO CÁO {period.title.upper()}"),
        ("bold", f"Đơn vị báo cáo: {unit.name} (mã {unit.code})"),
        ("text", f"Kỳ báo cáo: {period.title}; {clerk.cutoff_text(period)}."),
        ("bold", f"Thời hạn gửi: {clerk.deadline_text(period)} (gửi trong ngày "
                 f"{clerk.vn_date(period.deadline)} là đúng hạn; gửi sau ngày này báo cáo vẫn được "
                 "tiếp nhận nhưng bị ghi là gửi muộn)."),
        ("head", "I. CÁCH ĐIỀN BIỂU MẪU"),
        *[("text", f"{n}. {t}") for n, t in enumerate(fill, 1)],
        ("head", "II. CÁCH GỬI BÁO CÁO"),
        *[("text", f"{n}. {t}") for n, t in enumerate(send, len(fill) + 1)],
    ]
    contact = clerk.lead_contact(prog, period.deadline)
    if contact:
        lines += [("head", "III. LIÊN HỆ KHI CẦN HỖ TRỢ"), ("text", contact + ".")]
    lines.append(("note", "Căn cứ: " + "; ".join(
        f"{x.number} ngày {clerk.vn_date(x.date)}" for x in prog.documents) + "."))
    return lines


def _write_guide(ws, prog: Programme, unit: Unit, period: Period,
                 layouts: list[SheetLayout]) -> None:
    fonts = {"title": Font(name=FONT, bold=True, size=14), "bold": Font(name=FONT, bold=True),
             "head": Font(name=FONT, bold=True), "text": Font(name=FONT),
             "note": Font(name=FONT, italic=True)}
    ws.column_dimensions["A"].width = GUIDE_WIDTH
    row = 1
    for style, text in guide_lines(prog, unit, period, layouts):
        if style == "head":
            row += 1  # a blank line before each part
        c = ws.cell(row, 1, text)
        c.font, c.alignment = fonts[style], _WRAP_TOP
        fit_row(ws, row)
        row += 1
    ws.protection.sheet = True
    print_setup(ws, header_left=hf_text(f"{unit.name} — {period.title}"))


def member_names_on(prog: Programme, day) -> dict[str, str]:
    """Dimension members' default labels -> the label in force on ``day``, where they differ
    (layouts are computed once per programme; the period's wording is applied on writing)."""
    return {m.name: m.name_on(day) for d in prog.dimensions for m in d.members
            if m.name_on(day) != m.name}


def _write_sheet(ws, lay: SheetLayout, prog: Programme, unit: Unit, period: Period,
                 last: bool = False) -> None:
    from baocao.clerk_texts import cutoff_text

    units = list(dict.fromkeys(lay.units))
    note = (f"Đơn vị tính: {units[0]}" if len(units) == 1 else
            "Đơn vị tính: ghi ở từng chỉ tiêu" + ("; số tiền tính bằng triệu đồng"
                                                  if MONEY_UNIT in units else "")) \
        if units else ""
    for row, text, font in ((1, SHEET_TITLES[lay.sheet][1], Font(name=FONT, bold=True, size=13)),
                            (2, f"Đơn vị báo cáo: {unit.name}", Font(name=FONT, bold=True)),
                            (3, f"Kỳ báo cáo: {period.title} (mã kỳ {period.code}); "
                                f"{cutoff_text(period)}", Font(name=FONT)),
                            (4, note, Font(name=FONT, italic=True))):
        if text:  # wrapped within the table's width (text running past it widens the print)
            c = ws.cell(row, 1, text)
            c.font, c.alignment = font, Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=lay.width)
    widths = _WIDTHS.get(lay.sheet, _WIDTHS["default"])
    for col in range(1, lay.width + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, VALUE_WIDTH)
    for row in range(1, 5):
        fit_row(ws, row)
    dated = member_names_on(prog, period.deadline)  # e.g. no "huyện" after 30/6/2025
    for row, col, text, style in lay.labels:
        c = ws.cell(row, col, dated.get(text, text))
        if style == "head":
            c.font, c.fill, c.border = Font(name=FONT, bold=True), _HEAD_FILL, _BOX
            c.alignment = _CENTER
        elif style == "block":
            c.font = Font(name=FONT, bold=True)
        elif style == "total":
            c.font, c.border = Font(name=FONT, bold=True), _BOX
            c.alignment = _WRAP_TOP
        elif style == "unit":
            c.font, c.border = Font(name=FONT), _BOX
            c.alignment = Alignment(horizontal="center", vertical="top", wrap_text=True)
        else:
            c.font, c.border, c.alignment = Font(name=FONT), _BOX, _WRAP_TOP
    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                            showErrorMessage=True, errorTitle="Số liệu không hợp lệ",
                            error="Nhập số đếm, không có phần lẻ (ví dụ 12); không có thì "
                                  "nhập 0.")
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                           showErrorMessage=True, errorTitle="Số liệu không hợp lệ",
                           error="Nhập số tiền bằng triệu đồng, nhiều nhất 3 chữ số sau dấu "
                                 "phẩy (ví dụ 1.234,5).")
    ws.add_data_validation(counts)
    ws.add_data_validation(money)
    for cell in lay.cells:
        c = ws[cell.address]
        c.border = _BOX
        if cell.formula:
            c.value = cell.formula
            c.font = Font(name=FONT, bold=True)
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
                ws[addr].alignment = _WRAP_TOP
            status.add(ws[t.status_cell])
    for addr in lay.narratives.values():
        ws.merge_cells(f"{addr}:{get_column_letter(lay.width)}{ws[addr].row}")
        ws[addr].fill = _INPUT_FILL
        ws[addr].protection = Protection(locked=False)
        ws[addr].alignment = _WRAP_TOP
    for row in range(HEADER_ROWS + 1, lay.last_row + 1):
        fit_row(ws, row)
    for addr in lay.narratives.values():
        ws.row_dimensions[ws[addr].row].height = 75
    if last:
        _write_signoff(ws, lay)
    ws.freeze_panes = ws.cell(HEADER_ROWS + 1, FIRST_VALUE_COL)
    ws.protection.sheet = True
    ws.protection.formatRows = False
    ws.protection.formatColumns = False
    plan = print_setup(ws, header_left=hf_text(f"{unit.name} — {period.title}"),
                       title_cols="A:B", last_col=lay.width)
    blocks = [(ws[a].row - 1, ws[a].row) for a in lay.narratives.values()]
    if last:
        top = lay.last_row + 2
        blocks.append((top, top + 7))
    keep_together(ws, plan, blocks)


def signoff_cells(lay: SheetLayout) -> dict[str, str]:
    """Where the sign-off block's inputs are on a form's last sheet (below every other row):
    the preparer's name, phone and e-mail."""
    top = lay.last_row + 2
    return {"preparer": f"B{top + 4}", "phone": f"C{top + 5}", "email": f"C{top + 6}"}


def _write_signoff(ws, lay: SheetLayout) -> None:
    """Người lập biểu (name, phone, e-mail to type) on the left, thủ trưởng đơn vị on the
    right, the place and date above; nothing above it moves."""
    top = lay.last_row + 2
    first = max(FIRST_VALUE_COL, lay.width - 1)
    right = f"{get_column_letter(first)}{{r}}:{get_column_letter(lay.width)}{{r}}"
    bold, italic = Font(name=FONT, bold=True), Font(name=FONT, italic=True)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    rows = [(top, None, "......., ngày ..... tháng ..... năm ......", italic),
            (top + 1, "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", bold),
            (top + 2, "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", italic)]
    for r, left, right_text, font in rows:
        if left:
            c = ws.cell(r, 2, left)
            c.font, c.alignment = font, center
        ws.merge_cells(right.format(r=r))
        c = ws.cell(r, first, right_text)
        c.font, c.alignment = font, center
    ws.row_dimensions[top + 3].height = 45  # room to sign
    cells = signoff_cells(lay)
    for key, label in (("preparer", None), ("phone", "Số điện thoại:"),
                       ("email", "Thư điện tử:")):
        addr = cells[key]
        c = ws[addr]
        c.fill, c.border, c.protection = _INPUT_FILL, _BOX, Protection(locked=False)
        c.font = Font(name=FONT)
        c.alignment = Alignment(horizontal="center" if key == "preparer" else "left",
                                vertical="center")
        c.number_format = "@"  # a phone number stays text: its leading 0 is kept
        if label:
            lab = ws.cell(c.row, 2, label)
            lab.font, lab.alignment = Font(name=FONT), Alignment(horizontal="right")
    ws.cell(top + 7, 2, "(Họ tên, số điện thoại để đơn vị tổng hợp liên hệ khi cần)"
            ).font = Font(name=FONT, italic=True, size=10)
