"""What the DAG tasks and the CLI call: one function per task, small and logged.

Each function reads its settings at call time (never at DAG parse time) and returns plain
JSON-able values for XCom.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, date, datetime, timedelta
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
    from baocao.intake import list_inbox, programme_root

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
    from baocao.intake import bucket_root, programme_root, run_intake
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


def send_reminders(programme: str, day: str | None = None) -> list[dict[str, Any]]:
    """Send the reminder steps due on ``day`` (ISO local date; default today in Hà Nội)."""
    from baocao.reminders import send_due

    today = date.fromisoformat(day) if day else local_today()
    out = send_due(engine(), load_programme(programme), today)
    if not out:
        log.info("reminders %s: no step due on %s", programme, today)
    return out


def return_submission(programme: str, submission_id: int, reason: str) -> dict[str, Any]:
    """Return an accepted current submission for correction: it stops counting, the unit gets
    a receipt saying why (and a mail when it has an address); the history keeps both."""
    from baocao.intake import _aware, _safe, _unit_name, _write_receipt, programme_root
    from baocao.mailer import send_once
    from baocao.receipts import ReceiptData
    from baocao.warehouse.merge import return_submission as mark_returned
    from baocao.warehouse.merge import set_receipt

    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("a reason is required (it is sent to the unit)")
    prog = load_programme(programme)
    sub = mark_returned(engine(), submission_id, reason, prog.code)
    now = datetime.now(UTC)
    per = prog.period(sub.period)
    stem = _safe(sub.file_name.rsplit(".", 1)[0])
    rel = layout.receipt_file(_safe(sub.unit_code), stem, sub.checksum, "tra-lai")
    data = ReceiptData(status="returned", unit_code=sub.unit_code,
                       unit_name=_unit_name(prog, sub.unit_code), file_name=sub.file_name,
                       checksum=sub.checksum, received_at=_aware(sub.received_at),
                       processed_at=now, period_title=per.title,
                       deadline=f"{per.deadline:%d/%m/%Y}", version=sub.version, reason=reason)
    _write_receipt(programme_root(prog.code), rel, prog, data)
    set_receipt(engine(), submission_id, rel)
    mailed = False
    emails = [e for u in prog.units_by_code(sub.unit_code) for e in u.emails]
    if emails:
        try:
            from baocao.receipts import render_receipt

            mailed = send_once(engine(), prog.code, per.code, "return", str(submission_id),
                               emails, f"Báo cáo {per.title} bị trả lại để chỉnh sửa",
                               render_receipt(prog, data))
        except Exception:  # noqa: BLE001 - the receipt is in the bucket; report, don't undo
            log.exception("submission %s returned, but the mail to %s failed", submission_id,
                          emails)
    log.info("submission %s of %s %s returned: %s", submission_id, sub.unit_code, sub.period,
             reason)
    return {"submission": submission_id, "unit": sub.unit_code, "period": sub.period,
            "receipt": rel, "mailed": mailed}


def seed_demo(programme: str, period: str) -> dict[str, Any]:
    """Drop a demo period's filled forms into the inbox, with realistic arrival times.

    Every expected unit but the last reports; one file has errors, one arrives after the
    deadline, one unit sends a corrected second version. Arrival times are set as the files'
    modification times, which a ``file://`` bucket keeps.
    """
    from baocao.demo import fill_form
    from baocao.intake import programme_root

    prog = load_programme(programme)
    per = prog.period(period)
    units = prog.expected_units(per)
    locals_ = [u for u in units if prog.is_local(u)]
    bad = locals_[1] if len(locals_) > 1 else units[1]
    late = locals_[2] if len(locals_) > 2 else units[2]
    twice = locals_[3] if len(locals_) > 3 else units[3]
    missing = units[-1]
    root = programme_root(prog.code)
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
            path = root / layout.unit_inbox(unit.code) / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if root.protocol == "file":
                os.utime(path.path, (when.timestamp(), when.timestamp()))
            elif len(files) > 1:  # an object store stamps the upload (1 s): keep the order
                time.sleep(1.1)
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


DRAFT_DAYS_BEFORE = 7  # the daily drafts of the last week before each deadline


def draft_periods(prog, day: date) -> list[str]:
    """Periods whose deadline is 1 to ``DRAFT_DAYS_BEFORE`` days after ``day`` (the daily
    drafts of the last week; with the common deadlines: 13-19 June and 14-20 December)."""
    from baocao.periods import candidate_periods

    return [p.code for p in candidate_periods(prog, range(day.year, day.year + 2))
            if 1 <= (p.deadline - day).days <= DRAFT_DAYS_BEFORE]


def render_drafts(programme: str, periods: list[str] | None = None,
                  logical_date: datetime | None = None) -> list[dict[str, Any]]:
    """Render the drafts of ``periods`` (None: those ``draft_periods`` gives for the run's
    local date), each dated by its data (``data_date``), so a late or repeated run of the
    same data writes nothing new."""
    prog = load_programme(programme)
    codes = periods if periods is not None else draft_periods(prog, local_date(logical_date))
    if not codes:
        log.info("drafts %s: no period in its last week before the deadline on %s",
                 prog.code, local_date(logical_date))
    return [render_reports(prog.code, prog.period(code).code, kind="draft") for code in codes]


def due_finals(prog, day: date) -> list[str]:
    """Periods whose final is due on ``day``: deadline reached, and late files still taken
    (deadline plus grace days not passed), so a run missed on the deadline day catches up."""
    from baocao.periods import candidate_periods

    return [p.code for p in candidate_periods(prog, range(day.year - 1, day.year + 1))
            if p.deadline <= day <= p.closes]


def render_finals(programme: str, period: str = "", logical_date: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """The finals of every period due on the run's local date (or of ``period``): rendered
    once; a period that has a final already keeps it (a late correction is made final by a
    manual run with the ``period`` param, which writes version 2 if the content changed)."""
    prog = load_programme(programme)
    if period:
        return [render_reports(prog.code, prog.period(period).code, kind="final")]
    day = local_date(logical_date)
    out = []
    for code in due_finals(prog, day):
        existing = _latest_output(prog.code, code, "final")
        out.append(existing or render_reports(prog.code, code, kind="final"))
    if not out:
        log.info("finals %s: none due on %s", prog.code, day)
    return out


def _latest_output(programme: str, period: str, kind: str) -> dict[str, Any] | None:
    """The latest kept version of a report as ``render_reports`` returns it, or None."""
    from sqlalchemy import select

    from baocao.warehouse.models import ReportOutput as R

    with engine().connect() as conn:
        row = conn.execute(select(R.__table__).where(
            R.programme == programme, R.period == period, R.kind == kind)
            .order_by(R.version.desc()).limit(1)).first()
    if row is None:
        return None
    log.info("final %s %s: v%d kept already", programme, period, row.version)
    return {"programme": programme, "period": period, "kind": kind, "version": row.version,
            "digest": row.digest, "paths": dict(row.paths), "new": False}


def email_finals(published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """E-mail each final (once per version; the SMTP server down: the task retries)."""
    return [email_final_report(p) for p in published]


def publish_open_forms(programme: str, period: str = "",
                       logical_date: datetime | None = None) -> list[dict[str, Any]]:
    """Publish the blank forms of ``period``, or of every period open on the run's local
    date (the forms DAG's task, one per programme)."""
    return [publish_forms(programme, code)
            for code in periods_to_publish(programme, period, logical_date)]


def periods_to_publish(programme: str, period: str = "",
                       logical_date: datetime | None = None) -> list[str]:
    """Periods whose blank forms a publishing run writes: the param if given; else every
    period open on the run's local date (its cut-off has started, its deadline not passed)."""
    from baocao.periods import open_periods

    prog = load_programme(programme)
    if period:
        return [prog.period(period).code]
    return [p.code for p in open_periods(local_date(logical_date), prog)]


def publish_forms(programme: str, period: str, root=None) -> dict[str, Any]:
    """Write every expected unit's blank form to ``templates/<period>/<unit-code>.xlsx`` in
    the bucket, with a Vietnamese ``README.txt`` listing units and drop folders.

    Forms are byte-reproducible; a file whose bytes are already there is not rewritten, so a
    re-run changes nothing. Forms of units no longer expected are kept (listed as ``stale``).
    """
    from baocao.forms import build_form
    from baocao.intake import programme_root

    prog = load_programme(programme)
    per = prog.period(period)
    root = root if root is not None else programme_root(prog.code)
    folder = root / layout.period_templates(per.code)
    units = prog.expected_units(per)
    counts = {"written": 0, "updated": 0, "unchanged": 0}
    files = {f"{u.code}.xlsx": build_form(prog, u, per) for u in units}
    files["README.txt"] = _forms_index(prog, per, units).encode("utf-8")
    for name, data in files.items():
        path = folder / name
        old = path.read_bytes() if path.exists() else None
        if old == data:
            counts["unchanged"] += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        counts["updated" if old is not None else "written"] += 1
    stale = sorted(p.name.removesuffix(".xlsx") for p in folder.iterdir()
                   if p.name.endswith(".xlsx") and p.name not in files)
    if stale:
        log.warning("%s: forms of units no longer expected kept: %s",
                    layout.period_templates(per.code), stale)
    log.info("forms for %s %s: %d units; %s", prog.code, per.code, len(units), counts)
    return {"programme": prog.code, "period": per.code, "units": len(units), **counts,
            "stale": stale, "index": layout.forms_index(per.code)}


def _forms_index(prog, per, units) -> str:
    """The templates folder's README.txt (Vietnamese, NFC; no timestamp: reproducible):
    deadline, how to fill and send (production: MinIO console and login, or ``mc cp``), where
    the answer comes back, whom to call, and every unit with its form and drop folder."""
    import unicodedata

    from baocao.clerk_texts import (
        cutoff_text,
        deadline_text,
        lead_contact,
        receipt_where,
        upload_steps,
        vn_date,
    )
    from baocao.layout import drop_location, form_path
    from baocao.minio_policies import unit_user

    steps = ["Tải biểu mẫu của đơn vị mình: tệp <mã đơn vị>.xlsx trong thư mục này (danh "
             "sách ở cuối tệp). Trang \"Hướng dẫn\" của biểu mẫu ghi cách điền.",
             "Nhập số liệu vào các ô màu vàng; không thêm, xóa hoặc đổi tên trang tính.",
             "Lưu ở dạng Excel (.xlsx), không đặt mật khẩu, không chuyển sang PDF.",
             *upload_steps(prog), receipt_where(prog, None)]
    lines = [
        f"BIỂU MẪU BÁO CÁO {per.title.upper()}",
        prog.title,
        "",
        f"Kỳ báo cáo {per.title}: {cutoff_text(per)}.",
        f"Thời hạn gửi: {deadline_text(per)} (gửi trong ngày {vn_date(per.deadline)} là đúng "
        "hạn; gửi sau ngày này vẫn được tiếp nhận nhưng bị ghi là gửi muộn).",
        f"Phiên bản biểu mẫu: {prog.form_version}.",
        "",
        "CÁCH GỬI BÁO CÁO",
        *[f"{n}. {t}" for n, t in enumerate(steps, 1)],
    ]
    contact = lead_contact(prog, per.deadline)
    if contact:
        lines += ["", f"Liên hệ khi cần hỗ trợ: {contact}."]
    lines += ["", f"DANH SÁCH ĐƠN VỊ BÁO CÁO ({len(units)} đơn vị)"]
    for n, u in enumerate(units, 1):
        lines += [f"{n:>3}. {u.name} (mã {u.code}, tài khoản {unit_user(prog.code, u.code)})",
                  f"     biểu mẫu: {form_path(prog.code, per.code, u.code)}"
                  f"  —  gửi báo cáo vào: {drop_location(prog.code, u.code)}"]
    return unicodedata.normalize("NFC", "\n".join(lines) + "\n")
