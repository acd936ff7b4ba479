"""Failure alerts during an outage: once when it starts, then hourly while it lasts, and once
when it is over; mails go to a local SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from baocao.alerts import OUTAGE, notify_failure, notify_recovery, problem_key

T0 = datetime(2026, 12, 21, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam


class MemoryState:
    """The alert state in memory (Airflow's Variable in production)."""

    def __init__(self) -> None:
        self.value: dict = {}

    def load(self) -> dict:
        return {k: dict(v) for k, v in self.value.items()}

    def save(self, state: dict) -> None:
        self.value = state


class BrokenState:
    def load(self) -> dict:
        raise ConnectionError("metadata database down")

    def save(self, state: dict) -> None:
        raise AssertionError("not reached")


@pytest.fixture
def engineers(baocao_env, smtp_server):
    baocao_env(engineers_email="kythuat@example.vn")
    return smtp_server


def _context(task_id: str, error: BaseException | None, run: str = "r") -> dict:
    ti = SimpleNamespace(dag_id="baocao_intake", task_id=task_id, run_id=run, try_number=4,
                         log_url="")
    return {"ti": ti, "exception": error}


def _outage(run: str) -> dict:
    """What the intake raises when the bucket is down: the cause is botocore's error."""
    try:
        try:
            raise type("EndpointConnectionError", (ConnectionError,), {})("minio:9000")
        except ConnectionError as exc:
            raise RuntimeError("object store or warehouse unreachable at inbox/X") from exc
    except RuntimeError as exc:
        return _context("each_programme.process_inbox", exc, run)


def test_an_outage_alerts_once_then_hourly_then_when_it_is_over(engineers):
    state = MemoryState()
    assert problem_key(_outage("r0")) == OUTAGE
    # every 5 minutes for 70 minutes the intake fails: one mail, then one after an hour
    sent = [notify_failure(_outage(f"r{n}"), state, T0 + timedelta(minutes=5 * n))
            for n in range(15)]
    assert sent == [True] + [False] * 11 + [True] + [False] * 2
    first, again = engineers.messages
    assert "Lỗi tác vụ baocao_intake.each_programme.process_inbox (r0)" in first["Subject"]
    assert "vẫn tiếp diễn, 11 lần lỗi" in again["Subject"]
    assert "từ 08:00 ngày 21/12/2026" in again.get_body(("html",)).get_content()
    # another task of another DAG hitting the same outage does not mail either
    other = _outage("x")
    other["ti"].dag_id, other["ti"].task_id = "baocao_reports", "render"
    assert notify_failure(other, state, T0 + timedelta(minutes=71)) is False
    # a task that succeeds but never failed says nothing
    assert notify_recovery(_context("programmes", None), state,
                           T0 + timedelta(minutes=72)) is False
    # the intake works again: one mail saying it is over, and the memory is cleared
    assert notify_recovery(_context("each_programme.process_inbox", None, "r20"), state,
                           T0 + timedelta(minutes=75)) is True
    over = engineers.messages[-1]
    assert "Đã hoạt động lại" in over["Subject"]
    body = over.get_body(("html",)).get_content()
    assert "khoảng 75 phút" in body and "08:00 ngày 21/12/2026" in body
    assert state.value == {}
    # the next outage alerts at once
    assert notify_failure(_outage("r30"), state, T0 + timedelta(minutes=80)) is True
    assert len(engineers.messages) == 4


def test_other_failures_are_throttled_per_task_and_error(engineers):
    state = MemoryState()
    bad = _context("each_programme.process_inbox", ValueError("no programme 'x'"))
    assert notify_failure(bad, state, T0) is True
    assert notify_failure(bad, state, T0 + timedelta(minutes=5)) is False
    # a different error, or the same error in another task, alerts at once
    assert notify_failure(_context("each_programme.process_inbox", KeyError("y")), state,
                          T0 + timedelta(minutes=6)) is True
    assert notify_failure(_context("programmes", ValueError("no programme 'x'")), state,
                          T0 + timedelta(minutes=7)) is True
    # success of the task clears its problems silently (only an outage's end is mailed)
    assert notify_recovery(_context("each_programme.process_inbox", None), state,
                           T0 + timedelta(minutes=8)) is False
    assert notify_failure(bad, state, T0 + timedelta(minutes=9)) is True
    assert len(engineers.messages) == 4


def test_without_its_memory_the_alert_is_sent_anyway(engineers):
    assert notify_failure(_outage("r1"), BrokenState(), T0) is True
    assert notify_failure(_outage("r2"), BrokenState(), T0) is True
    assert len(engineers.messages) == 2
    assert notify_recovery(_context("x", None), BrokenState(), T0) is False  # never raises


PROBE = """
from airflow.sdk import Param, dag, task

from baocao.dag_defaults import START, default_args


@dag(dag_id="baocao_alert_probe", schedule=None, start_date=START,
     default_args=default_args(retries=0), params={"down": Param(True, type="boolean")})
def probe():
    @task
    def read_bucket(params=None):
        if params["down"]:
            raise ConnectionError("minio:9000 refused the connection")

    read_bucket()


probe()
"""


@pytest.mark.airflow
def test_task_callbacks_keep_their_memory_in_an_airflow_variable(airflow_db, engineers,
                                                                  tmp_path):
    """Through Airflow: the shared default_args' callbacks, their state in the Variable."""
    import json

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.variable import Variable  # the metadata DB's row, outside a task

    from baocao.alerts import STATE_VARIABLE

    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, bundle_name="dags-folder", bundle_version=None)
    dag_ = bag.dags["baocao_alert_probe"]
    assert dag_.test().state == "failed"
    assert dag_.test().state == "failed"
    assert len(engineers.messages) == 1  # the second failure of the outage: no mail
    state = json.loads(Variable.get(STATE_VARIABLE))
    assert state[OUTAGE]["repeated"] == 1
    assert state[OUTAGE]["tasks"] == ["baocao_alert_probe.read_bucket"]
    assert dag_.test(run_conf={"down": False}).state == "success"
    assert len(engineers.messages) == 2 and "Đã hoạt động lại" in \
        engineers.messages[-1]["Subject"]
    assert json.loads(Variable.get(STATE_VARIABLE)) == {}
