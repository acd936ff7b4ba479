"""Warehouse: migrations, idempotent versioned merge, atomicity, races — SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from baocao.demo import fill_form
from baocao.parsing import parse_submission
from baocao.warehouse.db import current_revision, get_engine, head_revision, migrate
from baocao.warehouse.merge import FileInfo, record_submission, return_submission, sync_programme
from baocao.warehouse.readmodels import completeness, provincial_totals, unit_statuses

PERIOD = "2026-H1"


def parsed_for(prog, unit_code: str, overrides=None):
    period = prog.period(PERIOD)
    unit = prog.unit(unit_code, period.deadline)
    data = fill_form(prog, unit, period, overrides=overrides)
    return data, parse_submission(data, prog, unit_code)


def info(data: bytes, name: str, when: datetime) -> FileInfo:
    return FileInfo(name, f"inbox/x/{name}", hashlib.sha256(data).hexdigest(), len(data), when)


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()


def test_migration_twice_is_a_noop(warehouse_url):
    engine = get_engine(warehouse_url)
    before = sa.inspect(engine).get_table_names()
    migrate(warehouse_url)
    assert current_revision(warehouse_url) == head_revision()
    assert sa.inspect(engine).get_table_names() == before
    assert {"submissions", "fact_values", "report_slots", "units"} <= set(before)


def test_sync_programme_is_idempotent(wh, programme):
    n = count(wh, "units")
    sync_programme(wh, programme)
    assert count(wh, "units") == n == len(programme.units)


def test_merge_is_idempotent_and_traceable(wh, programme):
    commune = next(u for u in programme.expected_units(programme.period(PERIOD))
                   if u.kind == "commune")
    data, parsed = parsed_for(programme, commune.code)
    when = datetime(2026, 6, 18, 3, tzinfo=UTC)
    first = record_submission(wh, programme, parsed, info(data, "a.xlsx", when),
                              accepted=True, late=False, validation={})
    values = count(wh, "fact_values")
    again = record_submission(wh, programme, parsed, info(data, "a.xlsx", when),
                              accepted=True, late=False, validation={})
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.submission_id == first.submission_id
    assert count(wh, "fact_values") == values == len(parsed.values)
    with wh.connect() as conn:
        row = conn.execute(sa.text(
            "select v.sheet, v.cell, v.value, s.checksum, s.file_name from fact_values v "
            "join submissions s on s.id = v.submission_id where v.indicator = 'W_DEP' and "
            "v.row_key = 'CN' and v.col_key = 'total'")).one()
    expected = next(v for v in parsed.values if (v.indicator, v.row, v.col) == ("W_DEP", "CN",
                                                                                 "total"))
    assert (row.sheet, row.cell, row.value) == (expected.sheet, expected.cell, expected.value)
    assert row.checksum == hashlib.sha256(data).hexdigest() and row.file_name == "a.xlsx"


def test_resubmission_supersedes_and_keeps_history(wh, programme):
    unit = "SNV"
    d1, p1 = parsed_for(programme, unit, {("workers", "C30"): 3})
    d2, p2 = parsed_for(programme, unit)
    t = datetime(2026, 6, 10, tzinfo=UTC)
    r1 = record_submission(wh, programme, p1, info(d1, "v1.xlsx", t), accepted=True,
                           late=False, validation={})
    r2 = record_submission(wh, programme, p2, info(d2, "v2.xlsx", t + timedelta(days=1)),
                           accepted=True, late=False, validation={})
    assert (r1.version, r2.version, r2.is_current) == (1, 2, True)
    with wh.connect() as conn:
        rows = conn.execute(sa.text("select id, version, is_current from submissions "
                                    "order by id")).all()
    assert [(r.version, bool(r.is_current)) for r in rows] == [(1, False), (2, True)]
    # the provincial figures come from the current version only
    totals = provincial_totals(wh, programme, programme.period(PERIOD))
    lead_only = {k: v for k, v in totals.items() if k[0].startswith("C_")}
    assert lead_only == {(v.indicator, v.row, v.col): v.value for v in p2.values
                         if v.indicator.startswith("C_")}


def test_older_file_arriving_later_does_not_become_current(wh, programme):
    d_new, p_new = parsed_for(programme, "CAT")
    d_old, p_old = parsed_for(programme, "CAT", {("enforcement", "C8"): 1})
    t = datetime(2026, 6, 10, tzinfo=UTC)
    record_submission(wh, programme, p_new, info(d_new, "new.xlsx", t + timedelta(hours=5)),
                      accepted=True, late=False, validation={})
    r_old = record_submission(wh, programme, p_old, info(d_old, "old.xlsx", t),
                              accepted=True, late=False, validation={})
    assert (r_old.version, r_old.is_current) == (1, False)


def test_failure_mid_merge_leaves_warehouse_unchanged(wh, programme):
    data, parsed = parsed_for(programme, "NHCSXH")
    before = {t: count(wh, t) for t in ("submissions", "fact_values", "report_slots")}

    def boom(_sub_id):
        raise RuntimeError("simulated crash after half the rows")

    with pytest.raises(RuntimeError):
        record_submission(wh, programme, parsed, info(data, "f.xlsx", datetime.now(UTC)),
                          accepted=True, late=False, validation={}, _fault=boom)
    assert {t: count(wh, t) for t in before} == before
    ok = record_submission(wh, programme, parsed, info(data, "f.xlsx", datetime.now(UTC)),
                           accepted=True, late=False, validation={})
    assert not ok.duplicate and count(wh, "fact_values") == len(parsed.values)


def test_killed_process_mid_merge_leaves_warehouse_unchanged(wh, warehouse_url, programme):
    script = textwrap.dedent(f"""
        import os, signal, hashlib
        from datetime import datetime, UTC
        from baocao.programme import load_programme
        from baocao.demo import fill_form
        from baocao.parsing import parse_submission
        from baocao.warehouse.db import get_engine
        from baocao.warehouse.merge import FileInfo, record_submission
        prog = load_programme("lang-son")
        per = prog.period("{PERIOD}")
        unit = prog.unit("STC", per.deadline)
        data = fill_form(prog, unit, per)
        parsed = parse_submission(data, prog, "STC")
        info = FileInfo("k.xlsx", "inbox/STC/k.xlsx", hashlib.sha256(data).hexdigest(),
                        len(data), datetime.now(UTC))
        record_submission(get_engine({warehouse_url!r}), prog, parsed, info, accepted=True,
                          late=False, validation={{}},
                          _fault=lambda _id: os.kill(os.getpid(), signal.SIGKILL))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert count(wh, "submissions") == 0 and count(wh, "fact_values") == 0
    data, parsed = parsed_for(programme, "STC")
    ok = record_submission(wh, programme, parsed, info(data, "k.xlsx", datetime.now(UTC)),
                           accepted=True, late=False, validation={})
    assert ok.is_current and count(wh, "fact_values") == len(parsed.values)


