"""What the DAG tasks and the CLI call: one function per task, small and logged.

Each function reads its settings at call time (never at DAG parse time) and returns plain
JSON-able values for XCom.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from baocao import layout
from baocao.config import settings
from baocao.programme import load_programme
from baocao.timezone import local_date, local_today

log = logging.getLogger(__name__)


def engine():
    from baocao.warehouse.db import get_engine

    return get_engine(settings().warehouse_url)


def active_programmes(programme: str = "") -> list[str]:
    """The programmes a run serves: ``programme`` when a manual run names one, else every
    programme the deployment has switched on (``baocao.config.active_programmes``)."""
    from baocao.config import active_programmes as configured

    if programme.strip():
        return [layout.check_programme(programme.strip())]
    codes = configured()
    log.info("active programmes: %s", ", ".join(codes) or "none")
    return codes


def intake_targets(programme: str = "", asset_events: Any = None) -> list[str]:
    """The programmes an intake run answers: the param's; else those the inbox watcher saw
    files for (``baocao.inbox_watch``), when that is what started the run; else (the cron,
    the safety net) every active programme."""
    if programme.strip():
        return active_programmes(programme)
    active = active_programmes()
    seen: list[str] = []
    triggered = False
    for events in (asset_events or {}).values():
        for event in events:
            payload = (getattr(event, "extra", None) or {}).get("payload")
            if isinstance(payload, dict) and "programmes" in payload:
                triggered = True
                seen += [c for c in payload["programmes"] if c in active and c not in seen]
    if triggered:
        log.info("files dropped for: %s", ", ".join(seen) or "no active programme")
        return seen
    return active


def migrate_warehouse() -> dict[str, Any]:
    """Apply the warehouse's Alembic migrations once per run (a no-op when current)."""
    from baocao.warehouse.db import current_revision, migrate

    url = settings().warehouse_url
    migrate(url)
    return {"revision": current_revision(url)}


def intake_programme(programme: str, run_id: str | None = None, share: int = 0,
                     shares: int = 1) -> dict[str, Any]:
    """One programme's intake (or share ``share`` of ``shares`` of its inbox, see
    ``intake_shares``): mirror its units and periods, then answer its inbox."""
    from baocao.warehouse.merge import sync_programme

    sync_programme(engine(), load_programme(programme))
    return intake_inbox(programme, run_id, share, shares)


MAX_SHARES = 16


