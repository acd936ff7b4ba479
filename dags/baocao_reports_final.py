"""
### baocao_reports_final — the official half-year and annual reports

At 17:00 (Asia/Ho_Chi_Minh) on 20 June and 21 December, the days the province's reports are
due, renders the **final** report of the period (.docx in the format of Decree 30/2020/NĐ-CP
and the .xlsx annexes) from the warehouse into the outbox under
`reports/<programme>/<period>/chinh-thuc/`, then e-mails both files to the programme's
`report_emails` and the lead department through the Airflow SMTP connection
(`BAOCAO_SMTP_CONN_ID`, default `smtp_default`).

The files are stored before the mail is sent: if the SMTP server is down, `email_final`
retries with backoff and the report is in the outbox anyway. A re-run with unchanged data
writes nothing new and sends nothing twice; changed data (a late correction) gives version 2,
which is sent as such. Triggered by hand, the `period` param picks the period.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import MultipleCronTriggerTimetable, Param, dag, task

TZ = "Asia/Ho_Chi_Minh"


def alert_engineers(context) -> None:
    """E-mail the engineers when a task failed after its retries."""
    from baocao.alerts import notify_failure

    notify_failure(context)


@dag(
    dag_id="baocao_reports_final",
    schedule=MultipleCronTriggerTimetable("0 17 20 6 *", "0 17 21 12 *", timezone=TZ),
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
    params={
        "programme": Param("lang-son", type="string", description="Programme code"),
        "period": Param("", type="string", description="Period code; empty = the one due"),
    },
    tags=["baocao", "reports"],
)
def baocao_reports_final():
    @task
    def render_final(params=None, logical_date=None) -> dict:
        """Render and keep the period's final .docx and .xlsx in the outbox."""
        from baocao.pipeline import periods_to_render, render_reports

        target = periods_to_render(params["programme"], params["period"], None,
                                   logical_date)[0]
        return render_reports(target["programme"], target["period"], target["report_date"],
                              kind="final")

    @task
    def email_final(published: dict) -> dict:
        """E-mail the final to its recipients (once per version)."""
        from baocao.pipeline import email_final_report

        return email_final_report(published)

    email_final(render_final())


baocao_reports_final()
