"""
### baocao_intake — answer every report file units drop in the bucket

Starts **within seconds of a drop**: the triggerer lists every active programme's inbox
every 2 s and updates the `baocao_inbox` asset once per burst of drops (files dropped within
a few seconds of each other make one run); every 5 minutes (Asia/Ho_Chi_Minh) a cron run is
the safety net. Then: apply warehouse migrations; for **each programme** (its own mapped
task, so one programme's failure or slowness does not hold the others) take each file from
`<programme>/inbox/<unit-code>/`, check it (structure, then the programme's rules with Great
Expectations), write a receipt in Vietnamese to `<programme>/receipts/<unit-code>/`, record
it in the warehouse (accepted files with all their numbers, in one transaction) and move the
original to `<programme>/archive/`. When something was accepted, the `baocao_warehouse`
asset is updated and the report DAG re-renders the drafts of the periods touched. A file
dropped in the bucket's old `inbox/<unit-code>/` (before the split by programme) gets a
receipt there saying where to put it.

A programme whose inbox holds more than `BAOCAO_INTAKE_SHARE_FILES` files (a national
period) is answered by several mapped tasks, each taking a share of the unit folders, so
several Celery workers share it.

A run started by the watcher serves the programmes that got files; a cron run every
programme switched on (`BAOCAO_PROGRAMMES`). The `programme` param runs one by hand.

If the bucket or the warehouse cannot be reached the tasks fail (after retries with backoff)
and the engineers get one e-mail, a reminder each hour while it lasts, and one when it is
over; nothing is marked processed that was not. Re-running is safe: a file already received
(same checksum) is answered "already received" and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, dag, task, task_group

from baocao.dag_defaults import (
    INBOX,
    START,
    TAGS,
    WAREHOUSE,
    cron,
    default_args,
    programme_param,
)


@dag(
    dag_id="baocao_intake",
    schedule=AssetOrTimeSchedule(timetable=cron("*/5 * * * *"), assets=[INBOX]),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    max_consecutive_failed_dag_runs=288,  # a day of failing 5-minute runs pauses it
    doc_md=__doc__,
    default_args=default_args(retries=3, retry_delay=timedelta(seconds=30),
                              max_retry_delay=timedelta(minutes=10),
                              execution_timeout=timedelta(minutes=10)),
    params={"programme": programme_param()},
    tags=[*TAGS, "intake"],
)
def baocao_intake():
    @task
    def programmes(params=None, triggering_asset_events=None) -> list[str]:
        """The programmes to answer: the param's, those the watcher saw files for, or all."""
        from baocao.pipeline import intake_targets

        return intake_targets(params["programme"], triggering_asset_events)

    @task
    def migrate_warehouse() -> dict:
        """Apply the warehouse's Alembic migrations (once per run, before any programme)."""
        from baocao.pipeline import migrate_warehouse

        return migrate_warehouse()

    @task
    def inbox_shares(programmes: list[str]) -> list[dict]:
        """One intake task per programme; a very large inbox (more than
        BAOCAO_INTAKE_SHARE_FILES files) is split into shares of unit folders."""
        from baocao.pipeline import intake_shares

        return intake_shares(programmes)

    @task(execution_timeout=timedelta(minutes=30))
    def process_inbox(share: dict, run_id=None) -> dict:
        """Mirror the programme's units, then claim, check, answer, record and archive
        every file in its inbox (or in its share's unit folders)."""
        from baocao.pipeline import intake_programme

        return intake_programme(share["programme"], run_id, share["share"], share["shares"])

    @task(outlets=[WAREHOUSE])
    def announce(summary: dict, outlet_events=None) -> None:
        """Update the warehouse asset with the programme and the periods touched; skipped
        (no asset event) when nothing was accepted."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary["periods"]:
            raise AirflowSkipException(f"{summary['programme']}: nothing accepted")
        outlet_events[WAREHOUSE].extra = {"programme": summary["programme"],
                                          "periods": summary["periods"]}

    @task
    def answer_misplaced() -> dict:
        """Answer files dropped in the bucket's old inbox/ with where they belong now."""
        from baocao.pipeline import sweep_misplaced

        return sweep_misplaced()

    @task_group
    def each_programme(share: dict):
        announce(process_inbox(share))

    migrate_warehouse() >> each_programme.expand(share=inbox_shares(programmes()))
    answer_misplaced()


baocao_intake()
