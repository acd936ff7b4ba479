"""What the DAG tasks and the CLI call: one function per task, small and logged.

Each function reads its settings at call time (never at DAG parse time) and returns plain
JSON-able values for XCom.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

from baocao.config import settings
from baocao.programme import load_programme

log = logging.getLogger(__name__)


def engine():
    from baocao.warehouse.db import get_engine

    return get_engine(settings().warehouse_url)


def prepare_warehouse(programme: str) -> dict[str, Any]:
    """Apply migrations (a no-op when current) and mirror the programme's units and periods."""
    from baocao.warehouse.db import current_revision, migrate
    from baocao.warehouse.merge import sync_programme

    prog = load_programme(programme)
    url = settings().warehouse_url
    migrate(url)
    sync_programme(engine(), prog)
    return {"programme": prog.code, "revision": current_revision(url),
            "units": len(prog.units)}


def intake_inbox(programme: str, run_id: str | None = None) -> dict[str, Any]:
    """Process every file waiting in the inbox; a summary for XCom and the logs."""
    from baocao.intake import bucket_root, run_intake

    prog = load_programme(programme)
    outcomes = run_intake(prog, engine(), bucket_root(), run_id)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    periods = sorted({o.period for o in outcomes if o.status == "accepted" and o.period})
    log.info("intake %s: %s; periods touched: %s", programme, counts, periods)
    return {"programme": programme, "counts": counts, "periods": periods,
            "files": [o.as_dict() for o in outcomes]}


def render_reports(programme: str, period: str | None = None,
                   report_date: str | None = None) -> dict[str, str]:
    """Render the period's .docx and .xlsx into the outbox; their paths."""
    from baocao.delivery import outbox_root, store
    from baocao.periods import period_for
    from baocao.reports.context import build_report_data
    from baocao.reports.docx_report import render_docx
    from baocao.reports.xlsx_report import render_xlsx

    prog = load_programme(programme)
    per = prog.period(period) if period else period_for(date.today(), prog)
    when = date.fromisoformat(report_date) if report_date else None
    data = build_report_data(engine(), prog, per, when)
    root = outbox_root()
    stem = f"{prog.code}/{per.code}/bao-cao-{prog.code}-{per.code}"
    paths = {"docx": store(root, f"{stem}.docx", render_docx(data)),
             "xlsx": store(root, f"{stem}.xlsx", render_xlsx(data))}
    log.info("reports for %s %s: %s", prog.code, per.code, paths)
    return paths


def seed_demo(programme: str, period: str) -> dict[str, Any]:
    """Drop a demo period's filled forms into the inbox, with realistic arrival times.

    Every expected unit but the last reports; one file has errors, one arrives after the
    deadline, one unit sends a corrected second version. Arrival times are set as the files'
    modification times, which a ``file://`` bucket keeps.
    """
    from baocao.demo import fill_form
    from baocao.intake import bucket_root

    prog = load_programme(programme)
    per = prog.period(period)
    units = prog.expected_units(per)
    locals_ = [u for u in units if prog.is_local(u)]
    bad = locals_[1] if len(locals_) > 1 else units[1]
    late = locals_[2] if len(locals_) > 2 else units[2]
    twice = locals_[3] if len(locals_) > 3 else units[3]
    missing = units[-1]
    root = bucket_root()
    deadline = datetime.combine(per.deadline, datetime.min.time(), UTC) - timedelta(hours=7)
    dropped = []
    for n, unit in enumerate(units):
        if unit is missing:
            continue
        arrive = deadline - timedelta(days=1 + n % 5, hours=n % 9, minutes=7 * n % 60)
        files: list[tuple[str, bytes, datetime]] = []
        name = f"Báo cáo {per.title} - {unit.name}.xlsx"
        if unit is bad:
            ind_cell = _first_cell(prog, unit, "W_DEP", "JP", "women")
            files.append((name, fill_form(prog, unit, per, overrides={
                ("workers", ind_cell): 999999, ("workers", _first_cell(
                    prog, unit, "W_COUNSELLED", "", "")): "khoảng 50"}), arrive))
        elif unit is late:
            files.append((name, fill_form(prog, unit, per),
                          deadline + timedelta(days=3, hours=2)))
        elif unit is twice:
            from baocao.demo import demo_values

            wrong = demo_values(prog, unit, per)[("W_OVERSTAY", "", "")] + 5
            first = fill_form(prog, unit, per, overrides={
                ("workers", _first_cell(prog, unit, "W_OVERSTAY", "", "")): wrong})
            files.append((f"Báo cáo {per.title} (lần 1).xlsx", first,
                          arrive - timedelta(days=2)))
            files.append((f"Báo cáo {per.title} (bổ sung).xlsx", fill_form(prog, unit, per),
                          arrive))
        else:
            files.append((name, fill_form(prog, unit, per), arrive))
        for fname, data, when in files:
            path = root / "inbox" / unit.code / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if root.protocol == "file":
                os.utime(path.path, (when.timestamp(), when.timestamp()))
            dropped.append(str(path))
    log.info("demo: %d files for %d of %d expected units (missing: %s, with errors: %s, "
             "late: %s, resubmitted: %s)", len(dropped), len(units) - 1, len(units),
             missing.code, bad.code, late.code, twice.code)
    return {"files": len(dropped), "missing": missing.code, "bad": bad.code,
            "late": late.code, "resubmitted": twice.code}


def _first_cell(prog, unit, indicator: str, row: str, col: str) -> str:
    from baocao.forms import sheet_layout

    ind = prog.indicator(indicator)
    for spec in sheet_layout(prog, ind.sheet, unit).cells:
        if (spec.indicator, spec.row, spec.col) == (indicator, row, col):
            return spec.address
    raise KeyError(indicator)


def periods_to_render(programme: str, period: str, asset_events: Any = None,
                      logical_date: datetime | None = None) -> list[dict[str, str]]:
    """Periods for a report run: the param if given; else the periods named by the
    triggering asset events; else the period due at ``logical_date``."""
    from baocao.periods import period_for

    prog = load_programme(programme)
    if period:
        return [{"programme": prog.code, "period": prog.period(period).code}]
    found: list[dict[str, str]] = []
    for events in (asset_events or {}).values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            for code in extra.get("periods", []):
                item = {"programme": extra.get("programme", prog.code), "period": code}
                if item not in found:
                    found.append(item)
    if found:
        return found
    day = (logical_date or datetime.now(UTC)).date()
    return [{"programme": prog.code, "period": period_for(day, prog).code}]
