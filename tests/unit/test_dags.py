"""DAG integrity: every DAG file imports cleanly, without heavy imports at top level, and
every task carries the shared defaults (retries with backoff, a time limit, the alerts).
How long a DAG file takes to parse is measured in bench/dag_import.py, not asserted here."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from support import DAGS, ROOT

DAG_FILES = sorted(DAGS.glob("*.py"))
HEAVY = ("pandas", "great_expectations", "openpyxl", "docxtpl", "matplotlib", "docx",
         "sqlalchemy", "jinja2")
# what a DAG file may import from the package at parse time: the shared module, the
# inbox trigger it builds the asset with, and nothing that reads settings or files
PARSE_TIME = {"baocao", "baocao.dag_defaults", "baocao.inbox_watch"}
PER_PROGRAMME = {  # DAG -> tasks that run once per programme (mapped)
    "baocao_intake": {"each_programme.process_inbox", "each_programme.announce"},
    "baocao_reports": {"render"},
    "baocao_reports_final": {"each_programme.render_final", "each_programme.email_final"},
    "baocao_forms": {"publish_forms"},
    "baocao_reminders": {"send_reminders"},
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {d for d in dagbag.dag_ids} == {f.stem for f in DAG_FILES}


def test_every_dag_has_the_shared_settings(dagbag):
    from baocao import dag_defaults

    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and dag.doc_md.strip().startswith("###"), dag_id
        assert dag.tags and "baocao" in dag.tags, dag_id
        assert str(dag.timezone.name) == dag_defaults.TZ, dag_id
        assert dag.start_date == dag_defaults.START, dag_id
        assert dag.catchup is False and dag.max_active_runs == 1, dag_id
        assert dag.dagrun_timeout and dag.dagrun_timeout <= timedelta(hours=3), dag_id
        assert 1 <= dag.max_consecutive_failed_dag_runs <= 288, dag_id
        # scheduled runs (no conf) serve every active programme; a manual run may name one
        assert dag.params["programme"] == "", dag_id
        timetable = getattr(dag.timetable, "timetable", dag.timetable)
        assert str(getattr(timetable.timezone, "name", timetable.timezone)) == \
            dag_defaults.TZ, dag_id


def test_every_task_has_the_shared_defaults_timeouts_and_callbacks(dagbag):
    from baocao.dag_defaults import alert_engineers, alert_over

    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            where = (dag_id, t.task_id)
            assert t.owner == "data-engineering", where
            assert t.retries >= 1 and t.retry_exponential_backoff, where
            assert t.retry_delay and t.max_retry_delay, where
            assert t.execution_timeout, where
            assert t.execution_timeout * (t.retries + 1) <= dag.dagrun_timeout * 2, where
            assert t.execution_timeout < dag.dagrun_timeout, where
            # the engineers get an e-mail when it fails, and one when an outage is over
            assert _callbacks(t.on_failure_callback) == [alert_engineers], where
            assert _callbacks(t.on_success_callback) == [alert_over], where


def _callbacks(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def test_each_programme_runs_in_its_own_task_instances(dagbag):
    for dag_id, tasks in PER_PROGRAMME.items():
        dag = dagbag.dags[dag_id]
        for task_id in tasks:
            task = dag.get_task(task_id)
            mapped = getattr(task, "is_mapped", False) or \
                task.get_closest_mapped_task_group() is not None
            assert mapped, (dag_id, task_id)


def test_intake_starts_on_drops_with_the_cron_as_safety_net(dagbag):
    from airflow.triggers.base import BaseEventTrigger

    from baocao.inbox_watch import InboxTrigger

    schedule = dagbag.dags["baocao_intake"].timetable
    assert schedule.timetable.expression == "*/5 * * * *"
    [inbox] = schedule.asset_condition.objects
    [watcher] = inbox.watchers
    assert isinstance(watcher.trigger, InboxTrigger)
    assert isinstance(watcher.trigger, BaseEventTrigger)
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "baocao.inbox_watch.InboxTrigger"
    assert kwargs["poll_seconds"] <= 5 and kwargs["settle_seconds"] <= 5
    # what the triggerer imports, from the class path alone
    from importlib import import_module

    module, _dot, name = classpath.rpartition(".")
    assert getattr(import_module(module), name) is InboxTrigger


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_light(path):
    code = f"""
import importlib.util, json, sys
import airflow.sdk  # baseline: Airflow itself
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dagfile", {str(path)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
new = set(sys.modules) - before
print(json.dumps({{"new": sorted({{m.split('.')[0] for m in new}}),
                  "baocao": sorted(m for m in new if m.split('.')[0] == "baocao")}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not set(result["new"]) & set(HEAVY), result["new"]
    assert set(result["baocao"]) <= PARSE_TIME, "the package is imported only inside tasks"


def _clock_reads(path: Path, root: Path = ROOT) -> list[str]:
    """Calls reading the server's clock without a zone: ``date.today()``,
    ``datetime.today()``, ``datetime.utcnow()``, ``datetime.now()`` without a zone,
    ``time.localtime()``, ``pendulum.today()``/``now()`` without one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.id if isinstance(owner, ast.Name) else \
            owner.attr if isinstance(owner, ast.Attribute) else ""
        call = f"{name}.{node.func.attr}"
        zoned = bool(node.args or node.keywords)
        if call in ("date.today", "datetime.today", "datetime.utcnow", "time.localtime",
                    "datetime.utcfromtimestamp") or \
                (call in ("datetime.now", "pendulum.now", "pendulum.today") and not zoned):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {call}()")
    return found


def test_no_naive_clock_in_the_package_and_dags():
    files = sorted([*(ROOT / "plugins").rglob("*.py"), *DAGS.glob("*.py")])
    assert len(files) > 30
    found = [hit for f in files for hit in _clock_reads(f)]
    assert found == []


def test_clock_checker_catches_naive_calls(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import datetime as d\nfrom datetime import date, datetime\n"
                   "a = date.today()\nb = datetime.now()\n"
                   "e = d.datetime.utcnow()\nf = datetime.now(UTC)\n", encoding="utf-8")
    hits = [h.split(": ", 1)[1] for h in _clock_reads(bad, tmp_path)]
    assert hits == ["date.today()", "datetime.now()", "datetime.utcnow()"]
