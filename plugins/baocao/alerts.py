"""Failure alerts: a task that failed after its retries e-mails the engineers.

Used as ``on_failure_callback`` in the DAGs' default_args. The address is read when the
callback runs (``BAOCAO_ENGINEERS_EMAIL``), never at DAG parse time. The callback never raises:
a broken mail server must not hide the original failure, which stays in the task log.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def alert_message(context: dict[str, Any]) -> tuple[str, str]:
    """Subject and HTML body for a failed task instance."""
    from baocao.mailer import render_mail

    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", None) or context.get("run_id", "?")
    try_number = getattr(ti, "try_number", "?")
    log_url = getattr(ti, "log_url", "") or ""
    error = context.get("exception")
    subject = f"[baocao] Lỗi tác vụ {dag_id}.{task_id} ({run_id})"
    html = render_mail("alert.html.j2", dag_id=dag_id, task_id=task_id, run_id=run_id,
                       try_number=try_number, log_url=log_url,
                       error=f"{type(error).__name__}: {error}" if error else "không rõ")
    return subject, html


def notify_failure(context: dict[str, Any]) -> bool:
    """E-mail the engineers about a failed task; True if a mail went out."""
    from baocao.config import settings
    from baocao.mailer import send_mail

    to = [a.strip() for a in settings().engineers_email.split(",") if a.strip()]
    try:
        subject, html = alert_message(context)
        if not to:
            log.error("task failed and no BAOCAO_ENGINEERS_EMAIL is set: %s", subject)
            return False
        send_mail(to, subject, html)
        return True
    except Exception:  # noqa: BLE001 - an alert must never mask the task's own failure
        log.exception("could not send the failure alert")
        return False
