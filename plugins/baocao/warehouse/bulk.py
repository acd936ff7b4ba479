"""Record many received files in one transaction: the intake's bulk path.

What ``merge.record_submission`` promises for one file holds for every file of a batch:
a file's rows go in all or nothing (the whole batch is one transaction, so a crash leaves
nothing of it), recording a checksum again changes nothing (``duplicate=True``), and the
versions of a unit's period follow arrival order (time received, then key) whatever order
runs recorded them in. The work is set-based: one checksum lookup, one multi-row INSERT of
the submissions (ids returned in order), the values loaded with ``COPY`` on PostgreSQL (the
raw psycopg 3 connection of the same transaction) or ``executemany`` on SQLite, and one
refresh of the slots touched (locked in key order, so concurrent batches cannot deadlock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, tuple_, update

from baocao.parsing import ParsedSubmission
from baocao.programme import Programme
from baocao.warehouse.merge import FileInfo, MergeResult, dialect_insert, issue_row
from baocao.warehouse.models import (
    FactValue,
    Issue,
    Narrative,
    ReportSlot,
    Submission,
    TaskResult,
)

IN_LIST = 400  # bound every IN list
FACT_COLUMNS = ("submission_id", "sheet", "cell", "indicator", "row_key", "col_key", "value",
                "computed")
TASK_COLUMNS = ("submission_id", "task_code", "task_group", "task_text", "status",
                "description", "cell")
NARRATIVE_COLUMNS = ("submission_id", "key", "text", "cell")


@dataclass
class Entry:
    """One file to record: what ``record_submission`` takes, as one value."""

    parsed: ParsedSubmission
    info: FileInfo
    accepted: bool
    late: bool
    validation: dict[str, Any]
    archive_path: str = ""
    receipt_path: str = ""


_INSERT_SUBMISSIONS = insert(Submission).returning(Submission.id, sort_by_parameter_order=True)


def record_many(engine: Engine, prog: Programme, entries: Sequence[Entry],
                _fault: Callable[[int], None] | None = None) -> list[MergeResult]:
    """Record ``entries`` in one transaction; one ``MergeResult`` each, in order.

    A checksum recorded before (or earlier in the batch) is a duplicate and changes nothing.
    ``_fault`` is a test hook called after half the batch's values are written.
    """
    if not entries:
        return []
    with engine.begin() as conn:
        known = _existing(conn, {e.info.checksum for e in entries})
        results: list[MergeResult | None] = [None] * len(entries)
        fresh: list[int] = []
        for n, e in enumerate(entries):
            row = known.get(e.info.checksum)
            if row is not None:
                results[n] = MergeResult(row.id, True, row.version, bool(row.is_current))
            else:
                known[e.info.checksum] = _Pending(n)
                fresh.append(n)
        for n, e in enumerate(entries):  # the same bytes twice in this batch
            got = known[e.info.checksum]
            if results[n] is None and isinstance(got, _Pending) and got.n != n:
                results[n] = _Later(got.n)
        if not fresh:
            return [r for r in results]  # type: ignore[misc]
        now = datetime.now(UTC)
        ids = [r.id for r in conn.execute(_INSERT_SUBMISSIONS, [
            _submission_row(prog, entries[n], now) for n in fresh])]
        sub_id = dict(zip(fresh, ids, strict=True))
        issues = [issue_row(sub_id[n], p) for n in fresh for p in entries[n].parsed.problems
                  if p.severity in ("error", "warning")]
        if issues:
            conn.execute(insert(Issue), issues)
        kept = [n for n in fresh if entries[n].accepted]
        facts = [(sub_id[n], v.sheet, v.cell, v.indicator, v.row, v.col, v.value, v.computed)
                 for n in kept for v in entries[n].parsed.values]
        half = len(facts) // 2
        _load(conn, FactValue.__table__, FACT_COLUMNS, facts[:half])
        if _fault:
            _fault(ids[0])
        _load(conn, FactValue.__table__, FACT_COLUMNS, facts[half:])
        _load(conn, TaskResult.__table__, TASK_COLUMNS, [
            (sub_id[n], t.code, t.group, t.text, t.status, t.description, t.status_cell)
            for n in kept for t in entries[n].parsed.tasks])
        _load(conn, Narrative.__table__, NARRATIVE_COLUMNS, [
            (sub_id[n], k, text, cell) for n in kept
            for k, (text, cell) in entries[n].parsed.narratives.items()])
        slots = refresh_slots(engine, conn, prog.code, {
            (entries[n].parsed.period or "", entries[n].parsed.unit) for n in kept})
        for n in fresh:
            if not entries[n].accepted:
                results[n] = MergeResult(sub_id[n], False, None, False)
            else:
                version, current = slots.get(sub_id[n], (None, False))
                results[n] = MergeResult(sub_id[n], False, version, current)
        for n, r in enumerate(results):  # twins answer as what their first became
            if isinstance(r, _Later):
                first = results[r.n]
                results[n] = MergeResult(first.submission_id, True, first.version,
                                         first.is_current)
    return [r for r in results]  # type: ignore[misc]


@dataclass(frozen=True)
class _Pending:
    n: int  # recorded in this batch, at this index


@dataclass(frozen=True)
class _Later:
    n: int  # the same checksum as the entry at this index


def _existing(conn, checksums: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    wanted = sorted(checksums)
    cols = (Submission.id, Submission.checksum, Submission.version, Submission.is_current)
    for start in range(0, len(wanted), IN_LIST):
        for row in conn.execute(select(*cols).where(
                Submission.checksum.in_(wanted[start:start + IN_LIST]))):
            out[row.checksum] = row
    return out


def _submission_row(prog: Programme, e: Entry, now: datetime) -> dict[str, Any]:
    parsed, info, validation = e.parsed, e.info, e.validation
    errors = sum(p.severity == "error" for p in parsed.problems)
    warnings = sum(p.severity == "warning" for p in parsed.problems)
    return dict(
        programme=prog.code, period=parsed.period or "", unit_code=parsed.unit,
        unit_valid_from=parsed.unit_valid_from, file_name=info.file_name,
        bucket_path=info.bucket_path, archive_path=e.archive_path,
        receipt_path=e.receipt_path, checksum=info.checksum, size_bytes=info.size_bytes,
        received_at=info.received_at, processed_at=now,
        status="accepted" if e.accepted else "rejected", version=None, is_current=False,
        late=e.late, form_version=parsed.form_version,
        rules_run=validation.get("rules_run", 0),
        rules_failed=validation.get("rules_failed", 0), errors=errors, warnings=warnings,
        validation=validation, return_reason="")


def _load(conn, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Append ``rows`` (tuples in ``columns`` order) to ``table`` in the open transaction:
    ``COPY`` on PostgreSQL, the driver's ``executemany`` on SQLite."""
    if not rows:
        return
    dialect = conn.dialect.name
    raw = conn.connection.dbapi_connection
    if dialect == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
            for row in rows:  # psycopg adapts each value (measured faster than one string)
                copy.write_row(row)
        return
    if dialect == "sqlite":
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        cur = raw.cursor()
        try:
            cur.executemany(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', rows)
        finally:
            cur.close()
        return
    conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


_SET_VERSION = (update(Submission).where(Submission.id == bindparam("sid"))
                .values(version=bindparam("v"), is_current=bindparam("c")))


def refresh_slots(engine: Engine, conn, programme: str, slots: set[tuple[str, str]]
                  ) -> dict[int, tuple[int, bool]]:
    """Renumber the accepted versions of each (period, unit) slot in arrival order and point
    each slot at its newest accepted version, set-based; slots are created if missing and
    locked in key order first. Returns (version, current) by submission id."""
    keys = sorted(slots)
    if not keys:
        return {}
    table = ReportSlot.__table__
    conn.execute(dialect_insert(engine, table).on_conflict_do_nothing(), [
        {"programme": programme, "period": p, "unit_code": u, "current_submission_id": None}
        for p, u in keys])  # executemany, in key order
    subs: dict[tuple[str, str], list[Any]] = {k: [] for k in keys}
    pointing: dict[tuple[str, str], int | None] = {}
    for start in range(0, len(keys), IN_LIST):
        part = keys[start:start + IN_LIST]
        where = (table.c.programme == programme,
                 tuple_(table.c.period, table.c.unit_code).in_(part))
        lock = (select(table.c.period, table.c.unit_code, table.c.current_submission_id)
                .where(*where).order_by(table.c.period, table.c.unit_code))
        if engine.dialect.name == "postgresql":
            lock = lock.with_for_update()
        pointing.update({(r.period, r.unit_code): r.current_submission_id
                         for r in conn.execute(lock)})
        for s in conn.execute(
                select(Submission.id, Submission.period, Submission.unit_code,
                       Submission.status, Submission.version, Submission.is_current)
                .where(Submission.programme == programme,
                       tuple_(Submission.period, Submission.unit_code).in_(part),
                       Submission.status.in_(["accepted", "returned"]))
                .order_by(Submission.received_at, Submission.bucket_path, Submission.id)):
            subs[(s.period, s.unit_code)].append(s)
    changes, pointers, out = [], [], {}
    for (period, unit), rows in subs.items():
        current = next((s.id for s in reversed(rows) if s.status == "accepted"), None)
        for n, s in enumerate(rows, 1):
            want = (n, s.id == current)
            out[s.id] = want
            if (s.version, bool(s.is_current)) != want:
                changes.append({"sid": s.id, "v": n, "c": want[1]})
        if pointing.get((period, unit)) != current:
            pointers.append({"p": period, "u": unit, "cur": current})
    if changes:
        conn.execute(_SET_VERSION, changes)
    if pointers:
        conn.execute(update(table).where(table.c.programme == programme,
                                         table.c.period == bindparam("p"),
                                         table.c.unit_code == bindparam("u"))
                     .values(current_submission_id=bindparam("cur")), pointers)
    return out
