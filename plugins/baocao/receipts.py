"""Receipts to the sender: an HTML page in Vietnamese (opens in any browser or mail client)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from baocao.parsing import ParsedSubmission, Problem
from baocao.programme import TOTAL, Programme
from baocao.timezone import VN_TZ
from baocao.vn_numbers import format_vn_number

STATUS_TEXT = {
    "accepted": "ĐÃ TIẾP NHẬN — báo cáo hợp lệ và đã được ghi nhận",
    "rejected": "BỊ TỪ CHỐI — báo cáo chưa được ghi nhận, đề nghị sửa lỗi và gửi lại",
    "duplicate": "ĐÃ NHẬN TRƯỚC ĐÓ — tệp này trùng với tệp đơn vị đã gửi, không ghi nhận lại",
    "returned": "BỊ TRẢ LẠI ĐỂ CHỈNH SỬA — báo cáo không còn được tính cho đến khi gửi lại",
}


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
    deadline: str = ""
    late: bool = False
    version: int | None = None
    problems: list[Problem] = field(default_factory=list)
    totals: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""


@lru_cache(maxsize=4)
def _env(templates_dir: str | None = None) -> Environment:
    """One Jinja environment per templates folder (templates compile once per process)."""
    from baocao.config import settings

    templates_dir = templates_dir or str(settings().templates_dir)
    return Environment(loader=FileSystemLoader(templates_dir),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined)


def recorded_totals(prog: Programme, parsed: ParsedSubmission) -> list[tuple[str, str]]:
    """One line per indicator: its total as recorded (the total row where the form has one)."""
    out = []
    by_ind: dict[str, list] = {}
    for v in parsed.values:
        by_ind.setdefault(v.indicator, []).append(v)
    for ind in prog.indicators:
        vals = by_ind.get(ind.code, [])
        if not vals:
            continue
        if ind.total_row:
            vals = [v for v in vals if v.row == TOTAL]
        if ind.cols:
            first_col = prog.dimension(ind.cols).members[0]
            vals = [v for v in vals if v.col == first_col.code]
            label = f"{ind.name} — {first_col.name.lower()}"
        else:
            label = ind.name
        kind = prog.value_kind(ind, vals[0].col) if vals[0].col else ind.kind
        out.append((label, format_vn_number(sum(v.value for v in vals),
                                            3 if kind == "money" else 0)))
    return out


def render_receipt(prog: Programme, data: ReceiptData) -> str:
    """The receipt page, NFC-normalised."""
    lead = prog.find_lead(data.received_at.astimezone(VN_TZ).date())
    html = _env().get_template("receipt.html.j2").render(
        programme_title=prog.title, status=data.status, status_text=STATUS_TEXT[data.status],
        unit_code=data.unit_code, unit_name=data.unit_name, file_name=data.file_name,
        checksum=data.checksum, period_title=data.period_title,
        received_at=_vn_time(data.received_at), processed_at=_vn_time(data.processed_at),
        deadline=data.deadline, late=data.late, version=data.version, reason=data.reason,
        errors=[p for p in data.problems if p.severity == "error"],
        warnings=[p for p in data.problems if p.severity == "warning"],
        totals=data.totals, lead_name=lead.name if lead else "đơn vị tổng hợp")
    return unicodedata.normalize("NFC", html)


def _vn_time(value: datetime) -> str:
    return value.astimezone(VN_TZ).strftime("%H giờ %M, ngày %d/%m/%Y")
