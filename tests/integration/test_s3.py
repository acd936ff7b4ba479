"""The production configuration natively: bucket and outbox on ``s3://`` (a moto server on
loopback, reached through an Airflow connection defined by environment variable) and the
warehouse on the local PostgreSQL.

The whole demo period goes through both DAGs (``dag.test()``) and must give the same
warehouse as the same pipeline on a ``file://`` bucket; then the object store is stopped in
the middle of an intake run and restarted: the run fails loudly, and its retry processes
every file exactly once.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from _moto import MotoS3
from support import DAGS, free_port
from support import baocao_settings as configured

from baocao.timezone import VN_TZ

# the module's DAG runs on S3 and on files (minutes) count in its first tests' time
pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.slow,
              pytest.mark.timeout(900)]
PERIOD = "2026-H1"
CONN_ID = "baocao_s3_test"
MOTO = MotoS3(free_port())
# Defined at import time, before anything builds an ObjectStoragePath with this conn_id
# (docs/toolchain.md: a path built earlier would cache an empty connection for the process).
os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = MOTO.connection_json()


@pytest.fixture(scope="module")
def moto():
    MOTO.start()
    yield MOTO
    MOTO.stop()


@pytest.fixture(scope="module")
def pg_schemas(pg_schema_url):
    """Make fresh schemas in the local PostgreSQL (dropped at the end); their URLs."""
    base_url, base_schema = pg_schema_url
    server = base_url.split("?", 1)[0]
    admin = sa.create_engine(server)
    made: list[str] = []

    def make() -> str:
        schema = f"{base_schema}_{uuid.uuid4().hex[:6]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{server}?options=-csearch_path%3D{schema}"

    yield make
    from baocao.warehouse.db import get_engine

    get_engine.cache_clear()
    with admin.begin() as conn:
        for schema in made:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def s3_settings(moto: MotoS3, warehouse: str, tag: str) -> dict[str, str]:
    """Fresh intake and outbox buckets in moto, and the settings that point at them."""
    bucket, outbox = f"baocao-intake-{tag}", f"baocao-outbox-{tag}"
    for name in (bucket, outbox):
        moto.client().create_bucket(Bucket=name)
    return {"warehouse_url": warehouse, "bucket_url": f"s3://{bucket}",
            "outbox_url": f"s3://{outbox}", "bucket_conn_id": CONN_ID}


def warehouse_snapshot(url: str) -> list[tuple]:
    """Per submission: unit, period, file, status, version, current, values and their sum."""
    from baocao.warehouse.db import get_engine

    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select s.unit_code, s.period, s.file_name, s.status, s.version, s.is_current, "
            "count(f.id), coalesce(sum(f.value), 0) from submissions s "
            "left join fact_values f on f.submission_id = s.id "
            "group by s.id order by s.unit_code, s.file_name"))]


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture(scope="module")
def file_run(pg_schemas, tmp_path_factory):
    """The reference: the same demo period through the pipeline on a ``file://`` bucket."""
    from baocao import demo, pipeline

    tmp = tmp_path_factory.mktemp("file-run")
    url = pg_schemas()
    with configured(warehouse_url=url, bucket_url=f"file://{tmp / 'bucket'}",
                    outbox_url=f"file://{tmp / 'outbox'}"):
        pipeline.prepare_warehouse("lang-son")
        demo.seed_demo("lang-son", PERIOD)
        summary = pipeline.intake_inbox("lang-son", "file-run")
    return summary, warehouse_snapshot(url)


@pytest.fixture(scope="module")
def s3_run(moto, dags, pg_schemas):
    """The demo period through both DAGs with the bucket and the outbox on S3."""
    from baocao import demo

    cfg = s3_settings(moto, pg_schemas(), "e2e")
    bucket = cfg["bucket_url"].removeprefix("s3://")
    with configured(**cfg):
        seeded = demo.seed_demo("lang-son", PERIOD)
        listed = moto.client().list_objects_v2(Bucket=bucket,
                                               Prefix="lang-son/inbox/")["Contents"]
        # keys relative to the programme's folder, as the warehouse records them
        arrivals = {o["Key"].removeprefix("lang-son/"): o["LastModified"] for o in listed}
        run = dags["baocao_intake"].test(run_conf={"programme": "lang-son"})
        assert run.state == "success"
        run = dags["baocao_reports"].test(run_conf={"programme": "lang-son", "period": PERIOD})
        assert run.state == "success"
    return cfg, seeded, arrivals


def test_intake_dag_retries_with_exponential_backoff(dags):
    for task in dags["baocao_intake"].tasks:
        assert task.retries >= 3 and task.retry_exponential_backoff, task.task_id
        assert task.max_retry_delay is not None, task.task_id


