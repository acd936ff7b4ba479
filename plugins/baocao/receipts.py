"""Receipts to the sender: an HTML page in Vietnamese (opens in any browser or mail client).

A receipt says what to do: each problem names its sheet, cell and the row's label (an error on
a cell the form computes says which input cells to fix), when to resend and whom to call. The
technical details (checksum, folders, rule codes) come last, in a small block.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from baocao.bucket import key
from baocao.clerk_texts import lead_contact, vn_date
from baocao.layout import drop_location, receipts_location
from baocao.parsing import ParsedSubmission, Problem
from baocao.periods import Period, collecting_period
from baocao.programme import MONEY_UNIT, TOTAL, Programme, Unit
from baocao.statuses import Outcome
from baocao.templating import render
from baocao.timezone import VN_TZ, local_date
from baocao.vn_numbers import format_vn_money, format_vn_number

log = logging.getLogger(__name__)



@dataclass
class ReceiptData:
    status: str  # accepted | rejected | duplicate | returned
    unit_code: str
    unit_name: str
    file_name: str
    checksum: str
    received_at: datetime
    processed_at: datetime
    period_title: str = ""
    deadline: str = ""  # dd/mm/yyyy of the period's deadline ('' when the period is unknown)
    late: bool = False
    version: int | None = None
    problems: list[Problem] = field(default_factory=list)
    totals: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True)
class ProblemLine:
    """One problem as the clerk reads it: where, which row, the value, what to do."""

    severity: str
    sheet: str
    cell: str
    label: str
    value: str
    message: str
    rule: str


# ----- what each problem is about ------------------------------------------------------------
def _unit(prog: Programme, code: str, on: date) -> Unit | None:
    try:
        return prog.unit(code, on)
    except KeyError:
        found = prog.units_by_code(code)
        return max(found, key=lambda u: u.valid_from) if found else None


def _cell_index(prog: Programme, unit: Unit | None) -> dict[tuple[str, str], Any]:
    """(sheet name, address) -> CellSpec, or the task's label for task cells."""
    from baocao.forms import workbook_layouts

    if unit is None:
        return {}
    out: dict[tuple[str, str], Any] = {}
    for lay in workbook_layouts(prog, unit):
        for spec in lay.cells:
            out[(lay.name, spec.address)] = spec
        for n, t in enumerate(lay.tasks, 1):
            short = t.text if len(t.text) <= 70 else t.text[:70].rsplit(" ", 1)[0] + "…"
            for addr in (t.status_cell, t.description_cell):
                out[(lay.name, addr)] = f"Nhiệm vụ {n}: {short}"
    return out


def _span(inputs: str) -> str:
    return inputs.replace(":", "–")


def problem_lines(prog: Programme, unit_code: str, problems: list[Problem],
                  on: date) -> list[ProblemLine]:
    """Every problem with the label of its row; an error on a cell the form computes (a
    'Tổng cộng' row) says it goes away once the input cells it adds up are corrected."""
    index = _cell_index(prog, _unit(prog, unit_code, on))
    out = []
    for p in problems:
        spec = index.get((p.sheet, p.cell))
        label = p.label or (spec if isinstance(spec, str) else getattr(spec, "label", ""))
        message = p.message
        if getattr(spec, "formula", "") and p.severity == "error":
            message += (f". Ô {p.cell} là ô tự tính (tổng các ô {_span(spec.inputs)}), không "
                        f"nhập trực tiếp: lỗi này sẽ tự hết khi sửa số liệu nhập ở các ô "
                        f"{_span(spec.inputs)}")
        out.append(ProblemLine(p.severity, p.sheet, p.cell, label, p.value, message, p.rule))
    return out


# ----- the figures recorded ------------------------------------------------------------------
def _strip_unit(label: str, unit: str) -> str:
    return re.sub(rf"\s*\({re.escape(unit)}\)$", "", label) if unit else label


def main_figures(prog: Programme, parsed: ParsedSubmission) -> list[dict[str, Any]]:
    """The unit's figures worth reading back, in form order: each scalar, each row of a list,
    the 'Tổng cộng' row of a table (its other rows are in the file); zeros are left out.
    Each: sheet, label, value, unit and text ('1.234,5 triệu đồng', '12 người')."""
    from baocao.forms import sheet_layout

    got = {(v.indicator, v.row, v.col): v for v in parsed.values}
    out = []
    for ind in prog.indicators:
        if ind.sheet == "tasks" or not any(k[0] == ind.code for k in got):
            continue
        for spec in sheet_layout(prog, ind.sheet).cells:
            if spec.indicator != ind.code or (ind.total_row and spec.row != TOTAL):
                continue
            v = got.get((spec.indicator, spec.row, spec.col))
            if v is None or not v.value:
                continue
            unit = spec.unit or (MONEY_UNIT if spec.kind == "money" else "")
            number = format_vn_money(v.value) if spec.kind == "money" \
                else format_vn_number(v.value)
            out.append({"sheet": v.sheet, "indicator": ind.code, "cell": v.cell,
                        "label": _strip_unit(spec.label, unit), "value": v.value,
                        "unit": unit, "text": f"{number} {unit}".strip()})
    return out