def intake_shares(programmes: list[str]) -> list[dict[str, Any]]:
    """The intake tasks of a run: one per programme; a programme whose inbox holds more
    than ``BAOCAO_INTAKE_SHARE_FILES`` files gets one per that many files (at most
    ``MAX_SHARES``), each answering the unit folders of its share, so several workers share
    a very large inbox. Each: programme, share, shares."""
    from baocao.bucket import programme_root
    from baocao.intake import list_inbox

    limit = settings().intake_share_files
    out: list[dict[str, Any]] = []
    for code in programmes:
        shares = 1
        if limit > 0:
            try:
                files = len(list_inbox(programme_root(code)))
            except Exception:  # noqa: BLE001 - the programme's own task reports it
                log.exception("%s: could not count the inbox; one intake task", code)
                files = 0
            shares = max(1, min(MAX_SHARES, -(-files // limit)))
            if shares > 1:
                log.info("%s: %d files in the inbox, answered in %d shares", code, files,
                         shares)
        out += [{"programme": code, "share": k, "shares": shares} for k in range(shares)]
    return out


def sweep_misplaced() -> dict[str, Any]:
    """Answer the files dropped in the bucket's old places (see ``baocao.misplaced``)."""
    from baocao.config import active_programmes as configured
    from baocao.misplaced import sweep_misplaced as sweep

    done = sweep(configured())
    if done:
        log.warning("%d file(s) outside the programme folders: %s", len(done),
                    [d["path"] for d in done])
    return {"files": done}


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


def intake_inbox(programme: str, run_id: str | None = None, share: int = 0,
                 shares: int = 1) -> dict[str, Any]:
    """Process every file waiting in the inbox (or in the unit folders of one share of
    it); a summary for XCom and the logs."""
    from baocao.bucket import bucket_root, programme_root
    from baocao.intake import run_intake
    from baocao.receipts import mail_receipts
    from baocao.validation import Validator

    prog = load_programme(programme)
    root = programme_root(prog.code)
    if root.protocol == "file":
        root.mkdir(parents=True, exist_ok=True)  # the embedded default starts empty
    else:  # a missing bucket is an outage, not "no files" (an empty prefix is no bucket)
        bucket = bucket_root(f"{root.protocol}://{layout.bucket_name(prog.code)}")
        if not bucket.exists():
            raise RuntimeError(f"intake bucket {bucket} does not exist or is not accessible "
                               f"with connection {settings().bucket_conn_id!r}")
    validator = Validator(prog, data_docs_dir=settings().data_docs_dir / prog.code)
    try:
        if shares > 1:  # each share is an intake of its own (see baocao.warehouse.claims)
            run_id = f"{run_id or 'intake'}#{share + 1}/{shares}"
        outcomes = run_intake(prog, engine(), root, run_id, validator=validator,
                              share=(share, shares))
    finally:
        docs = _build_data_docs(validator)
    mailed = mail_receipts(engine(), prog, root, outcomes)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    periods = sorted({o.period for o in outcomes if o.status == "accepted" and o.period})
    log.info("intake %s: %s; periods touched: %s", programme, counts, periods)
    return {"programme": programme, "share": share, "shares": shares, "counts": counts,
            "periods": periods,
            "files": [o.as_dict() for o in outcomes], "data_docs": docs,
            "receipts_mailed": mailed}


def _build_data_docs(validator) -> str:
    """GX Data Docs of the run's validations (once per run, only if something was
    validated); a failure is logged, never fails the intake."""
    try:
        index = validator.build_data_docs()
    except Exception:  # noqa: BLE001 - diagnostics must not stop receipts and the merge
        log.exception("could not build the GX Data Docs")
        return ""
    if index:
        log.info("GX Data Docs of %d validation(s): %s", validator.runs, index)
    return index or ""


def render_reports(programme: str, period: str | None = None, report_date: str | None = None,
                   kind: str = "draft") -> dict[str, Any]:
    """Render the period's .docx and .xlsx into the outbox as a draft or final version under
    ``reports/<programme>/<period>/`` (nothing new is written when the content is unchanged)."""
    from baocao.delivery import publish_report
    from baocao.periods import period_due
    from baocao.reports.context import build_report_data

    prog = load_programme(programme)
    when = date.fromisoformat(report_date) if report_date else None
    per = prog.period(period) if period else period_due(when or local_today(), prog)
    if when is None:
        when = per.deadline if kind == "final" else data_date(prog, per)
    data = build_report_data(engine(), prog, per, when)
    out = publish_report(engine(), prog, data, kind).as_dict()
    log.info("%s report %s %s: v%s%s %s", kind, prog.code, per.code, out["version"],
             "" if out["new"] else " (unchanged)", out["paths"])
    return out


def data_date(prog, per) -> date:
    """The date a draft of ``per`` is dated by: the Vietnam date of the latest file received
    for the period (the "số liệu đến" time the draft states), never after today; the
    period's deadline while nothing has been received. A run that starts late, or runs
    again, dates the same data the same day, so it writes no new version."""
    from sqlalchemy import func, select

    from baocao.warehouse.models import Submission

    with engine().connect() as conn:
        last = conn.execute(select(func.max(Submission.received_at)).where(
            Submission.programme == prog.code, Submission.period == per.code)).scalar()
    return min(local_date(last), local_today()) if last is not None else per.deadline


def email_final_report(published: dict[str, Any]) -> dict[str, Any]:
    """E-mail a published final (the dict ``render_reports`` returned) to its recipients."""
    from baocao.delivery import Published, email_final

    prog = load_programme(published["programme"])
    return email_final(engine(), prog, Published(**published))


def render_to_folder(programme: str, period: str, out_dir: str,
                     report_date: str | None = None) -> dict[str, str]:
    """Render a period's report from the warehouse into a local folder (CLI, no Airflow)."""
    from pathlib import Path

    from baocao.reports.context import build_report_data
    from baocao.reports.docx_report import render_docx
    from baocao.reports.xlsx_report import render_xlsx

    prog = load_programme(programme)
    per = prog.period(period)
    when = date.fromisoformat(report_date) if report_date else None
    data = build_report_data(engine(), prog, per, when)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"bao-cao-{prog.code}-{per.code}"
    paths = {"docx": stem.with_suffix(".docx"), "xlsx": stem.with_suffix(".xlsx")}
    paths["docx"].write_bytes(render_docx(data))
    paths["xlsx"].write_bytes(render_xlsx(data))
    return {k: str(v) for k, v in paths.items()}


def send_reminders(programme: str, day: str | None = None,
                   logical_date: datetime | None = None) -> list[dict[str, Any]]:
    """Send the reminder steps due on ``day`` (ISO date), else on the run's Vietnam date
    (``logical_date``), else today in Vietnam."""
    from baocao.reminders import send_due

    today = date.fromisoformat(day) if day else local_date(logical_date)
    out = send_due(engine(), load_programme(programme), today)
    if not out:
        log.info("reminders %s: no step due on %s", programme, today)
    return out


def report_targets(programme: str = "", period: str = "", asset_events: Any = None
                   ) -> list[dict[str, Any]]:
    """What a draft-report run renders, one item per programme (each becomes its own task):
    ``{"programme": code, "periods": [...]}``. The params when given; else the programmes and
    periods named by the triggering ``baocao_warehouse`` events; else (the daily schedule)
    every active programme with ``periods`` None: the task picks the periods due that day.
    Programme files are not loaded here, so a broken one fails only its own task."""
    if programme or period:
        return [{"programme": code, "periods": [period] if period else None}
                for code in active_programmes(programme)]
    found: dict[str, list[str]] = {}
    for events in (asset_events or {}).values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            code = extra.get("programme")
            if code:
                periods = found.setdefault(code, [])
                periods += [p for p in extra.get("periods", []) if p not in periods]
    if found:
        return [{"programme": code, "periods": periods} for code, periods in found.items()]
    return [{"programme": code, "periods": None} for code in active_programmes()]


def render_drafts(programme: str, periods: list[str] | None = None,
                  logical_date: datetime | None = None) -> list[dict[str, Any]]:
    """Render the drafts of ``periods`` (None: those ``draft_periods`` gives for the run's
    local date), each dated by its data (``data_date``), so a late or repeated run of the
    same data writes nothing new."""
    from baocao.reports.scheduling import draft_periods

    prog = load_programme(programme)
    codes = periods if periods is not None else draft_periods(prog, local_date(logical_date))
    if not codes:
        log.info("drafts %s: no period in its last week before the deadline on %s",
                 prog.code, local_date(logical_date))
    return [render_reports(prog.code, prog.period(code).code, kind="draft") for code in codes]


def render_finals(programme: str, period: str = "", logical_date: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """The finals of every period due on the run's local date (or of ``period``): rendered
    once; a period that has a final already keeps it (a late correction is made final by a
    manual run with the ``period`` param, which writes version 2 if the content changed)."""
    from baocao.reports.scheduling import due_finals, latest_output

    prog = load_programme(programme)
    if period:
        return [render_reports(prog.code, prog.period(period).code, kind="final")]
    day = local_date(logical_date)
    out = []
    for code in due_finals(prog, day):
        existing = latest_output(engine(), prog.code, code, "final")
        out.append(existing or render_reports(prog.code, code, kind="final"))
    if not out:
        log.info("finals %s: none due on %s", prog.code, day)
    return out


def email_finals(published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """E-mail each final (once per version; the SMTP server down: the task retries)."""
    return [email_final_report(p) for p in published]


def publish_open_forms(programme: str, period: str = "",
                       logical_date: datetime | None = None) -> list[dict[str, Any]]:
    """Publish the blank forms of ``period``, or of every period open on the run's local
    date (the forms DAG's task, one per programme)."""
    from baocao.publishing import periods_to_publish, publish_forms

    return [publish_forms(programme, code)
            for code in periods_to_publish(programme, period, logical_date)]
