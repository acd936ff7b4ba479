"""Read a filled form into tidy values, each with its sheet and cell address.

Structure problems (not a workbook, wrong unit/period/version, missing sheets, text that is
not a number) are collected as ``Problem`` lines, never raised: a file gets all of them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from baocao.forms import (
    GUIDE_SHEET,
    META_SHEET,
    SHEET_TITLES,
    TASK_STATUSES,
    CellSpec,
    workbook_layouts,
)
from baocao.periods import Period, collecting_period
from baocao.programme import TOTAL, Programme, Unit
from baocao.text import clean
from baocao.timezone import local_date
from baocao.vn_numbers import NotANumber, format_vn_number, parse_vn_number
from baocao.workbook import UnreadableWorkbook, Workbook

log = logging.getLogger(__name__)
MAX_TEXT = 4000
DIRECT_NUMBER = "số nhập trực tiếp"
MAX_VALUE = Decimal(10) ** 12  # no count or sum in million VND comes near this


@dataclass
class Problem:
    """One line of a receipt: where, what was found, what is expected."""

    message: str
    sheet: str = ""
    cell: str = ""
    value: str = ""
    rule: str = "STRUCTURE"
    severity: str = "error"
    expected: str = ""  # what the cell should hold, when it can be said briefly
    label: str = ""  # what the cell holds, as the form words it ('Số người được tư vấn')

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

    def __reduce__(self):  # pickled as a tuple: the readers send thousands per chunk
        return (Value, (self.sheet, self.cell, self.indicator, self.row, self.col, self.kind,
                        self.value, self.computed))


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
    form_unit: str = ""  # the unit code the form was issued for (its metadata)
    unit_valid_from: date | None = None
    values: list[Value] = field(default_factory=list)
    tasks: list[TaskReport] = field(default_factory=list)
    narratives: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (text, cell)
    problems: list[Problem] = field(default_factory=list)
    # what the reader process derived from the values for the intake (validation frame
    # lines, the receipt's figures), so that the main process does less; see isolation
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        """The form was recognised (unit and period resolved): content rules can run."""
        return self.unit_valid_from is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def _sheet(code: str) -> str:
    return SHEET_TITLES[code][0]


def _show(raw: Any) -> str:
    """A cell's content as a Vietnamese reader sees it: 3.0 as 3, 1234.5 as 1.234,5."""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e16:
        raw = int(raw)  # 3.0 as Excel shows it: 3
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = format_vn_number(raw)
    elif isinstance(raw, float) and raw == raw and abs(raw) != float("inf"):
        exact = Decimal(repr(raw))
        raw = format_vn_number(exact, max(0, -int(exact.as_tuple().exponent)))
    text = clean(raw) if raw is not None else "(trống)"
    return text[:80] + ("…" if len(text) > 80 else "")


def parse_submission(data: bytes, prog: Programme, unit_code: str,
                     size: int | None = None) -> ParsedSubmission:
    """Parse a workbook dropped in ``inbox/<unit_code>/``; the period comes from the form.
    ``size`` is the file's real size when ``data`` is only its head (oversized files).

    Every problem is collected in ``problems``; nothing is raised for bad input.
    """
    sub = ParsedSubmission(programme=prog.code, unit=unit_code, period="")
    if not prog.units_by_code(unit_code):
        sub.problems.append(Problem(
            f"Thư mục inbox/{unit_code}/ không ứng với mã đơn vị nào của chương trình; hãy gửi "
            "tệp vào thư mục inbox/<mã đơn vị>/ ghi trên biểu mẫu (mục Hướng dẫn)",
            value=unit_code))
    try:
        _parse(data, prog, unit_code, sub, size)
    except UnreadableWorkbook as exc:
        sub.problems.append(Problem(str(exc), exc.sheet, exc.cell))
        sub.unit_valid_from = None  # content rules must not run on a half-read file
    except MemoryError:  # the isolated reader answers it (its worker is replaced)
        raise
    except Exception:  # noqa: BLE001 - a file must never stop the intake (poison pill)
        log.exception("unit %s: unexpected failure while reading a file", unit_code)
        sub.problems.append(Problem("Hệ thống không đọc được nội dung tệp (lỗi xử lý nội bộ, "
                                    "bộ phận kỹ thuật đã được báo). Hãy lưu lại biểu mẫu bằng "
                                    "Excel rồi gửi lại", rule="INTERNAL"))
        sub.unit_valid_from = None
    return sub


