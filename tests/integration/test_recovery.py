"""A killed intake recovers at once and ends exactly as an uninterrupted one.

The intake runs as the DAG does (migrate, mirror the programme, process the inbox) in a
subprocess that SIGKILLs itself at one point: during each migration, after claims are
taken, while the workers parse, half way through a file's warehouse transaction, with a
receipt half written, with an archive copy written and its original not yet deleted, before
finished claims are released. The next run starts at once (in this process) and must leave
the same warehouse (submissions, versions, current flags, values, issues), the same receipts
(names and contents but the processing time), the same archive, an empty inbox and no open
claim as a run that was never interrupted; and it must be done within two minutes. No reader
worker of the killed run may outlive it. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from support import bucket_files

from baocao.demo import fill_form
from baocao.forms import sheet_layout

PERIOD = "2026-H1"
KILLER = Path(__file__).with_name("_intake_killer.py")
BASE = datetime(2026, 6, 10, 1, tzinfo=UTC)
POINTS = [
    ("mig-mid:0001", 0), ("mig-end:0001", 0), ("mig-end:0002", 0), ("mig-mid:0003", 0),
    ("mig-end:0003", 0), ("claims", 3), ("parse", 6), ("merge", 9), ("receipt", 11),
    ("archive", 7), ("release", 2),
]


def _inbox(programme) -> list[tuple[str, bytes, datetime]]:
    """(key, bytes, arrival) of the files dropped: first versions of ten units arriving in
    an order unlike their names, corrected second versions (one after the deadline), the
    same bytes sent twice (one second apart, and in the very same second under two names),
    a rejected file and its correction, and a file dropped at the bucket root."""
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:10]
    out = []
    for n, unit in enumerate(units):
        arrival = BASE + timedelta(minutes=(7 * n) % 10, seconds=n)
        out.append((f"inbox/{unit.code}/Báo cáo 6 tháng - {unit.name}.xlsx",
                    fill_form(programme, unit, period), arrival))
    for n, unit in enumerate(units[:4]):
        cell = next(s.address for s in sheet_layout(programme, "workers", unit).cells
                    if (s.indicator, s.row, s.col) == ("W_OVERSTAY", "", ""))
        corrected = fill_form(programme, unit, period, overrides={("workers", cell): 40 + n})
        when = BASE + timedelta(days=12 if n == 3 else 1, minutes=n)  # the last one late
        out.append((f"inbox/{unit.code}/bổ sung (lần 2).xlsx", corrected, when))
    again = out[4][1]
    out.append((f"inbox/{units[4].code}/gửi lại.xlsx", again, out[4][2] + timedelta(hours=3)))
    same = out[5]
    out.append((f"inbox/{units[5].code}/bản sao.xlsx", same[1], same[2]))  # same second
    cell = next(s.address for s in sheet_layout(programme, "workers", units[6]).cells
                if s.indicator == "W_COUNSELLED")
    out.append((f"inbox/{units[6].code}/sai số.xlsx", fill_form(
        programme, units[6], period, overrides={("workers", cell): "khoảng 50"}),
        BASE + timedelta(hours=5)))
    out.append((f"inbox/{units[6].code}/đã sửa.xlsx", fill_form(
        programme, units[6], period, overrides={("workers", cell): 51}),
        BASE + timedelta(hours=6)))
    out.append(("Báo cáo để nhầm chỗ.xlsx", out[7][1], BASE + timedelta(hours=7)))
    return out


@pytest.fixture(scope="module")
def inbox(programme):
    return _inbox(programme)


def drop(bucket: Path, files) -> None:
    for key, data, when in files:
        path = bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """A factory of empty (not migrated) warehouses on one database."""
    made: list[str] = []
    admin = None
    if request.param == "postgresql":
        base_url, base_schema = request.getfixturevalue("pg_schema_url")
        server = base_url.split("?", 1)[0]
        admin = sa.create_engine(server)

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'wh-{uuid.uuid4().hex[:6]}.sqlite'}"
        schema = f"{base_schema}_{uuid.uuid4().hex[:6]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{server}?options=-csearch_path%3D{schema}"

    make.dialect = request.param
    yield make
    from baocao.warehouse.db import get_engine

    get_engine.cache_clear()
    if admin is not None:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_now(programme, url: str, bucket: Path, monkeypatch) -> float:
    """A normal run, as the DAG's tasks do; its duration in seconds."""
    from airflow.sdk import ObjectStoragePath

    from baocao import intake
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    monkeypatch.setattr(intake, "READ_BATCH", 4)
    started = time.monotonic()
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    intake.run_intake(programme, engine, ObjectStoragePath(f"file://{bucket}"),
                      f"run-{uuid.uuid4().hex[:6]}", chunk=8)
    return time.monotonic() - started


