"""What every baocao DAG file shares: timezone, start date, default_args, params and assets.

Imported by the DAG files at parse time, so it stays cheap: Airflow's SDK, pendulum and the
inbox trigger's class, nothing that reads settings, files or connections. Everything a task
needs from the environment is read when the task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetWatcher, CronTriggerTimetable, Param, task

from baocao.inbox_watch import InboxTrigger

TZ = "Asia/Ho_Chi_Minh"  # every schedule, and "today", is Vietnam time
START = pendulum.datetime(2026, 1, 1, tz=TZ)
OWNER = "data-engineering"
TAGS = ["baocao"]

# The warehouse changed: the intake accepted files (extra: programme and periods touched).
WAREHOUSE = Asset(name="baocao_warehouse")
# Files dropped in an inbox: the triggerer lists the inboxes every few seconds and updates
# this asset once per burst of drops (see baocao.inbox_watch).
INBOX = Asset(name="baocao_inbox", watchers=[
    AssetWatcher(name="baocao_inbox_watch",
                 trigger=InboxTrigger(poll_seconds=2.0, settle_seconds=2.0,
                                      max_wait_seconds=20.0))])


def cron(expression: str) -> CronTriggerTimetable:
    """A cron schedule in Vietnam time."""
    return CronTriggerTimetable(expression, timezone=TZ)


def alert_engineers(context: dict[str, Any]) -> None:
    """E-mail the engineers when a task failed after its retries (throttled per problem)."""
    from baocao.alerts import notify_failure

    notify_failure(context)


def alert_over(context: dict[str, Any]) -> None:
    """A task that had failed succeeds: its problem is over (an outage gets a mail)."""
    from baocao.alerts import notify_recovery

    notify_recovery(context)


def default_args(*, retries: int = 3, retry_delay: timedelta = timedelta(minutes=1),
                 max_retry_delay: timedelta = timedelta(minutes=15),
                 execution_timeout: timedelta = timedelta(minutes=10)) -> dict[str, Any]:
    """Every task: retries with exponential backoff, a time limit per try, the engineers
    alerted when it still fails and told when it works again."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": max_retry_delay,
        "execution_timeout": execution_timeout,
        "on_failure_callback": alert_engineers,
        "on_success_callback": alert_over,
    }


def programme_param() -> Param:
    """The ``programme`` param: empty (scheduled runs) serves every active programme."""
    return Param("", type="string", pattern=r"^([a-z0-9][a-z0-9._-]*)?$",
                 description="Programme code such as ha-tinh; empty: every programme this "
                             "deployment has switched on (BAOCAO_PROGRAMMES)")


def period_param(empty_means: str) -> Param:
    """The ``period`` param (``2026-H1`` or ``2026-Y``); ``empty_means`` says what empty does."""
    return Param("", type="string", pattern=r"^(\d{4}-(H1|Y))?$",
                 description=f"Period code such as 2026-H1 or 2026-Y; empty: {empty_means}")


@task
def programmes(params=None) -> list[str]:
    """The programme of the run's param, or every active programme (read at run time): the
    list a DAG maps its work over, one task instance per programme."""
    from baocao.pipeline import active_programmes

    return active_programmes(params["programme"])
