"""
### baocao_reports — the consolidated half-year and annual reports

Renders the province's report (.docx in the administrative format of Decree 30/2020/NĐ-CP)
and its annexes (.xlsx: Biểu 01, Biểu 02, each form by unit, submission status, warnings)
from the warehouse, and stores them in the outbox under `<programme>/<period>/`.

Runs (Asia/Ho_Chi_Minh) at 07:00 on 21 June and 22 December, the mornings after the units'
deadlines of 20 June and 21 December, for the period just closed; and as a draft each time
the intake updates the `baocao_warehouse` asset, for the periods it touched. Triggered by
hand, the `period` param (e.g. `2026-H1`, `2026-Y`) picks the period.
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


@dag(
    dag_id="baocao_reports",
    schedule=AssetOrTimeSchedule(
        timetable=MultipleCronTriggerTimetable("0 7 21 6 *", "0 7 22 12 *", timezone=TZ),
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
        """The (programme, period) pairs to render for this run."""
        from baocao.pipeline import periods_to_render

        return periods_to_render(params["programme"], params["period"],
                                 triggering_asset_events, logical_date)

    @task
    def render(target: dict) -> dict:
        """Render one period's .docx and .xlsx into the outbox."""
        from baocao.pipeline import render_reports

        return render_reports(target["programme"], target["period"])

    render.expand(target=periods_to_render())


baocao_reports()