def test_s3_run_matches_the_file_run(s3_run, file_run, moto):
    cfg, seeded, arrivals = s3_run
    _summary, reference = file_run
    assert warehouse_snapshot(cfg["warehouse_url"]) == reference
    bucket = cfg["bucket_url"].removeprefix("s3://")
    assert moto.keys(bucket, "lang-son/inbox/") == []
    receipts = moto.keys(bucket, "lang-son/receipts/")
    archived = moto.keys(bucket, "lang-son/archive/")
    assert len(receipts) == len(archived) == len(arrivals) == seeded["files"]
    assert all(k.endswith(".html") for k in receipts)
    assert len([k for k in archived
                if k.startswith(f"lang-son/archive/rejected/{seeded['bad']}/")]) == 1
    assert len([k for k in archived
                if k.startswith(f"lang-son/archive/accepted/{seeded['resubmitted']}/")]) == 2
    html = moto.client().get_object(
        Bucket=bucket, Key=next(k for k in receipts if f"/{seeded['bad']}/" in k))
    assert "BỊ TỪ CHỐI" in html["Body"].read().decode("utf-8")
    outbox = cfg["outbox_url"].removeprefix("s3://")
    reports = [k for k in moto.keys(outbox) if f"bao-cao-lang-son-{PERIOD}" in k]
    assert sorted(k.rsplit(".", 1)[1] for k in reports) == ["docx", "xlsx"]
    for key in reports:  # both are zip packages (Office Open XML)
        assert moto.client().get_object(Bucket=outbox, Key=key)["Body"].read(2) == b"PK"


def test_s3_received_at_is_the_upload_time(s3_run, programme):
    """On S3 a file's arrival time is its LastModified (set by the store, not by seed_demo):
    lateness follows it. Demo files uploaded now, after the deadline, are all late."""
    from baocao.warehouse.db import get_engine

    cfg, _seeded, arrivals = s3_run
    deadline = programme.period(PERIOD).deadline
    with get_engine(cfg["warehouse_url"]).connect() as conn:
        rows = conn.execute(sa.text("select bucket_path, received_at, late from submissions"))
        found = {r.bucket_path: (r.received_at, r.late) for r in rows}
    assert set(found) == set(arrivals)
    for key, (received_at, late) in found.items():
        assert received_at == arrivals[key].astimezone(UTC)
        assert late == (arrivals[key].astimezone(VN_TZ).date() > deadline)


def test_s3_second_run_changes_nothing(s3_run, dags, moto):
    from baocao import demo

    cfg, seeded, arrivals = s3_run
    bucket = cfg["bucket_url"].removeprefix("s3://")
    before = warehouse_snapshot(cfg["warehouse_url"])
    receipts = set(moto.keys(bucket, "lang-son/receipts/"))
    with configured(**cfg):
        demo.seed_demo("lang-son", PERIOD)
        run = dags["baocao_intake"].test(run_conf={"programme": "lang-son"})
        assert run.state == "success"
    assert warehouse_snapshot(cfg["warehouse_url"]) == before
    assert moto.keys(bucket, "lang-son/inbox/") == []
    # every file sent again is answered "already received" and kept in archive/duplicates
    assert len(moto.keys(bucket, "lang-son/archive/duplicates/")) == seeded["files"]
    again = set(moto.keys(bucket, "lang-son/receipts/")) - receipts
    assert len(again) == len(arrivals)
    text = moto.client().get_object(Bucket=bucket, Key=sorted(again)[0])["Body"].read()
    assert "ĐÃ NHẬN TRƯỚC ĐÓ" in text.decode("utf-8")


