"""Test setup shared by both lanes: isolated Airflow home, bucket, outbox and warehouse.

Environment is set at import time, before anything builds an ObjectStoragePath or loads
Airflow's configuration (see docs/toolchain.md: connections and paths are cached per process).

Lanes: ``tests/unit`` runs in-process with nothing but the virtualenv (no PostgreSQL, no
Airflow runs or metadata database, no servers, LibreOffice, Chromium or moto); everything
else is ``tests/integration`` and is marked ``integration`` here, plus ``postgres`` and
``airflow`` from the fixtures a test uses. The PostgreSQL and Airflow fixtures live in
tests/integration/conftest.py, so a unit test cannot use them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = Path(__file__).resolve().parent / "unit"
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


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    """``integration`` on every test outside tests/unit; ``postgres`` on tests using the
    local PostgreSQL through the fixtures, ``airflow`` on tests using Airflow's metadata DB
    (tests that start PostgreSQL or Airflow themselves carry the marker in their module)."""
    for item in items:
        if UNIT in item.path.parents:
            continue
        item.add_marker(pytest.mark.integration)
        params = getattr(getattr(item, "callspec", None), "params", {})
        # the "postgresql" case of a parametrized warehouse fixture (warehouse_url, fresh)
        on_postgres = any(isinstance(v, str) and v == "postgresql" for v in params.values())
        if "pg_schema_url" in item.fixturenames or on_postgres:
            item.add_marker(pytest.mark.postgres)
        if "airflow_db" in item.fixturenames:
            item.add_marker(pytest.mark.airflow)


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def tmp_root() -> Path:
    return _TMP


@pytest.fixture(scope="session")
def programme():
    from baocao.programme import load_programme

    return load_programme("lang-son")


@pytest.fixture
def baocao_env():
    """Set settings for one test: ``baocao_env(bucket_url="file://...")`` sets
    ``BAOCAO_BUCKET_URL`` and re-reads the settings (call it again to change more); the
    variables are restored and the settings re-read after the test."""
    from baocao.config import settings

    mp = pytest.MonkeyPatch()

    def use(**values) -> None:
        for key, value in values.items():
            mp.setenv(f"BAOCAO_{key.upper()}", str(value))
        settings.cache_clear()

    yield use
    mp.undo()
    settings.cache_clear()


@pytest.fixture
def smtp_server(monkeypatch):
    """A local SMTP server (aiosmtpd, a thread of this process) on loopback behind the
    connection ``smtp_default``; ``.messages`` holds what it received as parsed e-mails with
    ``.rcpt_tos``."""
    import email
    from email import policy
    from types import SimpleNamespace

    from aiosmtpd.controller import Controller
    from support import free_port, smtp_conn

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
