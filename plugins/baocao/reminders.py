"""Reminders before each deadline (7 and 2 days before) and the day after it.

At each step every expected unit without an accepted submission for the period (missing,
rejected or returned) gets a mail in Vietnamese with its blank form attached and where to drop
it. The day after the deadline the lead department gets the list of missing and late units.
Units without an e-mail address are listed in the lead department's mail of that step instead.
Each (period, step, unit) is mailed at most once: a re-run sends nothing new, and a failed send
is not recorded, so the retry sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from baocao.periods import Period, candidate_periods
from baocao.programme import Programme
from baocao.statuses import SubmissionStatus

log = logging.getLogger(__name__)
STEPS = {"remind-7": 7, "remind-2": 2, "overdue": -1}  # days before the deadline
STEP_TEXT = {"remind-7": "còn 7 ngày đến hạn báo cáo", "remind-2": "còn 2 ngày đến hạn báo cáo",
             "overdue": "đã quá hạn báo cáo"}
NOT_REPORTED = ("missing", "rejected", "returned")


@dataclass
class Plan:
    """Who gets what at one step of one period."""

    period: Period
    step: str
    units: list[Any] = field(default_factory=list)  # UnitStatus of units to remind
    late: list[Any] = field(default_factory=list)  # UnitStatus of units that reported late

    @property
    def without_email(self) -> list[Any]:
        return [s for s in self.units if not s.unit.emails]


def due_steps(prog: Programme, today: date) -> list[tuple[Period, str]]:
    """The (period, step) pairs whose reminder day is ``today`` (local date)."""
    return [(per, step) for per in candidate_periods(prog, range(today.year - 1, today.year + 2))
            for step, days in STEPS.items() if per.deadline - timedelta(days=days) == today]


def plan(engine: Engine, prog: Programme, period: Period, step: str) -> Plan:
    """The units to remind at ``step`` (from the warehouse's current state)."""
    from baocao.warehouse.readmodels import unit_statuses

    statuses = unit_statuses(engine, prog, period)
    return Plan(period, step, units=[s for s in statuses if s.status in NOT_REPORTED],
                late=[s for s in statuses if s.status == "late"])


def _drop_location(programme: str, unit_code: str) -> str:
    """The unit's drop folder with the bucket it is in: ``baocao-intake/lang-son/inbox/SNV/``."""
    from baocao import layout

    return f"{layout.bucket_name(programme)}/{layout.drop_location(programme, unit_code)}"


def send_step(engine: Engine, prog: Programme, period: Period, step: str) -> dict[str, Any]:
    """Send one step's mails; what was sent now, skipped as sent before, or not mailable."""
    from baocao.config import settings
    from baocao.forms import build_form
    from baocao.mailer import Attachment, render_mail, send_once

    p = plan(engine, prog, period, step)
    lead = prog.find_lead(period.deadline)
    deadline = f"{period.deadline:%d/%m/%Y}"
    sent, skipped = [], []
    for s in p.units:
        if not s.unit.emails:
            continue
        subject = (f"Nhắc báo cáo {period.title}: {STEP_TEXT[step]} ({deadline}) — "
                   f"{s.unit.name}")
        html = render_mail("reminder.html.j2", unit_name=s.unit.name, step=step,
                           step_text=STEP_TEXT[step], period_title=period.title,
                           deadline=deadline, status=s.status, programme_title=prog.title,
                           drop=_drop_location(prog.code, s.unit.code),
                           lead_name=lead.name if lead else "đơn vị tổng hợp")
        form = Attachment(f"bieu-mau-{s.unit.code}-{period.code}.xlsx",
                          build_form(prog, s.unit, period))
        if send_once(engine, prog.code, period.code, step, s.unit.code, s.unit.emails,
                     subject, html, [form]):
            sent.append(s.unit.code)
        else:
            skipped.append(s.unit.code)
    no_email = [s.unit.code for s in p.without_email]
    lead_mail = step == "overdue" or bool(no_email)
    lead_sent = False
    if lead_mail:
        to = (lead.emails if lead else []) or \
            [a.strip() for a in settings().engineers_email.split(",") if a.strip()]
        if not to:
            log.error("%s %s %s: the lead department has no e-mail address and no engineers' "
                      "address is configured; units not reached: %s", prog.code, period.code,
                      step, ", ".join(no_email) or "-")
        else:
            subject = (f"Tình hình gửi báo cáo {period.title} (hạn {deadline}): "
                       f"{len(p.units)} đơn vị chưa báo cáo"
                       + (f", {len(p.late)} đơn vị báo cáo muộn" if step == "overdue" else ""))
            html = render_mail(
                "lead_summary.html.j2", lead_name=lead.name if lead else "Bộ phận kỹ thuật",
                step=step, step_text=STEP_TEXT[step], period_title=period.title,
                deadline=deadline, programme_title=prog.title,
                missing=[_row(s) for s in p.units], late=[_row(s) for s in p.late],
                no_email=[_row(s) for s in p.without_email])
            lead_sent = send_once(engine, prog.code, period.code, step, "lead", to, subject,
                                  html)
    log.info("%s %s %s: %d unit(s) not reported; mailed %d, already mailed %d, without "
             "e-mail %d; lead mail sent: %s", prog.code, period.code, step, len(p.units),
             len(sent), len(skipped), len(no_email), lead_sent)
    return {"period": period.code, "step": step, "sent": sent, "skipped": skipped,
            "no_email": no_email, "late": [s.unit.code for s in p.late],
            "lead_sent": lead_sent}


def _row(s) -> dict[str, str]:
    when = f"{s.received_at:%d/%m/%Y}" if s.received_at else ""
    return {"code": s.unit.code, "name": s.unit.name, "status": SubmissionStatus(s.status).label,
            "received": when, "emails": ", ".join(s.unit.emails) or "chưa có địa chỉ thư"}


def send_due(engine: Engine, prog: Programme, today: date) -> list[dict[str, Any]]:
    """Every step due ``today`` for the programme (usually none)."""
    return [send_step(engine, prog, per, step) for per, step in due_steps(prog, today)]