def _parse(data: bytes, prog: Programme, unit_code: str, sub: ParsedSubmission,
           size: int | None = None) -> None:
    wb = Workbook(data, size)
    resolved = _check_meta(wb, sub, prog, unit_code)
    if resolved is None:
        return
    unit, period = resolved
    linked = len(sub.problems)
    for lay in workbook_layouts(prog, unit):
        if lay.name not in wb.sheet_names:
            sub.problems.append(Problem(f"Thiếu trang tính \"{lay.name}\" của biểu mẫu (trang "
                                        "tính bị xóa hoặc đổi tên)", sheet=lay.name,
                                        expected=f"trang tính \"{lay.name}\""))
            continue
        values, formulas = wb.values(lay.name), wb.formulas(lay.name)
        _read_cells(lay.cells, values, formulas, wb.errors(lay.name), sub)
        _read_tasks(lay, values, sub)
    if wb.external_links and not any("liên kết" in p.message for p in sub.problems[linked:]):
        sub.problems.append(Problem("Tệp có liên kết tới bảng tính khác (không ảnh hưởng số "
                                    "liệu đã nhập); nên xóa liên kết trước khi gửi",
                                    severity="warning"))
    sub.unit_valid_from = unit.valid_from


def period_timing_problems(prog: Programme, sub: ParsedSubmission,
                           received_at: datetime) -> list[Problem]:
    """A form for a period that has not started yet is an error; a form for an older period
    than the one being reported now is accepted (late correction) with a warning."""
    if not sub.period or not sub.readable:  # unit/period problems are reported already
        return []
    try:
        period = prog.period(sub.period)
    except ValueError:
        return []
    day = local_date(received_at)
    if day < period.cutoff_start:
        return [Problem(f"Biểu mẫu của kỳ {period.title} nhưng kỳ này chưa bắt đầu (số liệu "
                        f"tính từ ngày {period.cutoff_start:%d/%m/%Y}); hãy dùng biểu mẫu của "
                        "kỳ đang báo cáo", GUIDE_SHEET, value=period.code)]
    try:
        current = collecting_period(day, prog)
    except ValueError:
        return []
    if period.deadline < current.deadline:
        return [Problem(f"Biểu mẫu của kỳ {period.title}, không phải kỳ đang báo cáo "
                        f"({current.title}); số liệu được ghi nhận cho kỳ {period.title}. "
                        "Nếu đây là báo cáo kỳ mới, hãy dùng biểu mẫu mới",
                        GUIDE_SHEET, value=period.code, rule="PERIOD",
                        severity="warning")]
    return []




def read_meta(wb: Workbook) -> dict[str, str] | None:
    """The hidden metadata of a form issued by the system, or None."""
    if META_SHEET not in wb.sheet_names:
        return None
    cells = wb.values(META_SHEET)
    return {clean(cells[f"A{r}"]): clean(cells.get(f"B{r}", ""))
            for r in range(1, 50) if f"A{r}" in cells}


def _check_meta(wb: Workbook, sub: ParsedSubmission, prog: Programme,
                unit_code: str) -> tuple[Unit, Period] | None:
    meta = read_meta(wb)
    if meta is None:
        sub.problems.append(Problem("Tệp không phải biểu mẫu do hệ thống phát hành (thiếu "
                                    "thông tin mẫu). Hãy tải biểu mẫu của đơn vị và nhập lại"))
        return None
    sub.form_version = meta.get("form_version", "")
    sub.form_unit = meta.get("unit", "")
    sub.period = meta.get("period", "")
    problems = []
    if meta.get("programme") != prog.code:
        problems.append(Problem(f"Biểu mẫu thuộc chương trình khác "
                                f"({meta.get('programme', '?')}), không phải {prog.code}",
                                value=meta.get("programme", ""), expected=prog.code))
    if meta.get("unit") != unit_code:
        problems.append(Problem(f"Biểu mẫu của đơn vị {meta.get('unit', '?')} nhưng được gửi "
                                f"vào thư mục của đơn vị {unit_code}",
                                value=meta.get("unit", ""), expected=unit_code))
    if sub.form_version != prog.form_version:
        problems.append(Problem(f"Phiên bản biểu mẫu {sub.form_version or '?'} không còn dùng; "
                                f"hãy dùng biểu mẫu phiên bản {prog.form_version}",
                                value=sub.form_version, expected=prog.form_version))
    try:
        period = prog.period(sub.period)
    except ValueError:
        problems.append(Problem(f"Kỳ báo cáo \"{sub.period}\" không hợp lệ",
                                value=sub.period, expected="mã kỳ dạng 2026-H1 hoặc 2026-Y"))
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
    text = clean(raw)
    if not text:
        return None
    return parse_vn_number(text)


def _what(spec: CellSpec) -> str:
    """'số người', 'số hội nghị', 'số tiền (triệu đồng)': what a cell asks for."""
    if spec.kind == "money":
        return "số tiền (triệu đồng)"
    return f"số {spec.unit}" if spec.unit else "số"


