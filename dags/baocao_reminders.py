"""
### baocao_reminders — reminders before each deadline

Every day at 08:00 (Asia/Ho_Chi_Minh) checks whether today is 7 days or 2 days before a
deadline (20 June, 21 December) or the day after one. On those days every expected unit
without an accepted report for the period (missing, rejected or returned) gets an e-mail in
Vietnamese with its blank form attached and its drop folder `inbox/<unit-code>/`; the day
after the deadline the lead department gets the list of missing and late units. Units with no
e-mail address in the programme are listed in the lead department's mail instead.

Each unit is reminded once per step: a re-run sends nothing new. A mail counts as sent only
once the SMTP server accepted it, so when the server is down the task retries and sends then.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

TZ = "Asia/Ho_Chi_Minh"


def alert_engineers(context) -> None:
    """E-mail the engineers when a task failed after its retries."""
    from baocao.alerts import notify_failure

    notify_failure(context)


@dag(
    dag_id="baocao_reminders",
    schedule=CronTriggerTimetable("0 8 * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 4,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": alert_engineers,
    },
    params={"programme": Param("lang-son", type="string", description="Programme code")},
    tags=["baocao", "reminders"],
)
def baocao_reminders():
    @task
    def send_reminders(params=None, logical_date=None) -> list[dict]:
        """Send the reminder steps due on the run's local date."""
        from baocao.pipeline import send_reminders

        day = pendulum.instance(logical_date).in_timezone(TZ).date().isoformat() \
            if logical_date else None  # a run without a logical date: today
        return send_reminders(params["programme"], day)

    send_reminders()


baocao_reminders()
