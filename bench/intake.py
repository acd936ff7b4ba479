"""bench/intake: a national period from bucket to warehouse, on SQLite and on PostgreSQL,
against the naive shape, in one run.

Run: ``.venv/bin/python bench/intake.py [N] [NAIVE]`` (N units, default 4,080; NAIVE files
for the naive shape, default 200). Drops N synthetic workbooks into a temporary ``file://``
bucket and times ``run_intake`` (one task's work: claim, parse and check in the isolated
reader workers, GX validation in batches, the chunk recorded in one transaction, receipts,
archive) in a fresh process per database, so that its peak memory is its own: first on a
SQLite file, then on a fresh schema of the local PostgreSQL (``BAOCAO_TEST_POSTGRES``).
Then the naive shape (``bench/naive.py``: openpyxl, one GX validation per file, ORM inserts)
on the first NAIVE files, extrapolated per file. ``BAOCAO_INTAKE_WORKERS`` sets the number of
reader workers. Temporary files are removed at the end.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from corpus import national_files, national_programme


def one(n: int, url: str, bucket: str) -> None:
    """In a fresh process: the intake of the bucket's inbox; JSON on stdout."""
    from airflow.sdk import ObjectStoragePath

    from baocao.intake import run_intake
    from baocao.isolation import ParsePool
    from baocao.validation import Validator
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    logging.disable(logging.INFO)
    prog = national_programme(n)
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    validator = Validator(prog)
    t = time.perf_counter()
    outcomes = run_intake(prog, engine, ObjectStoragePath(f"file://{bucket}"), "bench",
                          validator=validator)
    seconds = time.perf_counter() - t
    kib = 1024
    print(json.dumps({
        "seconds": seconds, "files": len(outcomes),
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "workers": ParsePool(prog).size,
        "peak_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
        "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib,
        "load": os.getloadavg()[0]}))


def drop(files: list[tuple[str, bytes]], into: Path) -> None:
    for unit, data in files:
        path = into / "inbox" / unit / "Báo cáo 6 tháng.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def measure(n: int, files, url: str, scratch: Path, name: str) -> dict:
    bucket = scratch / f"bucket-{name}"
    drop(files, bucket)
    done = subprocess.run([sys.executable, __file__, "--one", str(n), url, str(bucket)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{name}: the intake failed:\n{done.stderr[-4000:]}")
    shutil.rmtree(bucket, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def naive(prog, files, scratch: Path) -> float:
    """Seconds per file of the naive shape (SQLite warehouse, ORM)."""
    from naive import naive_intake

    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    url = f"sqlite:///{scratch / 'naive.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    naive_intake(prog, engine, files[:5])  # GX context and imports, not counted
    t = time.perf_counter()
    naive_intake(prog, engine, files[5:5 + len(files)])
    return (time.perf_counter() - t) / len(files[5:])


def main(n: int, sample: int) -> None:
    logging.disable(logging.INFO)
    scratch = Path(tempfile.mkdtemp(prefix="baocao-bench-intake-"))
    try:
        prog = national_programme(n)
        files = national_files(prog)
        results = {"SQLite": measure(n, files, f"sqlite:///{scratch / 'wh.sqlite'}", scratch,
                                     "sqlite")}
        url, schema = _common.postgres_url()
        try:
            results["PostgreSQL"] = measure(n, files, url, scratch, "postgresql")
        finally:
            _common.drop_schema(schema)
        per_file = naive(prog, files[:sample + 5], scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = [("workbooks", f"{n:,}"),
            ("reader worker processes", str(results["SQLite"]["workers"]))]
    for name, r in results.items():
        rate = r["files"] / r["seconds"]
        rows += [(f"{name}: intake task time", f"{r['seconds']:.1f} s ({rate:.0f} files/s, "
                  f"{r['accepted']:,} accepted)"),
                 (f"{name}: peak memory", f"main {r['peak_main_mib']:.0f} MiB, largest reader "
                  f"worker {r['peak_worker_mib']:.0f} MiB"),
                 (f"{name}: ratio to the naive shape (per file)",
                  f"{per_file / (r['seconds'] / r['files']):.0f}×"),
                 (f"{name}: load average (1 min) at the end", f"{r['load']:.1f}")]
    rows += [(f"naive shape ({sample} files, SQLite, ORM)",
              f"{per_file * 1000:.1f} ms per file ({1 / per_file:.1f} files/s), "
              f"{per_file * n:.0f} s extrapolated to {n:,}")]
    _common.table(rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 4080,
             int(sys.argv[2]) if len(sys.argv) > 2 else 200)
