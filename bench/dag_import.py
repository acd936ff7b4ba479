"""bench/dag_import: how long each DAG file takes to parse, as the dag-processor does it.

Each file is imported in a fresh interpreter after ``airflow.sdk`` (Airflow itself is the
baseline, not counted), ``REPEAT`` times; the median and the fastest are printed, with the
modules the file added. The DAG integrity tests check what is imported at parse time
(tests/unit/test_dags.py), not how long it takes. Run: ``.venv/bin/python bench/dag_import.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _common

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
REPEAT = 5
PROBE = """
import importlib.util, json, sys, time
import airflow.sdk  # baseline: Airflow itself
before = set(sys.modules)
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
seconds = time.perf_counter() - t
new = set(sys.modules) - before
print(json.dumps({"seconds": seconds, "modules": len(new)}))
"""


def parse_times(path: Path, env: dict[str, str]) -> tuple[list[float], int]:
    """Seconds to import ``path`` in each of REPEAT fresh interpreters; modules it added."""
    times, modules = [], 0
    for _ in range(REPEAT):
        out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                             text=True, timeout=300, check=True, env=env)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(result["seconds"])
        modules = result["modules"]
    return times, modules


def main() -> None:
    home = tempfile.mkdtemp(prefix="baocao-bench-airflow-")  # no ~/airflow is touched
    env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
           "PYTHONPATH": str(ROOT / "plugins")}
    rows = []
    try:
        for path in sorted(DAGS.glob("*.py")):
            times, modules = parse_times(path, env)
            rows.append((path.name, f"median {statistics.median(times) * 1000:.0f} ms, "
                                    f"fastest {min(times) * 1000:.0f} ms "
                                    f"({modules} modules added)"))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    _common.table(rows)


if __name__ == "__main__":
    main()
