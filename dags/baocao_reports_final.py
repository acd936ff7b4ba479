"""
### baocao_reports_final — the official half-year and annual reports

Every day at 17:00 (Asia/Ho_Chi_Minh), for each active programme in its own mapped task:
every period whose final is **due** (deadline reached — 20 June and 21 December with the
common deadlines — and the late-file grace days not over) and not made yet is rendered
(.docx in the format of Decree 30/2020/NĐ-CP and the .xlsx annexes) from the warehouse into
the outbox under `reports/<programme>/<period>/chinh-thuc/`, dated on the deadline, then
e-mailed to the programme's `report_emails` and the lead department through the Airflow
SMTP connection (`BAOCAO_SMTP_CONN_ID`, default `smtp_default`). A run missed on the
deadline day (scheduler down) catches up the next day.

The files are stored before the mail is sent: if the SMTP server is down, `email_final`
retries with backoff and the report is in the outbox anyway. A re-run writes nothing new and
sends nothing twice. By hand, the `period` param (with `programme`, or for every programme)
renders that period's final again: changed data (a late correction) gives version 2, which
is sent as such.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task, task_group

from baocao.dag_defaults import (
    START,
    TAGS,
    cron,
    default_args,
    period_param,
    programme_param,
    programmes,
)


@dag(
    dag_id="baocao_reports_final",
    schedule=cron("0 17 * * *"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    max_consecutive_failed_dag_runs=5,
    doc_md=__doc__,
    default_args=default_args(retries=4, retry_delay=timedelta(minutes=2),
                              max_retry_delay=timedelta(minutes=30),
                              execution_timeout=timedelta(minutes=20)),
    params={"programme": programme_param(),
            "period": period_param("every period whose final is due on the run's date")},
    tags=[*TAGS, "reports"],
)
def baocao_reports_final():
    @task
    def render_final(programme: str, params=None, logical_date=None) -> list[dict]:
        """Render and keep the finals due (or the param's period) in the outbox."""
        from baocao.pipeline import render_finals

        return render_finals(programme, params["period"], logical_date)

    @task(execution_timeout=timedelta(minutes=10))
    def email_final(published: list[dict]) -> list[dict]:
        """E-mail each final to its recipients (once per version)."""
        from baocao.pipeline import email_finals

        return email_finals(published)

    @task_group
    def each_programme(programme: str):
        email_final(render_final(programme))

    each_programme.expand(programme=programmes())


baocao_reports_final()
