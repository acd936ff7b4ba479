"""The status page: every expected unit of a programme's period, as an HTML page in Vietnamese.

It reads only the warehouse (``settings().warehouse_url``, looked up at request time), through
the read model that ``baocao status`` prints, so the page and the command agree. ``create_app``
wraps it in a FastAPI app; ``plugins/baocao_status_plugin.py`` mounts that app in the Airflow
API server and adds the UI's nav entry. Nothing here imports Airflow at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baocao.config import settings
from baocao.periods import candidate_periods
from baocao.programme import Programme, ProgrammeError, list_programme_files, load_programme
from baocao.statuses import NEEDS_ATTENTION, SubmissionStatus, outcome_label
from baocao.templating import render as render_template
from baocao.timezone import local_today, to_local
from baocao.vn_numbers import format_vn_number
from baocao.warehouse.readmodels import UnitStatus

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

KIND_TEXT = {"department": "Sở, ban, ngành", "district": "Huyện, thành phố",
             "commune": "Xã, phường", "organisation": "Cơ quan, tổ chức"}
PROBLEMS = tuple(s.value for s in NEEDS_ATTENTION)
ORDER = {status: n for n, status in enumerate((*PROBLEMS, SubmissionStatus.ON_TIME.value))}
SHOW = {"all": "Tất cả đơn vị", "problems": "Đơn vị cần đôn đốc",
        **{status: SubmissionStatus(status).label for status in ORDER}}


@dataclass
class Row:
    """One expected unit as the page shows it."""

    code: str
    name: str
    kind: str
    status: str
    status_text: str
    received: str
    version: int | None
    files: int
    receipt_id: int | None = None
    receipt_name: str = ""
    receipt_note: str = ""


@dataclass
class StatusView:
    """Everything the template needs. ``error`` (with ``status_code``) answers a bad request;
    ``problem`` says why the warehouse cannot be read."""

    programmes: list[tuple[str, str]] = field(default_factory=list)
    programme: str = ""
    programme_title: str = ""
    periods: list[tuple[str, str]] = field(default_factory=list)
    period: str = ""
    shows: list[tuple[str, str]] = field(default_factory=list)
    show: str = "all"
    counts: dict[str, int] = field(default_factory=dict)
    total_rows: int = 0
    period_title: str = ""
    deadline: str = ""
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    error: str = ""
    status_code: int = 200
    generated: str = ""

    @property
    def show_label(self) -> str:
        return SHOW.get(self.show, "")


def vn_time(value: datetime | None) -> str:
    """'23/06/2026 09:00' in Vietnam time; '' for None."""
    return to_local(value).strftime("%d/%m/%Y %H:%M") if value else ""


def status_text(s: UnitStatus) -> str:
    """The Vietnamese status of one unit; a late report names the day it arrived."""
    return s.label


def programme_choices() -> list[tuple[str, str]]:
    """(code, label) of every active programme (``baocao.config.active_programmes``) whose
    file loads; broken files and programmes switched off are left out."""
    from baocao.config import active_programmes

    known = {p.stem for p in list_programme_files()}
    out = []
    for code in active_programmes():
        if code not in known:
            continue
        try:
            prog = load_programme(code)
        except ProgrammeError as exc:
            log.warning("status page: programme %s skipped: %s", code, exc)
            continue
        out.append((prog.code, f"{prog.province} — {prog.code}"))
    return out


def period_choices(prog: Programme) -> list[tuple[str, str]]:
    """(code, title) of the programme's periods, newest first."""
    periods = candidate_periods(prog, range(prog.first_year, prog.last_year + 1))
    return [(per.code, f"{per.code} — {per.title}")
            for per in sorted(periods, key=lambda p: (p.year, p.kind), reverse=True)]


