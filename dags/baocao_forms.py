"""
### baocao_forms — publish every unit's blank form when a period opens

Every day at 06:00 (Asia/Ho_Chi_Minh), for each active programme in its own mapped task,
writes for each period open that day (its data cut-off has started and its deadline plus
grace days has not passed: the half-year and the year both open on 15 December under Decree
09/2019/NĐ-CP) every expected unit's blank form to
`<programme>/templates/<period>/<unit-code>.xlsx` in the bucket, with
`<programme>/templates/<period>/README.txt` listing the units and their drop folders
`<programme>/inbox/<unit-code>/`, in Vietnamese.

The first run after 15 December publishes the new year's forms; later runs rewrite nothing
unless the programme changed (new form version, units or tasks): forms are byte-reproducible
and a file whose bytes are already in the bucket is left alone, so a re-run changes nothing.
Set the `period` param (e.g. `2026-H1`), and `programme` for one programme, to publish by
hand.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

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
    dag_id="baocao_forms",
    schedule=cron("0 6 * * *"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    max_consecutive_failed_dag_runs=7,
    doc_md=__doc__,
    default_args=default_args(retries=3, retry_delay=timedelta(minutes=1),
                              max_retry_delay=timedelta(minutes=15),
                              execution_timeout=timedelta(minutes=15)),
    params={"programme": programme_param(),
            "period": period_param("every period open on the run's date")},
    tags=[*TAGS, "forms"],
)
def baocao_forms():
    @task
    def publish_forms(programme: str, params=None, logical_date=None) -> list[dict]:
        """Write the open periods' blank forms and index (idempotent)."""
        from baocao.pipeline import publish_open_forms

        return publish_open_forms(programme, params["period"], logical_date)

    publish_forms.expand(programme=programmes())


baocao_forms()
