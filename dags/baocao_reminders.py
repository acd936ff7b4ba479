"""
### baocao_reminders — reminders before each deadline

Every day at 08:00 (Asia/Ho_Chi_Minh), for each active programme in its own mapped task,
checks whether the day (Vietnam date) is 7 days or 2 days before one of the programme's
deadlines (20 June, 21 December with the common ones) or the day after one. On those days
every expected unit without an accepted report for the period (missing, rejected or
returned) gets an e-mail in Vietnamese with its blank form attached and its drop folder
`<programme>/inbox/<unit-code>/`; the day after the deadline the lead department gets the
list of missing and late units. Units with no e-mail address in the programme are listed in
the lead department's mail instead.

Each unit is reminded once per step: a re-run sends nothing new. A mail counts as sent only
once the SMTP server accepted it, so when the server is down the task retries and sends then.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from baocao.dag_defaults import START, TAGS, cron, default_args, programme_param, programmes


@dag(
    dag_id="baocao_reminders",
    schedule=cron("0 8 * * *"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    max_consecutive_failed_dag_runs=7,
    doc_md=__doc__,
    default_args=default_args(retries=4, retry_delay=timedelta(minutes=2),
                              max_retry_delay=timedelta(minutes=30),
                              execution_timeout=timedelta(minutes=20)),
    params={"programme": programme_param()},
    tags=[*TAGS, "reminders"],
)
def baocao_reminders():
    @task
    def send_reminders(programme: str, logical_date=None) -> list[dict]:
        """Send the reminder steps due on the run's Vietnam date."""
        from baocao.pipeline import send_reminders

        return send_reminders(programme, logical_date=logical_date)

    send_reminders.expand(programme=programmes())


baocao_reminders()
