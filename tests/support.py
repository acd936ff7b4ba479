"""Helpers shared by the test modules of both lanes (tests/unit, tests/integration).

A plain module on pytest's ``pythonpath`` (``from support import ...``); fixtures live in the
conftest.py files. Paths here are the repository's, wherever a test module sits.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
PROGRAMMES = ROOT / "include" / "programmes"
DATA = Path(__file__).resolve().parent / "data"  # files shared by both lanes
# seconds for ``airflow standalone`` to answer its health check: ≈14 s on an idle machine;
# the shared CI machine can be much slower
HEALTH_TIMEOUT = 180

# the local PostgreSQL of the warehouse tests (a fresh schema per run)
PG_BASE = os.environ.get("BAOCAO_TEST_POSTGRES",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_problem() -> str | None:
    """Why the local PostgreSQL cannot be used (its first error line), or None."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_BASE)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_conn(port: int) -> str:
    """An Airflow SMTP connection (JSON) to a plain server on loopback."""
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0,
                                 "timeout": 5}})


def put(path, data: bytes, when: datetime | None = None):
    """Write a file (an ObjectStoragePath on ``file://`` or a Path), its folders made, its
    modification time (the arrival time on a local bucket) set to ``when`` if given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when is not None:
        local = path.path if hasattr(path, "protocol") else str(path)
        os.utime(local, (when.timestamp(), when.timestamp()))
    return path


def drop(root, unit: str, name: str, data: bytes, when: datetime | None = None):
    """Put a file in ``root``'s ``inbox/<unit>/<name>`` (see ``put``)."""
    return put(root / "inbox" / unit / name, data, when)


@contextlib.contextmanager
def baocao_settings(**values: Any) -> Iterator[None]:
    """``BAOCAO_<NAME>`` set from ``name=value`` and the settings re-read, for the block;
    the environment and the settings are restored after it (for module-scoped fixtures;
    tests use the ``baocao_env`` fixture)."""
    from baocao.config import settings

    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in values.items():
                mp.setenv(f"BAOCAO_{key.upper()}", str(value))
            settings.cache_clear()
            yield
    finally:
        settings.cache_clear()


def seed_submission(engine, prog, period_code: str, unit_code: str,
                    values: dict[tuple[str, str, str], float],
                    status: str = "accepted") -> int:
    """One submission of ``unit_code`` for the period written straight into the warehouse
    (current when accepted) with ``values`` keyed by (indicator, row, column); its id."""
    from sqlalchemy import insert

    from baocao.warehouse.models import FactValue, Submission

    period = prog.period(period_code)
    unit = prog.unit(unit_code, period.deadline)
    when = datetime(period.deadline.year, period.deadline.month, 1, tzinfo=UTC)
    accepted = status == "accepted"
    with engine.begin() as conn:
        sid = conn.execute(insert(Submission).values(
            programme=prog.code, period=period.code, unit_code=unit.code,
            unit_valid_from=unit.valid_from, file_name=f"{unit.code}.xlsx",
            bucket_path=f"inbox/{unit.code}/{unit.code}.xlsx", checksum=uuid.uuid4().hex,
            size_bytes=1, received_at=when, processed_at=when, status=status,
            version=1 if accepted else None, is_current=accepted, late=False,
        ).returning(Submission.id)).scalar_one()
        if values:
            conn.execute(insert(FactValue), [
                {"submission_id": sid, "sheet": "s", "cell": "A1", "indicator": ind,
                 "row_key": row, "col_key": col, "value": value, "computed": False}
                for (ind, row, col), value in values.items()])
    return sid


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5,
             errors: tuple[type[BaseException], ...] = ()) -> Any:
    """Call ``check`` until it returns something true (returned) or ``timeout`` seconds
    pass (AssertionError naming ``what``); HTTP errors, OSError, KeyError and ``errors``
    count as not yet."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, OSError, KeyError, *errors):
            result = None
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_process_tree(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM a process and all its descendants, wait up to ``grace`` seconds, SIGKILL what
    is left. ``airflow standalone``'s parts run in their own sessions (a process-group kill
    misses them) and the scheduler keeps running 15–30 s after SIGTERM."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _gone, alive = psutil.wait_procs(family, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=10)
    print(f"stopped {len(family)} processes, {len(alive)} of them with SIGKILL")
    proc.wait(timeout=10)


def bucket_files(bucket: Path) -> dict[str, bytes]:
    """Every file below a local bucket by its NFC key; a receipt without its processing
    time, which differs from run to run (to compare two runs' buckets)."""
    import unicodedata

    out = {}
    for path in sorted(p for p in bucket.rglob("*") if p.is_file()):
        key = unicodedata.normalize("NFC", str(path.relative_to(bucket)))
        data = path.read_bytes()
        if key.startswith("receipts/"):
            text = data.decode("utf-8")
            head, _, rest = text.partition("<dt>Thời điểm xử lý</dt><dd>")
            data = (head + rest.partition("</dd>")[2]).encode("utf-8")
        out[key] = data
    return out


@contextlib.contextmanager
def pg_schema(base_url: str, name: str) -> Iterator[str]:
    """A new, migrated warehouse in schema ``name`` of the PostgreSQL at ``base_url`` (its
    URL), dropped afterwards."""
    import sqlalchemy as sa

    from baocao.warehouse.db import get_engine, migrate

    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    url = f"{base_url}?options=-csearch_path%3D{name}"
    try:
        migrate(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
