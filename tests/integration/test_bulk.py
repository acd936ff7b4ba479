"""The bulk path (a chunk of files recorded in one transaction) keeps every promise of the
per-file path, on SQLite and on PostgreSQL: a fault or a SIGKILL mid-merge leaves nothing of
the batch, racing batches end with the newer version current, a replay changes nothing, and
the warehouse, receipts and archive after the bulk intake are those of the per-file intake
on the same inbox."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support import bucket_files, pg_schema

from baocao.demo import fill_form
from baocao.forms import sheet_layout
from baocao.parsing import parse_submission
from baocao.warehouse.bulk import Entry, record_many
from baocao.warehouse.db import get_engine
from baocao.warehouse.merge import FileInfo, record_submission, sync_programme

PERIOD = "2026-H1"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def entry(prog, unit_code: str, name: str, when: datetime, overrides=None) -> Entry:
    period = prog.period(PERIOD)
    data = fill_form(prog, prog.unit(unit_code, period.deadline), period,
                     overrides=overrides)
    parsed = parse_submission(data, prog, unit_code)
    info = FileInfo(name, f"inbox/{unit_code}/{name}", hashlib.sha256(data).hexdigest(),
                    len(data), when)
    return Entry(parsed, info, accepted=not parsed.errors, late=False,
                 validation={"rules_run": 3})


def state(engine) -> dict[str, list[tuple]]:
    """Everything recorded, by file (no ids, no processing times)."""
    queries = {
        "submissions": "select bucket_path, checksum, status, version, is_current, errors, "
                       "warnings, rules_run from submissions",
        "values": "select s.bucket_path, f.sheet, f.cell, f.indicator, f.row_key, f.col_key, "
                  "f.value, f.computed from fact_values f join submissions s on "
                  "s.id = f.submission_id",
        "tasks": "select s.bucket_path, t.task_code, t.status, t.description, t.cell from "
                 "task_results t join submissions s on s.id = t.submission_id",
        "narratives": "select s.bucket_path, n.key, n.text, n.cell from narratives n join "
                      "submissions s on s.id = n.submission_id",
        "issues": "select s.bucket_path, i.rule, i.severity, i.cell, i.message from "
                  "submission_issues i join submissions s on s.id = i.submission_id",
        "current": "select r.unit_code, r.period, s.bucket_path from report_slots r left join "
                   "submissions s on s.id = r.current_submission_id",
    }
    with engine.connect() as conn:
        return {k: sorted(tuple(r) for r in conn.execute(sa.text(q)))
                for k, q in queries.items()}


@pytest.fixture(scope="module")
def entries(programme) -> list[Entry]:
    """Two versions of one unit arriving in reverse order of their names, a rejected file
    and its correction, first versions of other units."""
    return [
        entry(programme, "SYT", "b-first.xlsx", T0),
        entry(programme, "SYT", "a-second.xlsx", T0 + timedelta(hours=2),
              {("enforcement", "C8"): 2}),
        entry(programme, "STP", "sai.xlsx", T0 + timedelta(hours=1),
              {("enforcement", "C8"): "nhiều"}),
        entry(programme, "STP", "sua.xlsx", T0 + timedelta(hours=3),
              {("enforcement", "C8"): 3}),
        entry(programme, "SNV", "nv.xlsx", T0 + timedelta(minutes=5)),
        entry(programme, "STC", "tc.xlsx", T0 + timedelta(minutes=7)),
    ]


def test_bulk_records_what_the_per_file_path_records(wh, sibling, entries, programme):
    """Chunks of three, the later chunk holding the earlier arrival of a unit, against one
    transaction per file in arrival order: the same rows, versions and current pointers."""
    assert entries[2].accepted is False and all(e.accepted for i, e in enumerate(entries)
                                                if i != 2)
    record_many(wh, programme, entries[3:])
    record_many(wh, programme, entries[:3])
    other = get_engine(sibling)
    sync_programme(other, programme)
    for e in sorted(entries, key=lambda e: e.info.received_at):
        record_submission(other, programme, e.parsed, e.info, accepted=e.accepted,
                          late=e.late, validation=e.validation)
    assert state(wh) == state(other)
    got = state(wh)
    assert ("inbox/SYT/a-second.xlsx", 2, True) in [(s[0], s[3], s[4])
                                                    for s in got["submissions"]]
    assert any(v[0] == "inbox/SYT/b-first.xlsx" for v in got["values"])


def test_replay_and_twins_change_nothing(wh, entries, programme):
    first = record_many(wh, programme, entries)
    before = state(wh)
    again = record_many(wh, programme, [entries[1], entries[1], *entries])
    assert all(r.duplicate for r in again)
    assert [r.submission_id for r in again[2:]] == [r.submission_id for r in first]
    assert state(wh) == before
    assert (again[0].version, again[0].is_current) == (first[1].version, first[1].is_current)


def test_fault_mid_bulk_merge_leaves_nothing_of_the_batch(wh, entries, programme):
    record_many(wh, programme, entries[:1])
    before = state(wh)

    def boom(_sub_id):
        raise RuntimeError("simulated crash after half the rows of the batch")

    with pytest.raises(RuntimeError):
        record_many(wh, programme, entries[1:], _fault=boom)
    assert state(wh) == before
    done = record_many(wh, programme, entries[1:])
    assert not any(r.duplicate for r in done)
    assert len(state(wh)["submissions"]) == len(entries)


def test_killed_process_mid_bulk_merge_leaves_nothing(wh, warehouse_url, programme):
    script = textwrap.dedent(f"""
        import hashlib, os, signal
        from datetime import UTC, datetime
        from baocao.demo import fill_form
        from baocao.parsing import parse_submission
        from baocao.programme import load_programme
        from baocao.warehouse.bulk import Entry, record_many
        from baocao.warehouse.db import get_engine
        from baocao.warehouse.merge import FileInfo
        prog = load_programme("lang-son")
        per = prog.period("{PERIOD}")
        batch = []
        for code in ("STC", "SNV", "SYT"):
            data = fill_form(prog, prog.unit(code, per.deadline), per)
            batch.append(Entry(parse_submission(data, prog, code), FileInfo(
                "k.xlsx", f"inbox/{{code}}/k.xlsx", hashlib.sha256(data).hexdigest(),
                len(data), datetime.now(UTC)), True, False, {{}}))
        record_many(get_engine({warehouse_url!r}), prog, batch,
                    _fault=lambda _id: os.kill(os.getpid(), signal.SIGKILL))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    after = state(wh)
    assert after["submissions"] == [] and after["values"] == [] and after["current"] == []