def snapshot(url: str, bucket: Path) -> dict:
    """Everything a run leaves, minus ids and processing times."""
    from baocao.warehouse.db import get_engine

    with get_engine(url).connect() as conn:
        def rows(sql: str) -> list[tuple]:
            return sorted(tuple(r) for r in conn.execute(sa.text(sql)))

        state = {
            "submissions": rows(
                "select bucket_path, file_name, checksum, status, version, is_current, late, "
                "period, unit_code, received_at, errors, warnings, rules_run, rules_failed, "
                "archive_path, receipt_path from submissions"),
            "values": rows("select s.bucket_path, f.sheet, f.cell, f.indicator, f.row_key, "
                           "f.col_key, f.value, f.computed from fact_values f join "
                           "submissions s on s.id = f.submission_id"),
            "issues": rows("select s.bucket_path, i.rule, i.severity, i.sheet, i.cell, "
                           "i.value, i.message from submission_issues i join submissions s "
                           "on s.id = i.submission_id"),
            "current": rows("select r.unit_code, r.period, s.bucket_path from report_slots r "
                            "left join submissions s on s.id = r.current_submission_id"),
            "open claims": rows("select path from intake_claims where not done"),
        }
    files = bucket_files(bucket)
    state["inbox"] = [k for k in files if k.startswith("inbox/")]
    state["files"] = files
    return state


@pytest.fixture
def reference(fresh, inbox, programme, tmp_path, monkeypatch):
    bucket = tmp_path / "reference"
    drop(bucket, inbox)
    url = fresh()
    run_now(programme, url, bucket, monkeypatch)
    state = snapshot(url, bucket)
    assert state["inbox"] == [] and state["open claims"] == []
    assert len(state["submissions"]) == len(inbox) - 3  # two copies, one unroutable
    return state


def test_killed_anywhere_the_next_run_ends_as_an_uninterrupted_one(
        fresh, reference, inbox, programme, tmp_path, monkeypatch):
    """Each kill point in turn, on one database."""
    for point, n in POINTS:
        bucket, pids = tmp_path / f"bucket-{point}", tmp_path / f"pids-{point}"
        drop(bucket, inbox)
        url = fresh()
        killed = subprocess.run([sys.executable, str(KILLER), url, str(bucket), point, str(n),
                                 str(pids)], capture_output=True, text=True, timeout=300)
        assert killed.returncode == -9, (point, killed.returncode, killed.stderr[-3000:])
        workers = [int(p) for p in pids.read_text().split()] if pids.exists() else []
        time.sleep(0.2)
        assert not [p for p in workers if psutil.pid_exists(p)
                    and psutil.Process(p).status() != psutil.STATUS_ZOMBIE], point
        took = run_now(programme, url, bucket, monkeypatch)
        state = snapshot(url, bucket)
        assert took < 120, (point, took)
        assert state["inbox"] == [], point
        assert state["open claims"] == [], point
        for part in ("submissions", "values", "issues", "current"):
            assert state[part] == reference[part], (point, part)
        assert sorted(state["files"]) == sorted(reference["files"]), point
        changed = [k for k in state["files"] if state["files"][k] != reference["files"][k]]
        assert changed == [], (point, changed)


