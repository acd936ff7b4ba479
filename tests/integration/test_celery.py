"""The intake DAG on a real Airflow 3 deployment with the CeleryExecutor, natively.

Starts, as subprocesses with their own AIRFLOW_HOME: a metadata database created for the test
in the local PostgreSQL (which also holds the Celery results and the warehouse's schema), the
local Redis as the Celery broker (a database number and a queue of its own), and ``airflow
api-server``, ``scheduler``, ``dag-processor`` and two ``celery worker``s. The inbox is split
into shares of unit folders (``BAOCAO_INTAKE_SHARE_FILES=1``: one mapped intake task per
file). A run of ``baocao_intake`` is triggered from the CLI; the test waits for it, then
checks that its task instances were executed by the Celery workers, that both workers
answered shares of the inbox, each share its own unit folders, and that the warehouse
received the files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import ROOT, free_port

# the deployment's start (a few minutes on a loaded machine) counts in the test's time
pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.slow,
              pytest.mark.timeout(900)]
PERIOD = "2026-H1"
REDIS = ("127.0.0.1", 6379)
TIMEOUT = 300  # seconds for the whole deployment to come up and run the DAG
LOCK_KEY = "baocao-test:celery-broker-lock"
INTAKE_TASKS = {"programmes", "migrate_warehouse", "inbox_shares",
                "each_programme.process_inbox", "each_programme.announce", "answer_misplaced"}
WORKERS = ("worker", "worker-2")


def _required(problem: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def redis_db() -> int:
    """A Redis database number for the broker, taken with a lock key so that concurrent test
    runs never share one; flushed afterwards."""
    import redis

    try:
        redis.Redis(*REDIS, socket_timeout=2).ping()
    except redis.RedisError as exc:
        _required(f"Redis is required and not reachable: {exc}")
    token = uuid.uuid4().hex
    for number in range(15, 0, -1):
        db = redis.Redis(*REDIS, db=number)
        if not db.set(LOCK_KEY, token, nx=True, ex=3600):
            continue
        if db.dbsize() == 1:
            yield number
            if db.get(LOCK_KEY) == token.encode():
                db.flushdb()
            return
        db.delete(LOCK_KEY)  # someone else's data is there
    _required("no free Redis database for the broker")


@pytest.fixture(scope="module")
def database(pg_schema_url):
    """A database of its own in the local PostgreSQL (Airflow's metadata, the Celery
    results and the warehouse's schema); dropped afterwards."""
    base_url, _schema = pg_schema_url
    server = base_url.split("?", 1)[0]
    name = f"airflow_celery_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA warehouse"))
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def bucket(tmp_path_factory, programme) -> tuple[Path, list[str]]:
    """A ``file://`` bucket with three communes' filled forms in the inbox."""
    from baocao.demo import fill_form

    root = tmp_path_factory.mktemp("celery") / "bucket"
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:3]
    for unit in units:
        path = root / "lang-son" / "inbox" / unit.code / f"Báo cáo {period.title}.xlsx"
        path.parent.mkdir(parents=True)
        path.write_bytes(fill_form(programme, unit, period))
    return root, [u.code for u in units]


class Deployment:
    """Airflow processes started for the test, each in its own process group."""

    def __init__(self, home: Path, env: dict[str, str], queue: str) -> None:
        self.home, self.env, self.queue = home, env, queue
        self.procs: dict[str, subprocess.Popen] = {}

    def airflow(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        log = (self.home / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.tail(name)}"

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in self.procs.values():  # children left behind in a group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, database, redis_db, bucket):
    home = tmp_path_factory.mktemp("airflow-celery")
    port = free_port()
    queue = f"baocao-test-{uuid.uuid4().hex[:8]}"  # this deployment's tasks only
    root, _units = bucket
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "BAOCAO_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": database,  # psycopg 3 is async too
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{database}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",  # two workers: one task at a time each
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "GX_ANALYTICS_ENABLED": "False",
        "BAOCAO_WAREHOUSE_URL": f"{database}?options=-csearch_path%3Dwarehouse",
        "BAOCAO_BUCKET_URL": f"file://{root}",
        "BAOCAO_PROGRAMMES": "lang-son",
        "BAOCAO_OUTBOX_URL": f"file://{root.parent / 'outbox'}",
        "BAOCAO_INTAKE_SHARE_FILES": "1",  # a share per file: the inbox split three ways
    })
    dep = Deployment(home, env, queue)
    dep.airflow("db", "migrate", timeout=300)
    try:
        dep.start("api-server", "api-server", "--port", str(port))
        dep.start("scheduler", "scheduler")
        dep.start("dag-processor", "dag-processor")
        for name in WORKERS:
            dep.start(name, "celery", "worker", "--skip-serve-logs",
                      "--queues", queue, "--celery-hostname", f"{name}-{queue}@%h")
        yield dep
    finally:
        dep.stop()
        for name in dep.procs:
            print(f"--- {name} (tail) ---\n{dep.tail(name, 1500)}")


