"""bench/reports: render time of the .docx and .xlsx for one province and for 34.

Run: ``.venv/bin/python bench/reports.py``. Fills a warehouse with Lạng Sơn's demo period,
then renders its report 34 times (a national run renders one report per province).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import _common


def main() -> None:
    from baocao.demo import fill_form
    from baocao.parsing import parse_submission
    from baocao.programme import load_programme
    from baocao.reports.context import build_report_data
    from baocao.reports.docx_report import render_docx
    from baocao.reports.xlsx_report import render_xlsx
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import FileInfo, record_submission, sync_programme

    prog = load_programme("lang-son")
    period = prog.period("2026-H1")
    url = _common.sqlite_url()
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    for unit in prog.expected_units(period):
        data = fill_form(prog, unit, period)
        sub = parse_submission(data, prog, unit.code)
        record_submission(engine, prog, sub, FileInfo(
            "r.xlsx", f"inbox/{unit.code}/r.xlsx", hashlib.sha256(data).hexdigest(),
            len(data), datetime(2026, 6, 18, tzinfo=UTC)), accepted=True, late=False,
            validation={})
    timings, parts = [], []
    for _ in range(34):
        t = time.perf_counter()
        report = build_report_data(engine, prog, period)
        t1 = time.perf_counter()
        render_docx(report)
        t2 = time.perf_counter()
        render_xlsx(report)
        t3 = time.perf_counter()
        timings.append(t3 - t)
        parts.append((t1 - t, t2 - t1, t3 - t2))
    mid = sorted(range(34), key=lambda i: timings[i])[17]
    data, docx, xlsx = parts[mid]
    _common.table([("units in the province", str(len(prog.expected_units(period)))),
                   ("one province (first, incl. imports)", f"{timings[0]:.2f} s"),
                   ("one province (warm, median)", f"{timings[mid]:.2f} s"),
                   ("  of which: read the warehouse / .docx / .xlsx",
                    f"{data:.2f} / {docx:.2f} / {xlsx:.2f} s"),
                   ("34 provinces", f"{sum(timings):.1f} s")])


if __name__ == "__main__":
    main()
