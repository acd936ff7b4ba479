"""DAG integrity: every DAG file imports cleanly, fast, without heavy imports at top level."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"
DAG_FILES = sorted(DAGS.glob("*.py"))
HEAVY = ("pandas", "great_expectations", "openpyxl", "docxtpl", "matplotlib", "docx")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {d for d in dagbag.dag_ids} == {f.stem for f in DAG_FILES}


def test_each_dag_has_owner_retries_tags_doc_and_timezone(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and dag.doc_md.strip().startswith("###"), dag_id
        assert dag.tags and "baocao" in dag.tags, dag_id
        assert str(dag.timezone.name) == "Asia/Ho_Chi_Minh", dag_id
        for t in dag.tasks:
            assert t.owner == "data-engineering", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)
            assert t.on_failure_callback, (dag_id, t.task_id)  # engineers get an e-mail


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_and_light(path):
    code = f"""
import importlib.util, json, sys, time
import airflow.sdk  # baseline: Airflow itself
before = set(sys.modules)
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("dagfile", {str(path)!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(json.dumps({{"seconds": time.perf_counter() - t,
                  "new": sorted(m.split('.')[0] for m in set(sys.modules) - before)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["seconds"] < 0.5, result
    assert not set(result["new"]) & set(HEAVY), result["new"]
    assert "baocao" not in result["new"], "DAG files import the package only inside tasks"
