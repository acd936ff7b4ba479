"""bench/warehouse: merge throughput (values per second) for a national-scale period,
on SQLite and on the local PostgreSQL. Run: ``.venv/bin/python bench/warehouse.py``.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import _common
from corpus import national_files, national_programme


def run(url: str, prog, parsed) -> tuple[float, int]:
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import FileInfo, record_submission, sync_programme

    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    values = 0
    t = time.perf_counter()
    for unit, data, sub in parsed:
        info = FileInfo("b.xlsx", f"inbox/{unit}/b.xlsx", hashlib.sha256(data).hexdigest(),
                        len(data), datetime.now(UTC))
        record_submission(engine, prog, sub, info, accepted=True, late=False, validation={})
        values += len(sub.values)
    return time.perf_counter() - t, values


def main() -> None:
    from baocao.parsing import parse_submission

    prog = national_programme()
    parsed = [(u, d, parse_submission(d, prog, u)) for u, d in national_files(prog)]
    rows = []
    secs, values = run(_common.sqlite_url(), prog, parsed)
    rows += [("submissions merged", f"{len(parsed):,}"), ("values merged", f"{values:,}"),
             ("SQLite", f"{secs:.1f} s, {values / secs:,.0f} values/s")]
    url, schema = _common.postgres_url()
    try:
        secs, values = run(url, prog, parsed)
        rows.append(("PostgreSQL 15 (psycopg 3)", f"{secs:.1f} s, {values / secs:,.0f} values/s"))
    finally:
        _common.drop_schema(schema)
    _common.table(rows)


if __name__ == "__main__":
    main()