def test_a_half_migrated_warehouse_of_older_code_is_repaired(fresh):
    """Older code ran SQLite DDL outside transactions: a kill could leave a revision's
    tables without its record. Empty ones are dropped and the revision runs whole; tables
    holding rows are reported with the command that records the revision."""
    from baocao.warehouse.db import (
        HalfMigrated,
        current_revision,
        get_engine,
        head_revision,
        migrate,
    )

    url = fresh()
    migrate(url, "0002")
    engine = get_engine(url)
    with engine.begin() as conn:  # as if 0002 was killed after creating one table
        conn.execute(sa.text("drop table notifications"))
        conn.execute(sa.text("update alembic_version set version_num = '0001'"))
    assert migrate(url) == head_revision()
    assert {"notifications", "report_outputs"} <= set(sa.inspect(engine).get_table_names())
    url = fresh()
    migrate(url, "0002")
    engine = get_engine(url)
    with engine.begin() as conn:  # the revision was applied and used, its record lost
        conn.execute(sa.text("update alembic_version set version_num = '0001'"))
        conn.execute(sa.text("insert into report_outputs (programme, period, kind, version, "
                             "digest, paths, created_at) values ('p', '2026-H1', 'draft', 1, "
                             "'d', '{}', :t)"), {"t": datetime.now(UTC)})
    with pytest.raises(HalfMigrated, match="baocao migrate --stamp 0002"):
        migrate(url)
    assert current_revision(url) == "0001"


def test_a_file_that_stops_the_intake_twice_is_answered_not_retried(
        fresh, inbox, programme, tmp_path, monkeypatch):
    """Poison: the intake dies each time it records one file. After two such takes, the
    next run answers that file (rejected, original archived) and finishes the others."""
    import html

    bucket, url = tmp_path / "bucket", fresh()
    drop(bucket, inbox)
    poison = next(key for key, _data, _when in inbox if "sai số" in key)
    for attempt in range(2):
        killed = subprocess.run([sys.executable, str(KILLER), url, str(bucket),
                                 "record:sai số", "0", str(tmp_path / "pids")],
                                capture_output=True, text=True, timeout=300)
        assert killed.returncode == -9, (attempt, killed.stderr[-3000:])
        assert (bucket / poison).exists()
    run_now(programme, url, bucket, monkeypatch)
    state = snapshot(url, bucket)
    assert state["inbox"] == [] and state["open claims"] == []
    [row] = [s for s in state["submissions"] if s[0] == poison]
    assert row[3] == "rejected"
    receipt = html.unescape(state["files"][row[15]].decode("utf-8"))
    assert "đã làm dừng hệ thống tiếp nhận hai lần" in receipt
    assert state["files"][row[14]] == dict((k, d) for k, d, _w in inbox)[poison]
    assert sum(s[3] == "accepted" for s in state["submissions"]) == len(inbox) - 4


def test_a_file_that_fails_twice_is_answered_on_the_third_run(
        fresh, inbox, programme, tmp_path, monkeypatch):
    """A file whose recording raises (not an outage) stays in the inbox and fails the run,
    the other files go on; after two such runs the next one answers it as unprocessable
    (recorded as rejected, its receipt says why, its original archived)."""
    from baocao import intake

    bucket, url = tmp_path / "bucket", fresh()
    drop(bucket, inbox[:3])
    real = intake.record_many

    def broken(engine, prog, entries, **kwargs):  # the chunk's transaction, or the file's
        if any(e.info.bucket_path == inbox[1][0] and e.parsed.values for e in entries):
            raise KeyError("a bug met by this file only")
        return real(engine, prog, entries, **kwargs)

    monkeypatch.setattr(intake, "record_many", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="could not be processed"):
            run_now(programme, url, bucket, monkeypatch)
        assert (bucket / inbox[1][0]).exists()
    run_now(programme, url, bucket, monkeypatch)
    state = snapshot(url, bucket)
    assert state["inbox"] == [] and state["open claims"] == []
    statuses = {s[0]: s[3] for s in state["submissions"]}
    assert statuses == {inbox[0][0]: "accepted", inbox[1][0]: "rejected",
                        inbox[2][0]: "accepted"}
    [row] = [s for s in state["submissions"] if s[0] == inbox[1][0]]
    assert "hai lần" in state["files"][row[15]].decode("utf-8")