def test_racing_batches_end_with_newer_current(wh, entries, programme):
    """Two batches at once, each with one version of two units (the older version of one
    in each): no deadlock, and each unit ends with its newer version current."""
    old_a, new_a = entries[0], entries[1]
    other = entry(programme, "STP", "tp-2.xlsx", T0 + timedelta(days=1),
                  {("enforcement", "C8"): 7})
    batches = [[new_a, entries[3]], [old_a, other]]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def merge(batch):
        try:
            barrier.wait()
            record_many(wh, programme, batch)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(b,)) for b in batches]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors and not any(th.is_alive() for th in threads)
    current = {c[0]: c[2] for c in state(wh)["current"]}
    assert current == {"SYT": "inbox/SYT/a-second.xlsx", "STP": "inbox/STP/tp-2.xlsx"}
    versions = {s[0]: (s[3], s[4]) for s in state(wh)["submissions"]}
    assert versions["inbox/SYT/b-first.xlsx"] == (1, False)
    assert versions["inbox/STP/sua.xlsx"] == (1, False)


@pytest.fixture
def sibling(warehouse_url, tmp_path):
    """Another empty, migrated warehouse on the same database (dropped afterwards)."""
    from baocao.warehouse.db import migrate

    if warehouse_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'sibling.sqlite'}"
        migrate(url)
        yield url
        get_engine(url).dispose()
        return
    schema = warehouse_url.rsplit("%3D", 1)[1] + "_b"
    with pg_schema(warehouse_url.split("?", 1)[0], schema) as url:
        yield url


# ----- the whole intake, bulk against per file ------------------------------------------------
def _inbox(programme) -> list[tuple[str, bytes, datetime]]:
    """First versions of eight units in an order unlike their names, corrected versions of
    three, the same bytes sent twice, a rejected file and its correction."""
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:8]
    base = datetime(2026, 6, 10, 1, tzinfo=UTC)
    out = []
    for n, unit in enumerate(units):
        out.append((f"inbox/{unit.code}/Báo cáo - {unit.name}.xlsx",
                    fill_form(programme, unit, period), base + timedelta(minutes=(5 * n) % 8)))
    for n, unit in enumerate(units[:3]):
        cell = next(s.address for s in sheet_layout(programme, "workers", unit).cells
                    if (s.indicator, s.row, s.col) == ("W_OVERSTAY", "", ""))
        out.append((f"inbox/{unit.code}/lần 2.xlsx", fill_form(
            programme, unit, period, overrides={("workers", cell): 40 + n}),
            base + timedelta(days=1, minutes=n)))
    out.append((f"inbox/{units[4].code}/gửi lại.xlsx", out[4][1], base + timedelta(hours=3)))
    cell = next(s.address for s in sheet_layout(programme, "workers", units[6]).cells
                if s.indicator == "W_COUNSELLED")
    out.append((f"inbox/{units[6].code}/sai.xlsx", fill_form(
        programme, units[6], period, overrides={("workers", cell): "khoảng 50"}),
        base + timedelta(hours=5)))
    out.append((f"inbox/{units[6].code}/sửa.xlsx", fill_form(
        programme, units[6], period, overrides={("workers", cell): 51}),
        base + timedelta(hours=6)))
    return out


def test_bulk_intake_ends_as_the_per_file_intake(warehouse_url, sibling, programme, tmp_path):
    from airflow.sdk import ObjectStoragePath

    from baocao.intake import run_intake

    inbox = _inbox(programme)
    ends = {}
    for bulk, url in ((True, warehouse_url), (False, sibling)):
        bucket = tmp_path / f"bucket-{bulk}"
        for key, data, when in inbox:
            path = bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (when.timestamp(), when.timestamp()))
        engine = get_engine(url)
        sync_programme(engine, programme)
        outcomes = run_intake(programme, engine, ObjectStoragePath(f"file://{bucket}"),
                              f"run-{uuid.uuid4().hex[:6]}", chunk=6, bulk=bulk)
        ends[bulk] = (state(engine), bucket_files(bucket),
                      sorted((o.path, o.status, o.version) for o in outcomes))
    assert ends[True][0] == ends[False][0]
    assert ends[True][1] == ends[False][1]
    assert ends[True][2] == ends[False][2]
    statuses = [o[1] for o in ends[True][2]]
    assert statuses.count("duplicate") == 1 and statuses.count("rejected") == 1
    assert not [k for k in ends[True][1] if k.startswith("inbox/")]