def figures(statuses: list[UnitStatus]) -> dict[str, str]:
    """The completeness figures of ``readmodels.completeness``, formatted in Vietnamese."""
    from baocao.warehouse.readmodels import completeness

    c = completeness(statuses)
    out = {k: format_vn_number(c[k]) for k in ("expected", "received", "on_time", "late",
                                                "missing")}
    out["completeness"] = format_vn_number(c["completeness"], 1) + "%"
    out["timeliness"] = format_vn_number(c["timeliness"], 1) + "%"
    out["returned"] = format_vn_number(sum(s.status == "returned" for s in statuses))
    out["rejected"] = format_vn_number(sum(s.status == "rejected" for s in statuses))
    return out


def _rows(statuses: list[UnitStatus], latest: dict[str, dict[str, Any]]) -> list[Row]:
    """One row per unit, those needing attention first (``ORDER``), else in the programme's
    order."""
    rows = []
    for s in sorted(statuses, key=lambda s: ORDER.get(s.status, len(ORDER))):
        last = latest.get(s.unit.code)
        row = Row(code=s.unit.code, name=s.unit.name,
                  kind=KIND_TEXT.get(s.unit.kind, s.unit.kind), status=s.status,
                  status_text=status_text(s), received=vn_time(s.received_at),
                  version=s.version, files=s.files)
        if last:
            row.receipt_id = last["id"] if last["receipt_path"] else None
            row.receipt_name = last["file_name"]
            row.receipt_note = (f"{outcome_label(last['status'])}, "
                                f"{vn_time(last['received_at'])}")
            if last["status"] == "returned" and last.get("return_reason"):
                row.receipt_note += f"; lý do: {last['return_reason']}"
        rows.append(row)
    return rows


def _warehouse_problem(url: str) -> tuple[Engine | None, str | None]:
    """(engine, None) when the warehouse can be read; (None, Vietnamese message) otherwise.

    A SQLite file that does not exist is reported, not created.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from baocao.warehouse.db import get_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return None, ("Kho dữ liệu chưa được khởi tạo (chưa có tệp cơ sở dữ liệu). "
                      "Chạy lệnh: baocao migrate")
    try:
        engine = get_engine(url)
        if not inspect(engine).has_table("submissions"):
            return None, ("Kho dữ liệu chưa được khởi tạo (chưa áp dụng migration). "
                          "Chạy lệnh: baocao migrate")
    except SQLAlchemyError as exc:
        log.warning("status page: warehouse unreachable: %s", type(exc).__name__)
        return None, "Không kết nối được kho dữ liệu. Đề nghị liên hệ cán bộ kỹ thuật."
    return engine, None


def build_view(programme: str | None, period: str | None, url: str | None = None,
               today: date | None = None, show: str | None = None) -> StatusView:
    """The page's data for one programme and period (defaults: the configured programme and
    the period being collected ``today``, see ``periods.collecting_period``); ``show`` keeps
    only some rows (``SHOW``: all, problems or one status)."""
    from sqlalchemy.exc import SQLAlchemyError

    from baocao.periods import collecting_period
    from baocao.warehouse.readmodels import latest_submissions, unit_statuses

    view = StatusView(programmes=programme_choices(), programme=programme or "",
                      period=period or "", shows=list(SHOW.items()))
    if show and show not in SHOW:
        view.error, view.status_code = "Bộ lọc không hợp lệ; đề nghị chọn trong danh sách.", 400
        return view
    view.show = show or "all"
    code = programme or settings().default_programme
    if code not in {c for c, _label in view.programmes}:  # only files of the folder, by name
        view.error, view.status_code = f"Không có chương trình báo cáo “{code}”.", 404
        return view
    prog = load_programme(code)
    view.programme, view.programme_title = prog.code, prog.title
    view.periods = period_choices(prog)
    try:
        per = prog.period(period) if period else collecting_period(today or local_today(), prog)
    except ValueError:
        view.error = (f"Kỳ báo cáo “{period}” không áp dụng cho chương trình này; "
                      "đề nghị chọn kỳ trong danh sách.")
        view.status_code = 400
        return view
    view.period, view.period_title = per.code, per.title
    view.deadline = f"{per.deadline:%d/%m/%Y}"
    view.generated = vn_time(datetime.now(UTC))
    engine, problem = _warehouse_problem(url or settings().warehouse_url)
    if engine is None:
        view.problem, view.status_code = problem or "", 503
        return view
    try:
        statuses = unit_statuses(engine, prog, per)
        latest = latest_submissions(engine, prog, per)
    except SQLAlchemyError as exc:
        log.warning("status page: warehouse query failed: %s", type(exc).__name__)
        view.problem = "Không đọc được kho dữ liệu. Đề nghị liên hệ cán bộ kỹ thuật."
        view.status_code = 503
        return view
    rows = _rows(statuses, latest)
    view.counts = {key: sum(r.status == key for r in rows) for key in ORDER}
    view.counts["problems"] = sum(r.status in PROBLEMS for r in rows)
    view.counts["all"] = view.total_rows = len(rows)
    view.rows = [r for r in rows if view.show == "all" or r.status == view.show
                 or (view.show == "problems" and r.status in PROBLEMS)]
    view.figures = figures(statuses)
    return view


def render(view: StatusView) -> str:
    """The page's HTML, NFC-normalised; every value from data is escaped by Jinja."""
    return render_template("status.html.j2", v=view)


