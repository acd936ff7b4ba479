"""
### baocao_forms — publish every unit's blank form when a period opens

Every day at 06:00 (Asia/Ho_Chi_Minh) writes, for each period open that day (its data
cut-off has started and its deadline has not passed: the half-year and the year both open on
15 December under Decree 09/2019/NĐ-CP), every expected unit's blank form to
`templates/<period>/<unit-code>.xlsx` in the bucket, with `templates/<period>/README.txt`
listing the units and their drop folders `inbox/<unit-code>/`, in Vietnamese.

The first run after 15 December publishes the new year's forms; later runs rewrite nothing
unless the programme changed (new form version, units or tasks): forms are byte-reproducible
and a file whose bytes are already in the bucket is left alone, so a re-run changes nothing.
Set the `period` param (e.g. `2026-H1`) to publish one period by hand.
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
    dag_id="baocao_forms",
    schedule=CronTriggerTimetable("0 6 * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        "on_failure_callback": alert_engineers,
    },
    params={
        "programme": Param("lang-son", type="string", description="Programme code"),
        "period": Param("", type="string",
                        description="Period code such as 2026-H1; empty: the periods open "
                                    "on the run's date"),
    },
    tags=["baocao", "forms"],
)
def baocao_forms():
    @task
    def periods_to_publish(params=None, logical_date=None) -> list[str]:
        """The param's period, or every period open on the run's local date."""
        from baocao.pipeline import periods_to_publish

        return periods_to_publish(params["programme"], params["period"], logical_date)

    @task
    def publish_forms(period: str, params=None) -> dict:
        """Write the period's blank forms and index to templates/<period>/ (idempotent)."""
        from baocao.pipeline import publish_forms

        return publish_forms(params["programme"], period)

    publish_forms.expand(period=periods_to_publish())


baocao_forms()