def recorded_totals(prog: Programme, parsed: ParsedSubmission) -> list[tuple[str, str]]:
    """(label, value with its unit) of the unit's main figures, for the receipt; a table's or
    a list's lines come under a heading line (its name, value '')."""
    out: list[tuple[str, str]] = []
    headed: set[str] = set()
    for f in main_figures(prog, parsed):
        ind = prog.indicator(f["indicator"])
        if not (ind.rows or ind.cols):
            out.append((f["label"], f["text"]))
            continue
        if ind.code not in headed:
            headed.add(ind.code)
            out.append((ind.name + (" (tổng cộng)" if ind.total_row else ""), ""))
        short = f["label"].removeprefix(f"{ind.name}: ").removeprefix("Tổng cộng, ")
        out.append((f"– {short}", f["text"]))
    return out


# ----- the page --------------------------------------------------------------------------------
def _period(prog: Programme, data: ReceiptData) -> tuple[str, date] | None:
    """The period's title and deadline: the form's, else the one collected on arrival."""
    if data.deadline:
        try:
            return data.period_title, datetime.strptime(data.deadline, "%d/%m/%Y").date()
        except ValueError:
            pass
    try:
        per: Period = collecting_period(local_date(data.received_at), prog)
    except ValueError:
        return None
    return per.title, per.deadline


def resend_text(prog: Programme, data: ReceiptData) -> str:
    """What to do next and by when, from the period's deadline and the day it is processed."""
    found = _period(prog, data)
    if data.status == "duplicate":
        return "Không cần gửi lại tệp này."
    if found is None:
        return ""
    title, deadline = found
    today = local_date(data.processed_at)
    by = f"chậm nhất ngày {vn_date(deadline)}"
    if data.status == "accepted":
        return (f"Nếu cần điều chỉnh số liệu, gửi lại biểu mẫu đã sửa {by}; bản gửi sau thay "
                "thế bản này.") if today <= deadline else ""
    action = "chỉnh sửa theo lý do trên" if data.status == "returned" else "sửa các lỗi trên"
    if today <= deadline:
        return f"Đề nghị {action} và gửi lại {by} (hạn gửi báo cáo {title})."
    return (f"Hạn gửi báo cáo {title} (ngày {vn_date(deadline)}) đã qua: đề nghị {action} và "
            "gửi lại ngay; báo cáo gửi lại vẫn được tiếp nhận nhưng bị ghi là gửi muộn.")


def render_receipt(prog: Programme, data: ReceiptData) -> str:
    """The receipt page, NFC-normalised."""
    day = local_date(data.received_at)
    lead = prog.find_lead(day)
    lines = problem_lines(prog, data.unit_code, data.problems, day)
    technical = [("Mã kiểm tra tệp (SHA-256)", data.checksum),
                 ("Thư mục nộp báo cáo của đơn vị", drop_location(prog.code, data.unit_code)),
                 ("Thư mục phiếu tiếp nhận", receipts_location(prog.code, data.unit_code)),
                 ("Thời điểm xử lý", _vn_time(data.processed_at))]
    rules = sorted({p.rule for p in data.problems if p.rule not in ("", "STRUCTURE")})
    if rules:
        technical.append(("Mã quy tắc kiểm tra", ", ".join(rules)))
    return render(
        "receipt.html.j2",
        programme_title=prog.title, status=data.status, status_text=Outcome(data.status).heading,
        unit_code=data.unit_code, unit_name=data.unit_name, file_name=data.file_name,
        period_title=data.period_title, received_at=_vn_time(data.received_at),
        deadline=data.deadline, late=data.late, version=data.version, reason=data.reason,
        errors=[x for x in lines if x.severity == "error"],
        warnings=[x for x in lines if x.severity == "warning"],
        totals=data.totals, next_step=resend_text(prog, data),
        contact=lead_contact(prog, day),
        lead_name=lead.name if lead else "", technical=technical)


def write_receipt(root, rel: str, prog: Programme, data: ReceiptData) -> None:
    """Render the receipt of ``data`` to ``rel`` below the programme's ``root`` (through the
    store's file system: the intake writes thousands a run)."""
    target = key(root, rel)
    root.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
    root.fs.pipe_file(target, render_receipt(prog, data).encode("utf-8"))


def _vn_time(value: datetime) -> str:
    return value.astimezone(VN_TZ).strftime("%H giờ %M, ngày %d/%m/%Y")


# ----- e-mail ----------------------------------------------------------------------------------
def mail_receipts(engine, prog: Programme, root, outcomes: list[Any]) -> int:
    """E-mail each receipt of an intake run to its unit when the programme has the unit's
    addresses (``emails``); once per receipt (``mailer.send_once``). A failed mail is logged
    and does not undo anything: the receipt is in the bucket. The number of mails sent."""
    from baocao.mailer import send_once

    sent = 0
    for o in outcomes:
        if not getattr(o, "receipt", "") or o.status not in set(Outcome):
            continue
        found = prog.units_by_code(o.unit_code)
        emails = max(found, key=lambda u: u.valid_from).emails if found else []
        if not emails:
            continue
        name = o.path.rsplit("/", 1)[-1]
        subject = f"Phiếu tiếp nhận báo cáo: {Outcome(o.status).label} — {name}"
        try:
            html = (root / o.receipt).read_text(encoding="utf-8")
            sent += send_once(engine, prog.code, o.period or "-", "receipt", o.receipt,
                              list(emails), subject, html)
        except Exception:  # noqa: BLE001 - the receipt is in the bucket; report, don't undo
            log.exception("receipt %s: the mail to %s failed", o.receipt, emails)
    return sent