def _read_cells(cells: list[CellSpec], values: dict[str, Any], formulas: dict[str, str],
                errors: dict[str, str], sub: ParsedSubmission) -> None:
    owned: list[CellSpec] = []
    got: dict[tuple[str, str, str], float] = {}

    def problem(spec: CellSpec, message: str, raw: Any, **kw: str) -> None:
        sub.problems.append(Problem(message, _sheet(spec.sheet), spec.address, _show(raw),
                                    label=spec.label, **kw))

    for spec in cells:
        formula = formulas.get(spec.address)
        if spec.formula and formula is not None:
            owned.append(spec)  # the form's own total formula: computed below
            if formula and formula.replace("$", "") != spec.formula.lstrip("="):
                problem(spec, f"Công thức của ô tự tính đã bị sửa; hệ thống vẫn tính lại ô này "
                        f"theo công thức của biểu mẫu ({spec.formula}), tức là từ các ô "
                        f"{spec.inputs.replace(':', '–')}", "=" + formula, severity="warning")
            continue
        raw = values.get(spec.address)
        example = f"{_what(spec)}, ví dụ {spec.example}"
        if formula is not None and "[" in formula:
            problem(spec, "Công thức liên kết tới bảng tính khác; hãy nhập số trực tiếp, ví dụ "
                    f"{spec.example}", "=" + formula, expected=DIRECT_NUMBER)
            continue
        if spec.address in errors:
            shown = "=" + formula if formula else errors[spec.address]
            problem(spec, f"Ô có lỗi {errors[spec.address]} (công thức tính không ra số); hãy "
                    f"nhập số trực tiếp, ví dụ {spec.example}", shown, expected=DIRECT_NUMBER)
            continue
        if formula is not None and raw is None:
            problem(spec, "Ô chứa công thức chưa được tính giá trị; hãy nhập số trực tiếp, ví "
                    f"dụ {spec.example}", "=" + formula, expected=DIRECT_NUMBER)
            continue
        if formula is not None and isinstance(raw, int | float) and not isinstance(raw, bool):
            problem(spec, f"Ô nhập liệu chứa công thức; hệ thống ghi nhận giá trị Excel đã tính "
                    f"({_show(raw)}). Nên nhập số trực tiếp", "=" + formula, severity="warning")
        try:
            num = _number(raw)
        except NotANumber:
            problem(spec, f"Không phải là số. Nhập {example}", raw, expected=example)
            continue
        if num is None:
            num = Decimal(0)  # the form says: a blank input cell means 0
        if num < 0:
            problem(spec, "Số liệu không được âm; không có thì nhập 0", raw,
                    expected="số không âm (0 trở lên)")
            continue
        if num >= MAX_VALUE:
            problem(spec, "Số liệu lớn bất thường (từ 1.000.000.000.000 trở lên); kiểm tra lại "
                    f"đơn vị tính ({spec.unit or _what(spec)})", raw,
                    expected="số nhỏ hơn 1.000.000.000.000")
            continue
        if spec.kind == "count" and num != num.to_integral_value():
            problem(spec, f"{_what(spec).capitalize()} phải là số đếm, không có phần lẻ (số "
                    f"nguyên), ví dụ {spec.example}", raw, expected=f"số nguyên, ví dụ "
                    f"{spec.example}")
            continue
        if spec.kind == "money" and num != num.quantize(Decimal("0.001")):
            problem(spec, "Số tiền (triệu đồng) chỉ được có tối đa 3 chữ số thập phân (sau dấu "
                    f"phẩy), ví dụ {spec.example}", raw,
                    expected=f"tối đa 3 chữ số thập phân, ví dụ {spec.example}")
            continue
        value = float(num)
        got[(spec.indicator, spec.row, spec.col)] = value
        sub.values.append(Value(_sheet(spec.sheet), spec.address, spec.indicator, spec.row,
                                spec.col, spec.kind, value))
    for spec in owned:
        parts = [v for (i, r, c), v in got.items()
                 if i == spec.indicator and c == spec.col and r != TOTAL]
        sub.values.append(Value(_sheet(spec.sheet), spec.address, spec.indicator, spec.row,
                                spec.col, spec.kind, round(sum(parts), 3), computed=True))


def _text(values: dict[str, Any], addr: str) -> str:
    raw = values.get(addr)
    return clean(raw)[:MAX_TEXT] if raw is not None else ""


def _read_tasks(lay, values: dict[str, Any], sub: ParsedSubmission) -> None:
    by_label = {v: k for k, v in TASK_STATUSES.items()}
    for t in lay.tasks:
        label = _text(values, t.status_cell)
        status = by_label.get(label, "")
        if label and not status:
            sub.problems.append(Problem("Tình trạng không hợp lệ; chọn: "
                                        + ", ".join(TASK_STATUSES.values()),
                                        lay.name, t.status_cell, _show(label),
                                        expected=" / ".join(TASK_STATUSES.values())))
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
