"""Test setup: isolated Airflow home, bucket, outbox and warehouses (SQLite and PostgreSQL).

Environment is set at import time, before anything builds an ObjectStoragePath or loads
Airflow's configuration (see docs/toolchain.md: connections and paths are cached per process).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_TMP = Path(tempfile.mkdtemp(prefix="baocao-tests-"))
os.environ.update({
    "AIRFLOW_HOME": str(_TMP / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_TMP / 'airflow' / 'airflow.db'}",
    "GX_ANALYTICS_ENABLED": "False",
    "BAOCAO_WAREHOUSE_URL": f"sqlite:///{_TMP / 'warehouse.sqlite'}",
    "BAOCAO_BUCKET_URL": f"file://{_TMP / 'bucket'}",
    "BAOCAO_OUTBOX_URL": f"file://{_TMP / 'outbox'}",
    "BAOCAO_DATA_DOCS_DIR": str(_TMP / "data_docs"),
})
(_TMP / "airflow").mkdir(parents=True, exist_ok=True)

PG_BASE = os.environ.get("BAOCAO_TEST_POSTGRES",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


@pytest.fixture(scope="session")
def programme():
    from baocao.programme import load_programme

    return load_programme("lang-son")


def _postgres_available() -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_BASE)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_schema_url():
    """A fresh schema in the local PostgreSQL for this test run; dropped afterwards.

    Missing PostgreSQL fails the run when CI=true, and skips otherwise.
    """
    import sqlalchemy as sa

    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"baocao_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}", schema
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path):
    """A migrated, empty warehouse on each database (fresh per test)."""
    import sqlalchemy as sa

    from baocao.warehouse.db import get_engine, migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
        migrate(url)
        yield url
        get_engine(url).dispose()
        return
    base_url, base_schema = request.getfixturevalue("pg_schema_url")
    schema = f"{base_schema}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    migrate(url)
    yield url
    get_engine(url).dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB (SQLite) for dag.test()."""
    from airflow.utils import db

    db.resetdb()
    return True


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_conn(port: int) -> str:
    """An Airflow SMTP connection (JSON) to a plain server on loopback."""
    import json

    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0,
                                 "timeout": 5}})


@pytest.fixture
def smtp_server(monkeypatch):
    """A local SMTP server (aiosmtpd) on loopback behind the connection ``smtp_default``;
    ``.messages`` holds what it received as parsed e-mails with ``.rcpt_tos``."""
    import email
    from email import policy
    from types import SimpleNamespace

    from aiosmtpd.controller import Controller

    received: list = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: ARG002
            msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
            msg.rcpt_tos = list(envelope.rcpt_tos)
            received.append(msg)
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(port))
    yield SimpleNamespace(port=port, messages=received)
    controller.stop()
