"""
### baocao_reports — drafts of the consolidated report

Renders a **draft** of a programme's report (.docx in the administrative format of Decree
30/2020/NĐ-CP, marked "BẢN DỰ THẢO") and its annexes (.xlsx: Biểu 01, Biểu 02, each form by
unit, submission status, warnings) from the warehouse into the outbox under
`reports/<programme>/<period>/du-thao/`, numbered v1, v2, … A new version is written only when
the content changed, and a draft is dated by its data (the day of the last file received for
the period, the "số liệu đến" it states), so a re-run, or a run that starts late, adds
nothing; nothing is overwritten.

Runs each time the intake updates the `baocao_warehouse` asset (for the programmes and
periods it touched) and every day at 07:00 (Asia/Ho_Chi_Minh) for every active programme:
for the periods whose deadline is 1 to 7 days ahead (13–19 June and 14–20 December with the
common deadlines). Each programme renders in its own mapped task. By hand: the `programme`
and `period` params (e.g. `ha-tinh`, `2026-Y`). The finals are made by
`baocao_reports_final`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, dag, task

from baocao.dag_defaults import (
    START,
    TAGS,
    WAREHOUSE,
    cron,
    default_args,
    period_param,
    programme_param,
)


@dag(
    dag_id="baocao_reports",
    schedule=AssetOrTimeSchedule(timetable=cron("0 7 * * *"), assets=[WAREHOUSE]),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    max_consecutive_failed_dag_runs=20,
    doc_md=__doc__,
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=1),
                              max_retry_delay=timedelta(minutes=10),
                              execution_timeout=timedelta(minutes=5)),
    params={"programme": programme_param(),
            "period": period_param("the periods the warehouse update touched, or those "
                                   "due within 7 days")},
    tags=[*TAGS, "reports"],
)
def baocao_reports():
    @task
    def targets(params=None, triggering_asset_events=None) -> list[dict]:
        """One item per programme to render: its periods, or None for those due."""
        from baocao.pipeline import report_targets

        return report_targets(params["programme"], params["period"], triggering_asset_events)

    @task(execution_timeout=timedelta(minutes=20))
    def render(target: dict, logical_date=None) -> list[dict]:
        """Render one programme's drafts (.docx and .xlsx) into the outbox."""
        from baocao.pipeline import render_drafts

        return render_drafts(target["programme"], target["periods"], logical_date)

    render.expand(target=targets())


baocao_reports()