def test_racing_versions_end_with_newer_current(wh, programme):
    d1, p1 = parsed_for(programme, "SYT", {("enforcement", "C8"): 2})
    d2, p2 = parsed_for(programme, "SYT")
    t = datetime(2026, 6, 1, tzinfo=UTC)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def merge(data, parsed, when, name):
        try:
            barrier.wait()
            record_submission(wh, programme, parsed, info(data, name, when), accepted=True,
                              late=False, validation={})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(d2, p2, t + timedelta(hours=1), "new")),
               threading.Thread(target=merge, args=(d1, p1, t, "old"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    with wh.connect() as conn:
        rows = conn.execute(sa.text("select file_name, version, is_current from submissions "
                                    "order by version")).all()
    assert [(r.file_name, r.version, bool(r.is_current)) for r in rows] == \
        [("old", 1, False), ("new", 2, True)]


def test_rejected_file_leaves_no_values(wh, programme):
    data, parsed = parsed_for(programme, "STP", {("enforcement", "C8"): "nhiều"})
    assert parsed.errors
    r = record_submission(wh, programme, parsed, info(data, "bad.xlsx", datetime.now(UTC)),
                          accepted=False, late=False, validation={})
    assert not r.is_current and count(wh, "fact_values") == 0
    assert count(wh, "submission_issues") == len(parsed.errors)


def test_status_completeness_and_return(wh, programme):
    period = programme.period(PERIOD)
    expected = programme.expected_units(period)
    on_time, late = expected[0], expected[1]
    deadline = datetime.combine(period.deadline, datetime.min.time(), UTC)
    for unit, when, is_late in ((on_time, deadline - timedelta(days=2), False),
                                (late, deadline + timedelta(days=3), True)):
        data, parsed = parsed_for(programme, unit.code)
        record_submission(wh, programme, parsed, info(data, f"{unit.code}.xlsx", when),
                          accepted=True, late=is_late, validation={})
    stats = {s.unit.code: s.status for s in unit_statuses(wh, programme, period)}
    assert stats[on_time.code] == "on_time" and stats[late.code] == "late"
    assert sum(v == "missing" for v in stats.values()) == len(expected) - 2
    c = completeness(unit_statuses(wh, programme, period))
    assert (c["expected"], c["received"], c["on_time"], c["late"]) == (len(expected), 2, 1, 1)
    with wh.connect() as conn:
        sid = conn.execute(sa.text("select id from submissions where unit_code = :u"),
                           {"u": late.code}).scalar_one()
    return_submission(wh, sid, "Số liệu chưa khớp với báo cáo của Công an tỉnh")
    stats = {s.unit.code: s.status for s in unit_statuses(wh, programme, period)}
    assert stats[late.code] == "returned"
    with pytest.raises(ValueError, match="đã bị trả lại"):
        return_submission(wh, sid, "again")
    with pytest.raises(LookupError):
        return_submission(wh, 999999, "none")