@pytest.mark.parametrize("retry_run", ["run-1", "run-2"], ids=["task-retry", "next-run"])
def test_object_store_outage_mid_run(moto, pg_schemas, programme, monkeypatch, retry_run):
    """Stop the S3 server right after the 2nd file is archived: the six files were recorded
    in the warehouse together (one transaction for the chunk), the 3rd has no receipt and
    no archive copy yet. The run stops with a clear error; once the server is back, a retry
    (same run id, as an Airflow task retry) or the next run (another id) finishes every file
    exactly once: one submission, one receipt, one archived copy each."""
    from airflow.sdk import ObjectStoragePath

    from baocao import intake
    from baocao.demo import fill_form
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    tag = retry_run
    cfg = s3_settings(moto, pg_schemas(), f"outage-{tag}")
    bucket = cfg["bucket_url"].removeprefix("s3://")
    migrate(cfg["warehouse_url"])
    engine = get_engine(cfg["warehouse_url"])
    sync_programme(engine, programme)
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:6]
    root = ObjectStoragePath(cfg["bucket_url"], conn_id=CONN_ID)
    for unit in units:
        (root / "inbox" / unit.code / "Báo cáo.xlsx").write_bytes(
            fill_form(programme, unit, period))

    moved = []
    real_move = intake.move_key

    def move_then_outage(root, rel, to):
        real_move(root, rel, to)
        moved.append(rel)
        if len(moved) == 2:
            moto.stop()

    monkeypatch.setattr(intake, "move_key", move_then_outage)

    def count(sql: str) -> int:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()

    started = datetime.now(UTC)
    try:
        with pytest.raises(RuntimeError, match="unreachable"):
            intake.run_intake(programme, engine, root, "run-1")
    finally:
        if not moto.running:
            moto.start()
    assert (datetime.now(UTC) - started).total_seconds() < 60  # stops, does not crawl on
    assert count("select count(*) from submissions") == 6  # the chunk, recorded together
    assert count("select count(*) from intake_claims where done") == 2
    assert len(moto.keys(bucket, "inbox/")) == 4  # the 3rd on are recorded, not archived
    assert len(moto.keys(bucket, "receipts/")) == 2

    monkeypatch.setattr(intake, "move_key", real_move)
    outcomes = intake.run_intake(programme, engine, root, retry_run)
    assert sorted(o.status for o in outcomes) == ["accepted"] * 4
    assert count("select count(*) from submissions") == 6
    assert count("select count(distinct checksum) from submissions") == 6
    assert count("select count(*) from intake_claims where not done") == 0
    assert count("select count(*) from report_slots where current_submission_id is not null"
                 ) == 6
    assert count("select count(*) from (select submission_id, sheet, cell from fact_values "
                 "group by submission_id, sheet, cell having count(*) > 1) d") == 0
    assert moto.keys(bucket, "inbox/") == []
    receipts = moto.keys(bucket, "receipts/")
    archived = moto.keys(bucket, "archive/")
    assert len(receipts) == len(archived) == 6
    assert sorted(k.split("/")[1] for k in receipts) == sorted(u.code for u in units)
    assert intake.run_intake(programme, engine, root, "run-3") == []


def test_outages_are_told_apart_from_bad_files():
    import botocore.exceptions
    import sqlalchemy.exc

    from baocao.intake import unreachable

    down = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert unreachable(down)
    assert unreachable(sqlalchemy.exc.OperationalError("select 1", {}, Exception("restart")))
    assert unreachable(ConnectionRefusedError())
    try:
        try:
            raise down
        except botocore.exceptions.BotoCoreError as exc:
            raise OSError("write failed") from exc
    except OSError as wrapped:
        assert unreachable(wrapped)  # found through the cause chain
    assert not unreachable(ValueError("not a workbook"))
    assert not unreachable(KeyError("W_DEP"))


def test_missing_bucket_fails_loudly(moto, tmp_path):
    """A wrong bucket name must fail the intake task, not look like an empty inbox."""
    from baocao.pipeline import intake_inbox

    with configured(bucket_url="s3://no-such-bucket-baocao", bucket_conn_id=CONN_ID,
                    warehouse_url=f"sqlite:///{tmp_path / 'wh.sqlite'}"):
        from baocao.pipeline import prepare_warehouse

        prepare_warehouse("lang-son")
        with pytest.raises(RuntimeError, match="does not exist or is not accessible"):
            intake_inbox("lang-son", "run-missing")


def test_the_inbox_watcher_sees_drops_on_s3(moto):
    """The triggerer's listing works on s3:// as on file://: every poll asks the store
    again (s3fs caches listings), new and re-sent objects are noticed, old ones are not."""
    from baocao.inbox_watch import InboxWatch, event_payload

    cfg = s3_settings(moto, "sqlite://", "watch")
    bucket = cfg["bucket_url"].removeprefix("s3://")
    with configured(**cfg, programmes="lang-son,ha-tinh"):
        watch = InboxWatch()
        assert watch.poll() == {}
        moto.client().put_object(Bucket=bucket, Key="lang-son/inbox/SNV/a.xlsx", Body=b"1")
        moto.client().put_object(Bucket=bucket, Key="lang-son/receipts/SNV/a.html", Body=b"r")
        assert event_payload(watch.poll()) == {"files": 1, "programmes": ["lang-son"],
                                               "old_place": False}
        assert watch.poll() == {}
        moto.client().put_object(Bucket=bucket, Key="ha-tinh/inbox/SNV/b.xlsx", Body=b"2")
        moto.client().put_object(Bucket=bucket, Key="inbox/SNV/c.xlsx", Body=b"3")
        assert event_payload(watch.poll()) == {"files": 2, "programmes": ["ha-tinh"],
                                               "old_place": True}
        moto.client().put_object(Bucket=bucket, Key="lang-son/inbox/SNV/a.xlsx", Body=b"4")
        assert len(watch.poll()) == 1  # the same name sent again
        moto.stop()
        try:
            assert watch.poll() == {} and watch.failing  # the store down: no crash
        finally:
            moto.start()
        assert watch.poll() == {} and not watch.failing