def status_page(programme: str | None, period: str | None,
                show: str | None = None) -> tuple[str, int]:
    """(HTML, HTTP status) for one request of the page."""
    view = build_view(programme, period, show=show)
    return render(view), view.status_code


def receipt_html(submission_id: int) -> str | None:
    """The stored receipt page of one submission, read from the bucket (None if unknown)."""
    from sqlalchemy import select

    from baocao import layout
    from baocao.bucket import programme_root
    from baocao.warehouse.models import Submission

    engine, _problem = _warehouse_problem(settings().warehouse_url)
    if engine is None:
        return None
    with engine.connect() as conn:
        found = conn.execute(select(Submission.programme, Submission.receipt_path)
                             .where(Submission.id == submission_id)).first()
    if found is None:
        return None
    programme, path = found
    if not path or not path.startswith(f"{layout.RECEIPTS}/") or ".." in path.split("/"):
        return None
    try:
        layout.check_programme(programme)
    except ValueError:
        return None
    target = programme_root(programme) / path
    return target.read_text(encoding="utf-8") if target.exists() else None


def create_app(dependencies: Sequence[Any] = ()):
    """A FastAPI app serving ``/status`` and ``/receipts/{id}``; ``dependencies`` (FastAPI
    ``Depends``) guard every route, e.g. the Airflow plugin's login check."""
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, RedirectResponse
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="baocao status", dependencies=list(dependencies), docs_url=None,
                  redoc_url=None, openapi_url=None)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                          "form-action 'self'; frame-ancestors 'self'"}

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("status", status_code=307)

    @app.get("/status", response_class=HTMLResponse)
    async def status(programme: str | None = Query(None, max_length=64),
                     period: str | None = Query(None, max_length=16),
                     show: str | None = Query(None, max_length=16)) -> HTMLResponse:
        html, code = await run_in_threadpool(status_page, programme or None, period or None,
                                             show or None)
        return HTMLResponse(html, status_code=code, headers=headers)

    @app.get("/receipts/{submission_id}", response_class=HTMLResponse)
    async def receipt(submission_id: int) -> HTMLResponse:
        try:
            html = await run_in_threadpool(receipt_html, submission_id)
        except Exception:  # noqa: BLE001 - the bucket is down: say so, keep the page up
            log.exception("status page: receipt %s could not be read", submission_id)
            failed = StatusView(error="Không đọc được phiếu tiếp nhận từ kho lưu trữ tệp. "
                                      "Đề nghị thử lại sau.", status_code=503)
            return HTMLResponse(render(failed), status_code=503, headers=headers)
        if html is None:
            missing = StatusView(error="Không tìm thấy phiếu tiếp nhận này.", status_code=404)
            return HTMLResponse(render(missing), status_code=404, headers=headers)
        return HTMLResponse(html, headers=headers)

    return app
