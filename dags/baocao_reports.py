"""
### baocao_reports — drafts of the consolidated report

Renders a **draft** of the province's report (.docx in the administrative format of Decree
30/2020/NĐ-CP, marked "BẢN DỰ THẢO") and its annexes (.xlsx: Biểu 01, Biểu 02, each form by
unit, submission status, warnings) from the warehouse into the outbox under
`reports/<programme>/<period>/du-thao/`, numbered v1, v2, … A new version is written only when
the content changed, so re-running adds nothing; nothing is ever overwritten.

Runs each time the intake updates the `baocao_warehouse` asset (for the periods it touched)
and every day at 07:00 (Asia/Ho_Chi_Minh) in the last 7 days before the deadlines of 20 June
and 21 December (13–19 June, 14–20 December), for the period being collected. Triggered by
hand, the `period` param (e.g. `2026-H1`, `2026-Y`) picks the period. The finals are made by
`baocao_reports_final`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    MultipleCronTriggerTimetable,
    Param,
    dag,
    task,
)

WAREHOUSE = Asset(name="baocao_warehouse")
TZ = "Asia/Ho_Chi_Minh"


def alert_engineers(context) -> None:
    """E-mail the engineers when a task failed after its retries."""
    from baocao.alerts import notify_failure

    notify_failure(context)


@dag(
    dag_id="baocao_reports",
    schedule=AssetOrTimeSchedule(
        timetable=MultipleCronTriggerTimetable("0 7 13-19 6 *", "0 7 14-20 12 *", timezone=TZ),
        assets=[WAREHOUSE],
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": alert_engineers,
    },
    params={
        "programme": Param("lang-son", type="string", description="Programme code"),
        "period": Param("", type="string", description="Period code; empty = the one due"),
    },
    tags=["baocao", "reports"],
)
def baocao_reports():
    @task
    def periods_to_render(params=None, triggering_asset_events=None, logical_date=None
                          ) -> list[dict]:
        """The (programme, period, report date) items to render for this run."""
        from baocao.pipeline import periods_to_render

        return periods_to_render(params["programme"], params["period"],
                                 triggering_asset_events, logical_date)

    @task
    def render(target: dict) -> dict:
        """Render one period's draft .docx and .xlsx into the outbox."""
        from baocao.pipeline import render_reports

        return render_reports(target["programme"], target["period"], target["report_date"],
                              kind="draft")

    render.expand(target=periods_to_render())


baocao_reports()
