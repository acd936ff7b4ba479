"""
### baocao_intake — answer every report file units drop in the bucket

Every 5 minutes (Asia/Ho_Chi_Minh): apply warehouse migrations, then take each file from
`inbox/<unit-code>/`, check it (structure, then the programme's rules with Great
Expectations), write a receipt in Vietnamese to `receipts/<unit-code>/`, record it in the
warehouse (accepted files with all their numbers, in one transaction) and move the original
to `archive/`. When something was accepted, the `baocao_warehouse` asset is updated and the
report DAG re-renders the drafts of the periods touched.

If the bucket or the warehouse cannot be reached the tasks fail (after retries with backoff)
and the engineers get an e-mail; nothing is marked processed that was not.

Re-running is safe: a file already received (same checksum) is answered "already received"
and changes nothing. Logs say, per file, how many rules ran and failed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

WAREHOUSE = Asset(name="baocao_warehouse")
TZ = "Asia/Ho_Chi_Minh"


def alert_engineers(context) -> None:
    """E-mail the engineers when a task failed after its retries."""
    from baocao.alerts import notify_failure

    notify_failure(context)


@dag(
    dag_id="baocao_intake",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone=TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": alert_engineers,
    },
    params={"programme": Param("lang-son", type="string", description="Programme code")},
    tags=["baocao", "intake"],
)
def baocao_intake():
    @task
    def prepare_warehouse(params=None) -> dict:
        """Apply Alembic migrations and mirror the programme's units into the warehouse."""
        from baocao.pipeline import prepare_warehouse

        return prepare_warehouse(params["programme"])

    @task
    def process_inbox(prepared: dict, run_id=None) -> dict:
        """Claim, check, answer, record and archive every file in the inbox."""
        from baocao.pipeline import intake_inbox

        return intake_inbox(prepared["programme"], run_id)

    @task.short_circuit
    def anything_accepted(summary: dict) -> bool:
        """Go on to announce the warehouse change only if a file was accepted."""
        return bool(summary["periods"])

    @task(outlets=[WAREHOUSE])
    def announce(summary: dict, outlet_events=None) -> None:
        """Update the warehouse asset with the programme and the periods touched."""
        outlet_events[WAREHOUSE].extra = {"programme": summary["programme"],
                                          "periods": summary["periods"]}

    summary = process_inbox(prepare_warehouse())
    anything_accepted(summary) >> announce(summary)


baocao_intake()
