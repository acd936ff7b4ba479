"""Read a filled form into tidy values, each with its sheet and cell address.

Structure problems (not a workbook, wrong unit/period/version, missing sheets, text that is
not a number) are collected as ``Problem`` lines, never raised: a file gets all of them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from baocao.forms import META_SHEET, SHEET_TITLES, TASK_STATUSES, CellSpec, workbook_layouts
from baocao.periods import Period
from baocao.programme import TOTAL, Programme, Unit
from baocao.vn_numbers import NotANumber, parse_vn_number
from baocao.workbook import UnreadableWorkbook, Workbook

MAX_TEXT = 4000


@dataclass
class Problem:
    """One line of a receipt: where, what was found, what is expected."""

    message: str
    sheet: str = ""
    cell: str = ""
    value: str = ""
    rule: str = "STRUCTURE"
    severity: str = "error"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Value:
    sheet: str
    cell: str
    indicator: str
    row: str
    col: str
    kind: str
    value: float
    computed: bool = False  # a form-owned total computed by the pipeline


@dataclass
class TaskReport:
    code: str
    text: str
    group: str | None
    status: str  # done | in_progress | not_started | ''
    description: str
    status_cell: str
    description_cell: str


@dataclass
class ParsedSubmission:
    programme: str
    unit: str
    period: str
    form_version: str = ""
    unit_valid_from: date | None = None
    values: list[Value] = field(default_factory=list)
    tasks: list[TaskReport] = field(default_factory=list)
    narratives: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (text, cell)
    problems: list[Problem] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """The form was recognised (unit and period resolved): content rules can run."""
        return self.unit_valid_from is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def _sheet(code: str) -> str:
    return SHEET_TITLES[code][0]


def nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


def _show(raw: Any) -> str:
    text = nfc(raw) if raw is not None else "(trống)"
    return text[:80] + ("…" if len(text) > 80 else "")


def parse_submission(data: bytes, prog: Programme, unit_code: str) -> ParsedSubmission:
    """Parse a workbook dropped in ``inbox/<unit_code>/``; the period comes from the form.

    Every problem is collected in ``problems``; nothing is raised for bad input.
    """
    sub = ParsedSubmission(programme=prog.code, unit=unit_code, period="")
    try:
        wb = Workbook(data)
    except UnreadableWorkbook as exc:
        sub.problems.append(Problem(str(exc)))
        return sub
    resolved = _check_meta(wb, sub, prog, unit_code)
    if resolved is None:
        return sub
    unit, period = resolved
    for lay in workbook_layouts(prog, unit):
        if lay.name not in wb.sheet_names:
            sub.problems.append(Problem(f"Thiếu trang tính \"{lay.name}\" của biểu mẫu (trang "
                                        "tính bị xóa hoặc đổi tên)", sheet=lay.name))
            continue
        values, formulas = wb.values(lay.name), wb.formulas(lay.name)
        _read_cells(lay.cells, values, formulas, sub)
        _read_tasks(lay, values, sub)
    sub.unit_valid_from = unit.valid_from
    return sub


def read_meta(wb: Workbook) -> dict[str, str] | None:
    """The hidden metadata of a form issued by the system, or None."""
    if META_SHEET not in wb.sheet_names:
        return None
    cells = wb.values(META_SHEET)
    return {nfc(cells[f"A{r}"]): nfc(cells.get(f"B{r}", ""))
            for r in range(1, 50) if f"A{r}" in cells}


def _check_meta(wb: Workbook, sub: ParsedSubmission, prog: Programme,
                unit_code: str) -> tuple[Unit, Period] | None:
    meta = read_meta(wb)
    if meta is None:
        sub.problems.append(Problem("Tệp không phải biểu mẫu do hệ thống phát hành (thiếu "
                                    "thông tin mẫu). Hãy tải biểu mẫu của đơn vị và nhập lại"))
        return None
    sub.form_version = meta.get("form_version", "")
    sub.period = meta.get("period", "")
    problems = []
    if meta.get("programme") != prog.code:
        problems.append(Problem(f"Biểu mẫu thuộc chương trình khác "
                                f"({meta.get('programme', '?')}), không phải {prog.code}",
                                value=meta.get("programme", "")))
    if meta.get("unit") != unit_code:
        problems.append(Problem(f"Biểu mẫu của đơn vị {meta.get('unit', '?')} nhưng được gửi "
                                f"vào thư mục của đơn vị {unit_code}",
                                value=meta.get("unit", "")))
    if sub.form_version != prog.form_version:
        problems.append(Problem(f"Phiên bản biểu mẫu {sub.form_version or '?'} không còn dùng; "
                                f"hãy dùng biểu mẫu phiên bản {prog.form_version}",
                                value=sub.form_version))
    try:
        period = prog.period(sub.period)
    except ValueError:
        problems.append(Problem(f"Kỳ báo cáo \"{sub.period}\" không hợp lệ",
                                value=sub.period))
        period = None
    unit = None
    if period is not None and not problems:
        try:
            unit = prog.unit(unit_code, period.deadline)
        except KeyError:
            known = prog.units_by_code(unit_code)
            problems.append(Problem(
                f"Đơn vị {known[0].name if known else unit_code} không thuộc danh sách đơn vị "
                f"báo cáo kỳ {period.title} (đơn vị không hoạt động vào thời điểm đó hoặc "
                "mã đơn vị không đúng)", value=unit_code))
    sub.problems.extend(problems)
    if problems or unit is None or period is None:
        return None
    return unit, period


def _number(raw: Any) -> Decimal | None:
    """A cell's value as a number; None if blank; NotANumber if not a number."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise NotANumber(str(raw))
    if isinstance(raw, int | float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise NotANumber(str(raw))
        return Decimal(str(raw))
    text = nfc(raw)
    if not text:
        return None
    return parse_vn_number(text)


def _read_cells(cells: list[CellSpec], values: dict[str, Any], formulas: dict[str, str],
                sub: ParsedSubmission) -> None:
    owned: list[CellSpec] = []
    got: dict[tuple[str, str, str], float] = {}
    for spec in cells:
        sheet = _sheet(spec.sheet)
        formula = formulas.get(spec.address)
        if spec.formula and formula is not None:
            owned.append(spec)  # the form's own total formula: computed below
            continue
        raw = values.get(spec.address)
        if formula is not None and "[" in formula:
            sub.problems.append(Problem("Công thức liên kết tới bảng tính khác; hãy nhập số "
                                        "trực tiếp", sheet, spec.address, _show("=" + formula)))
            continue
        if formula is not None and raw is None:
            sub.problems.append(Problem("Ô chứa công thức chưa được tính giá trị; hãy nhập số "
                                        "trực tiếp", sheet, spec.address, _show("=" + formula)))
            continue
        try:
            num = _number(raw)
        except NotANumber:
            sub.problems.append(Problem("Không phải là số. Nhập số, ví dụ 1.234 hoặc 1.234,5",
                                        sheet, spec.address, _show(raw)))
            continue
        if num is None:
            num = Decimal(0)  # the form says: a blank input cell means 0
        if num < 0:
            sub.problems.append(Problem("Số liệu không được âm", sheet, spec.address,
                                        _show(raw)))
            continue
        if spec.kind == "count" and num != num.to_integral_value():
            sub.problems.append(Problem("Số người, số vụ việc phải là số nguyên", sheet,
                                        spec.address, _show(raw)))
            continue
        if spec.kind == "money" and num != num.quantize(Decimal("0.001")):
            sub.problems.append(Problem("Số tiền (triệu đồng) chỉ được có tối đa 3 chữ số thập "
                                        "phân", sheet, spec.address, _show(raw)))
            continue
        value = float(num)
        got[(spec.indicator, spec.row, spec.col)] = value
        sub.values.append(Value(sheet, spec.address, spec.indicator, spec.row, spec.col,
                                spec.kind, value))
    for spec in owned:
        parts = [v for (i, r, c), v in got.items()
                 if i == spec.indicator and c == spec.col and r != TOTAL]
        sub.values.append(Value(_sheet(spec.sheet), spec.address, spec.indicator, spec.row,
                                spec.col, spec.kind, round(sum(parts), 3), computed=True))


def _text(values: dict[str, Any], addr: str) -> str:
    raw = values.get(addr)
    return nfc(raw)[:MAX_TEXT] if raw is not None else ""


def _read_tasks(lay, values: dict[str, Any], sub: ParsedSubmission) -> None:
    by_label = {v: k for k, v in TASK_STATUSES.items()}
    for t in lay.tasks:
        label = _text(values, t.status_cell)
        status = by_label.get(label, "")
        if label and not status:
            sub.problems.append(Problem("Tình trạng không hợp lệ; chọn: "
                                        + ", ".join(TASK_STATUSES.values()),
                                        lay.name, t.status_cell, _show(label)))
            continue
        desc = _text(values, t.description_cell)
        if not status:
            sub.problems.append(Problem("Chưa chọn tình trạng thực hiện nhiệm vụ",
                                        lay.name, t.status_cell, "(trống)", rule="T-STATUS"))
        elif status in ("done", "in_progress") and not desc:
            sub.problems.append(Problem("Nhiệm vụ đã hoàn thành hoặc đang thực hiện phải ghi "
                                        "kết quả thực hiện", lay.name, t.description_cell,
                                        "(trống)", rule="T-DESCRIPTION"))
        sub.tasks.append(TaskReport(t.code, t.text, t.group, status, desc,
                                    t.status_cell, t.description_cell))
    for key, addr in lay.narratives.items():
        text = _text(values, addr)
        if text:
            sub.narratives[key] = (text, f"{lay.name}!{addr}")
