"""When reports are made: the daily drafts of the last week before a deadline, the finals
due, and the final already kept for a period."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from baocao.periods import candidate_periods
from baocao.programme import Programme

log = logging.getLogger(__name__)

DRAFT_DAYS_BEFORE = 7  # the daily drafts of the last week before each deadline


def draft_periods(prog: Programme, day: date) -> list[str]:
    """Periods whose deadline is 1 to ``DRAFT_DAYS_BEFORE`` days after ``day`` (the daily
    drafts of the last week; with the common deadlines: 13-19 June and 14-20 December)."""
    return [p.code for p in candidate_periods(prog, range(day.year, day.year + 2))
            if 1 <= (p.deadline - day).days <= DRAFT_DAYS_BEFORE]


def due_finals(prog: Programme, day: date) -> list[str]:
    """Periods whose final is due on ``day``: deadline reached, and late files still taken
    (deadline plus grace days not passed), so a run missed on the deadline day catches up."""
    return [p.code for p in candidate_periods(prog, range(day.year - 1, day.year + 1))
            if p.deadline <= day <= p.closes]


def latest_output(engine: Engine, programme: str, period: str, kind: str
                  ) -> dict[str, Any] | None:
    """The latest kept version of a report as ``render_reports`` returns it, or None."""
    from baocao.warehouse.models import ReportOutput as R

    with engine.connect() as conn:
        row = conn.execute(select(R.__table__).where(
            R.programme == programme, R.period == period, R.kind == kind)
            .order_by(R.version.desc()).limit(1)).first()
    if row is None:
        return None
    log.info("final %s %s: v%d kept already", programme, period, row.version)
    return {"programme": programme, "period": period, "kind": kind, "version": row.version,
            "digest": row.digest, "paths": dict(row.paths), "new": False}