def _wait(dep: Deployment, what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dep.check_alive()
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(
        f"--- {name} ---\n{dep.tail(name)}" for name in dep.procs))


def test_intake_runs_on_the_celery_worker(deployment, database, bucket):
    dep = deployment
    meta = sa.create_engine(database)
    started = time.monotonic()

    def one(sql: str, **params):
        try:
            with meta.connect() as conn:
                return conn.execute(sa.text(sql), params).first()
        except sa.exc.ProgrammingError:  # table not there yet
            return None

    _wait(dep, "the DAG to be parsed",
          lambda: one("select dag_id from dag where dag_id = 'baocao_intake'"), TIMEOUT)
    run_id = f"celery-test-{uuid.uuid4().hex[:6]}"
    dep.airflow("dags", "trigger", "baocao_intake", "--run-id", run_id,
                "--conf", json.dumps({"programme": "lang-son"}))
    dep.airflow("dags", "unpause", "baocao_intake")
    left = TIMEOUT - (time.monotonic() - started)
    state = _wait(dep, f"run {run_id} to finish", lambda: one(
        "select state from dag_run where run_id = :r and state in ('success', 'failed')",
        r=run_id), left)
    with meta.connect() as conn:
        tis = conn.execute(sa.text(
            "select task_id, map_index, state, queue, hostname, external_executor_id from "
            "task_instance where dag_id = 'baocao_intake' and run_id = :r"),
            {"r": run_id}).all()
    assert state[0] == "success", (tis, dep.tail("worker"), dep.tail("worker-2"))
    ran = {(t.task_id, t.map_index): t for t in tis if t.state == "success"}
    assert {"migrate_warehouse", "inbox_shares", "each_programme.process_inbox"} <= \
        {task for task, _ in ran} <= INTAKE_TASKS

    def celery_results():  # the last task's result is stored just after its state
        with meta.connect() as conn:
            found = dict(conn.execute(sa.text("select task_id, status from celery_taskmeta"))
                         .tuples().all())
        done = all(found.get(t.external_executor_id) == "SUCCESS" for t in ran.values())
        return found if done else None

    results = _wait(dep, "the Celery results", celery_results, 60)
    logs = {name: dep.tail(name, 10**7) for name in WORKERS}
    for ti in ran.values():
        # queued by the CeleryExecutor, executed by a worker, result stored by Celery
        assert ti.queue == dep.queue and ti.hostname
        assert results.get(ti.external_executor_id) == "SUCCESS", ti
        line = f"[{ti.external_executor_id}] Executing workload in Celery"
        assert [name for name, text in logs.items() if line in text], ti
        assert any(f"task_id='{ti.task_id}'" in text for text in logs.values())

    root, units = bucket
    wh = sa.create_engine(f"{database}?options=-csearch_path%3Dwarehouse")
    with wh.connect() as conn:
        got = conn.execute(sa.text("select unit_code, status from submissions")).all()
        claims = conn.execute(sa.text("select path, claimed_by from intake_claims")).all()
    wh.dispose()
    assert sorted(got) == sorted((u, "accepted") for u in units)
    # the run that answered the files (this one, or the cron run that unpausing starts)
    # split the inbox three ways (BAOCAO_INTAKE_SHARE_FILES=1), and both workers took shares
    answering = {c.claimed_by.rsplit("#", 1)[0] for c in claims}
    assert len(answering) == 1, claims
    _wait(dep, "every run to end", lambda: one(
        "select count(*) = 0 from dag_run where dag_id = 'baocao_intake' and state in "
        "('queued', 'running')")[0], 120)
    with meta.connect() as conn:
        shares = conn.execute(sa.text(
            "select map_index, state, external_executor_id from task_instance where dag_id = "
            "'baocao_intake' and run_id = :r and task_id = 'each_programme.process_inbox'"),
            {"r": answering.pop()}).all()
    meta.dispose()
    assert sorted((t.map_index, t.state) for t in shares) == \
        [(0, "success"), (1, "success"), (2, "success")]
    logs = {name: dep.tail(name, 10**7) for name in WORKERS}
    for name, text in logs.items():
        assert any(f"[{t.external_executor_id}] Executing workload in Celery" in text
                   for t in shares), name
    from baocao.intake import share_of

    # each file was claimed by the intake of its unit's share (run id '<run>#k/3')
    assert sorted(c.claimed_by.rsplit("#", 1)[1] for c in claims) == sorted(
        f"{share_of(c.path.split('/')[1], 3) + 1}/3" for c in claims)
    assert len(claims) == len(units)
    assert not any((root / "lang-son" / "inbox").rglob("*.xlsx"))
    assert len(list((root / "lang-son" / "receipts").rglob("*.html"))) == len(units)
