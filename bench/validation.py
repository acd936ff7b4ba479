"""bench/validation: GX validation time for one workbook and a national batch.

Run: ``.venv/bin/python bench/validation.py``.
"""

from __future__ import annotations

import time

import _common
from corpus import national_files, national_programme


def main() -> None:
    from baocao.parsing import parse_submission
    from baocao.validation import Validator

    prog = national_programme()
    files = national_files(prog)
    t = time.perf_counter()
    subs = [parse_submission(data, prog, unit) for unit, data in files]
    parse = time.perf_counter() - t
    t = time.perf_counter()
    validator = Validator(prog)
    _ = validator.context  # GX starts lazily: pay its start-up here
    context = time.perf_counter() - t
    items = [(s, prog.unit_sheets(prog.unit(s.unit))) for s in subs]
    t = time.perf_counter()
    validator.validate_many(items[:1])
    one = time.perf_counter() - t
    t = time.perf_counter()
    summaries = validator.validate_many(items)
    batch = time.perf_counter() - t
    rules = sum(s.rules_run for s in summaries)
    _common.table([("workbooks", f"{len(items):,}"),
                   ("parse (XML reader, one process)", f"{parse / len(items) * 1000:.1f} ms/file"),
                   ("GX context + suites (once per task)", f"{context:.1f} s"),
                   ("validate one workbook", f"{one * 1000:.0f} ms"),
                   ("validate the national batch", f"{batch:.1f} s"),
                   ("rule evaluations in the batch", f"{rules:,}")])


if __name__ == "__main__":
    main()
