"""bench/intake: files per second from bucket to warehouse for a national-scale period.

Run: ``.venv/bin/python bench/intake.py [N]`` (N units, default 4,080). Drops N synthetic
workbooks into a temporary ``file://`` bucket and times ``run_intake`` (one task's work:
claim, parse and check in the isolated reader workers, GX validation in batches, receipts,
one transaction per file, archive). ``BAOCAO_INTAKE_WORKERS`` sets the number of workers.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

import _common
from corpus import national_files, national_programme


def main(n: int) -> None:
    from airflow.sdk import ObjectStoragePath

    from baocao.intake import run_intake
    from baocao.isolation import ParsePool
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    logging.disable(logging.INFO)
    prog = national_programme(n)
    files = national_files(prog)
    root = ObjectStoragePath(f"file://{tempfile.mkdtemp(prefix='baocao-bench-bucket-')}")
    for unit, data in files:
        path = root / "inbox" / unit / "Báo cáo 6 tháng.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    url = _common.sqlite_url()
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    t = time.perf_counter()
    outcomes = run_intake(prog, engine, root, "bench")
    seconds = time.perf_counter() - t
    accepted = sum(o.status == "accepted" for o in outcomes)
    _common.table([("workbooks", f"{len(files):,}"), ("accepted", f"{accepted:,}"),
                   ("reader worker processes", str(ParsePool(prog).size)),
                   ("intake task time (SQLite, file://)", f"{seconds:.1f} s"),
                   ("files per second", f"{len(files) / seconds:.0f}"),
                   ("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}")])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4080)
