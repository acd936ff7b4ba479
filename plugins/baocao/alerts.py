"""Failure alerts: a task that failed after its retries e-mails the engineers, once per problem.

Used as ``on_failure_callback`` (and ``notify_recovery`` as ``on_success_callback``) in the DAGs'
default_args (``baocao.dag_defaults``). The address is read when the callback runs
(``BAOCAO_ENGINEERS_EMAIL``), never at DAG parse time. The callbacks never raise: a broken
mail server must not hide the original failure, which stays in the task log.

Throttling. During an outage of the bucket or the warehouse every intake run fails (every
few minutes); the engineers get one mail when it starts, a reminder every hour while it
lasts (with the number of failures in between), and one when a task that failed succeeds
again. Any other failure repeating with the same error in the same task is throttled the
same way. What was sent is kept in the Airflow Variable ``baocao_alerts`` (Airflow's
metadata database, reachable when the warehouse is not); when that cannot be read, the mail
is sent anyway: a lost alert is worse than a repeated one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)
REPEAT_AFTER = timedelta(hours=1)
STATE_VARIABLE = "baocao_alerts"
OUTAGE = "outage"


class AlertState(Protocol):
    """Where the sent alerts are remembered (between task processes and workers)."""

    def load(self) -> dict[str, Any]: ...

    def save(self, state: dict[str, Any]) -> None: ...


class VariableState:
    """The state in an Airflow Variable (JSON)."""

    def load(self) -> dict[str, Any]:
        from airflow.sdk import Variable

        text = Variable.get(STATE_VARIABLE, default=None)
        return json.loads(text) if text else {}

    def save(self, state: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(STATE_VARIABLE, json.dumps(state, ensure_ascii=False, sort_keys=True))


def _ids(context: dict[str, Any]) -> tuple[str, str, str, Any, str]:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id", "?")
    return dag_id, task_id, run_id, getattr(ti, "try_number", "?"), getattr(ti, "log_url", "")


def problem_key(context: dict[str, Any]) -> str:
    """``outage`` when the bucket or the warehouse is unreachable (whatever task saw it);
    else the task and its error, so a different error alerts at once."""
    from baocao.intake import unreachable

    error = context.get("exception")
    if isinstance(error, BaseException) and unreachable(error):
        return OUTAGE
    dag_id, task_id, *_ = _ids(context)
    text = f"{type(error).__name__}: {error}" if error else "?"
    return f"{dag_id}.{task_id}: {text[:300]}"


def alert_message(context: dict[str, Any], repeated: int = 0, since: str = ""
                  ) -> tuple[str, str]:
    """Subject and HTML body for a failed task instance."""
    from baocao.mailer import render_mail

    dag_id, task_id, run_id, try_number, log_url = _ids(context)
    error = context.get("exception")
    subject = f"[baocao] Lỗi tác vụ {dag_id}.{task_id} ({run_id})"
    if repeated:
        subject += f" — vẫn tiếp diễn, {repeated} lần lỗi từ thư trước"
    html = render_mail("alert.html.j2", dag_id=dag_id, task_id=task_id, run_id=run_id,
                       try_number=try_number, log_url=log_url or "",
                       error=f"{type(error).__name__}: {error}" if error else "không rõ",
                       repeated=repeated, since=since,
                       repeat_hours=int(REPEAT_AFTER.total_seconds() // 3600))
    return subject, html


def _engineers() -> list[str]:
    from baocao.config import settings

    return [a.strip() for a in settings().engineers_email.split(",") if a.strip()]


def _vn(stamp: str) -> str:
    from baocao.timezone import to_local

    return f"{to_local(datetime.fromisoformat(stamp)):%H:%M ngày %d/%m/%Y}"


def notify_failure(context: dict[str, Any], state: AlertState | None = None,
                   now: datetime | None = None) -> bool:
    """E-mail the engineers about a failed task unless the same problem was mailed less
    than an hour ago; True if a mail went out."""
    from baocao.mailer import send_mail

    now = now or datetime.now(UTC)
    state = state or VariableState()
    try:
        key = problem_key(context)
        dag_id, task_id, *_ = _ids(context)
        try:
            known = state.load()
        except Exception:  # noqa: BLE001 - no memory of past alerts: send
            log.warning("alert state unreadable; sending the alert anyway", exc_info=True)
            known, state = {}, None
        entry = known.get(key)
        task = f"{dag_id}.{task_id}"
        if entry and now - datetime.fromisoformat(entry["sent"]) < REPEAT_AFTER:
            entry["repeated"] = entry.get("repeated", 0) + 1
            entry["tasks"] = sorted({*entry.get("tasks", []), task})
            _save(state, known)
            log.error("task failed (%s); engineers were alerted at %s, next alert after %s "
                      "unless it is over", key, entry["sent"], REPEAT_AFTER)
            return False
        to = _engineers()
        subject, html = alert_message(context, entry.get("repeated", 0) if entry else 0,
                                      _vn(entry["since"]) if entry else "")
        if not to:
            log.error("task failed and no BAOCAO_ENGINEERS_EMAIL is set: %s", subject)
            return False
        send_mail(to, subject, html)
        known[key] = {"since": entry["since"] if entry else now.isoformat(),
                      "sent": now.isoformat(), "repeated": 0,
                      "tasks": sorted({*(entry or {}).get("tasks", []), task})}
        _save(state, known)
        return True
    except Exception:  # noqa: BLE001 - an alert must never mask the task's own failure
        log.exception("could not send the failure alert")
        return False


def notify_recovery(context: dict[str, Any], state: AlertState | None = None,
                    now: datetime | None = None) -> bool:
    """After a task succeeds: the problems it had alerted about are over. An outage gets a
    mail saying so (with how long it lasted); True if one went out."""
    from baocao.mailer import render_mail, send_mail

    now = now or datetime.now(UTC)
    state = state or VariableState()
    try:
        known = state.load()
        if not known:
            return False
        dag_id, task_id, run_id, *_ = _ids(context)
        task = f"{dag_id}.{task_id}"
        over = {k: e for k, e in known.items() if task in e.get("tasks", [])}
        if not over:
            return False
        for key in over:
            del known[key]
        state.save(known)
        if OUTAGE not in over or not (to := _engineers()):
            return False
        entry = over[OUTAGE]
        minutes = int((now - datetime.fromisoformat(entry["since"])).total_seconds() // 60)
        send_mail(to, f"[baocao] Đã hoạt động lại: {task} chạy thành công ({run_id})",
                  render_mail("alert_recovered.html.j2", task=task, run_id=run_id,
                              since=_vn(entry["since"]), until=_vn(now.isoformat()),
                              minutes=minutes, repeated=entry.get("repeated", 0)))
        return True
    except Exception:  # noqa: BLE001 - a success must stay a success
        log.warning("could not clear or announce the end of an alert", exc_info=True)
        return False


def _save(state: AlertState | None, known: dict[str, Any]) -> None:
    if state is None:
        return
    try:
        state.save(known)
    except Exception:  # noqa: BLE001 - the alert itself matters more than its memory
        log.warning("could not save the alert state", exc_info=True)
