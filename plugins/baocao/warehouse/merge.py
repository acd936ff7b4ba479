"""Record submissions in the warehouse: one transaction each, idempotent on the checksum.

The newest accepted (not returned) version of a unit's period, by time received (then object
key), is current; older versions stay, marked superseded. A per-(programme, period, unit)
slot row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers) so
racing merges of two versions end with the newer one current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from baocao.parsing import ParsedSubmission, Problem
from baocao.programme import Programme
from baocao.warehouse.models import (
    FactValue,
    Issue,
    Narrative,
    PeriodRow,
    ReportSlot,
    Submission,
    TaskResult,
    UnitRow,
)


@dataclass(frozen=True)
class FileInfo:
    file_name: str
    bucket_path: str
    checksum: str
    size_bytes: int
    received_at: datetime


@dataclass(frozen=True)
class MergeResult:
    submission_id: int
    duplicate: bool
    version: int | None
    is_current: bool


def dialect_insert(engine: Engine, table):
    """INSERT with the dialect's ON CONFLICT support (SQLite and PostgreSQL)."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"warehouse dialect {dialect} is not supported")


def upsert(engine: Engine, conn, table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert or update ``rows`` on the primary/unique ``keys`` (SQLite and PostgreSQL)."""
    if not rows:
        return
    stmt = dialect_insert(engine, table)
    cols = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c: stmt.excluded[c] for c in cols})
    conn.execute(stmt, rows)


def sync_programme(engine: Engine, prog: Programme) -> None:
    """Mirror the programme's units and periods into the warehouse (idempotent)."""
    units = [{"programme": prog.code, "code": u.code, "valid_from": u.valid_from,
              "valid_to": u.valid_to, "name": u.name, "kind": u.kind,
              "successors": list(u.successors)} for u in prog.units]
    periods = []
    for year in range(prog.first_year, prog.last_year + 1):
        for kind in ("H1", "Y"):
            p = prog.period(f"{year}-{kind}")
            periods.append({"programme": prog.code, "code": p.code, "kind": p.kind,
                            "year": p.year, "title": p.title, "cutoff_start": p.cutoff_start,
                            "cutoff_end": p.cutoff_end, "deadline": p.deadline})
    with engine.begin() as conn:
        upsert(engine, conn, UnitRow.__table__, units, ["programme", "code", "valid_from"])
        upsert(engine, conn, PeriodRow.__table__, periods, ["programme", "code"])


def find_by_checksum(engine: Engine, checksum: str):
    """The submission row (columns as attributes) with this checksum, or None."""
    with engine.connect() as conn:
        return conn.execute(select(Submission.__table__)
                            .where(Submission.checksum == checksum)).first()


_INSERT_SUBMISSION = insert(Submission).returning(Submission.id)  # built once: hot path


def record_submission(engine: Engine, prog: Programme, parsed: ParsedSubmission,
                      info: FileInfo, *, accepted: bool, late: bool,
                      validation: dict[str, Any], archive_path: str = "",
                      receipt_path: str = "",
                      _fault: Callable[[int], None] | None = None) -> MergeResult:
    """Record one received file; accepted ones with all their rows, all or nothing.

    Recording the same checksum again changes nothing and returns ``duplicate=True``.
    ``_fault`` is a test hook called after half the values are written.
    """
    with engine.begin() as conn:
        existing = conn.execute(select(Submission.id, Submission.version, Submission.is_current)
                                .where(Submission.checksum == info.checksum)).first()
        if existing:
            return MergeResult(existing.id, True, existing.version, bool(existing.is_current))
        errors = [p for p in parsed.problems if p.severity == "error"]
        warnings = [p for p in parsed.problems if p.severity == "warning"]
        sub_id = conn.execute(_INSERT_SUBMISSION, dict(
            programme=prog.code, period=parsed.period or "", unit_code=parsed.unit,
            unit_valid_from=parsed.unit_valid_from, file_name=info.file_name,
            bucket_path=info.bucket_path, archive_path=archive_path, receipt_path=receipt_path,
            checksum=info.checksum, size_bytes=info.size_bytes, received_at=info.received_at,
            processed_at=datetime.now(UTC), status="accepted" if accepted else "rejected",
            version=None, is_current=False, late=late, form_version=parsed.form_version,
            rules_run=validation.get("rules_run", 0),
            rules_failed=validation.get("rules_failed", 0), errors=len(errors),
            warnings=len(warnings), validation=validation, return_reason="",
        )).scalar_one()
        if errors or warnings:
            conn.execute(insert(Issue), [issue_row(sub_id, p) for p in errors + warnings])
        if not accepted:
            return MergeResult(sub_id, False, None, False)
        rows = [{"submission_id": sub_id, "sheet": v.sheet, "cell": v.cell,
                 "indicator": v.indicator, "row_key": v.row, "col_key": v.col,
                 "value": v.value, "computed": v.computed} for v in parsed.values]
        half = len(rows) // 2
        if rows[:half]:
            conn.execute(insert(FactValue), rows[:half])
        if _fault:
            _fault(sub_id)
        if rows[half:]:
            conn.execute(insert(FactValue), rows[half:])
        if parsed.tasks:
            conn.execute(insert(TaskResult), [
                {"submission_id": sub_id, "task_code": t.code, "task_group": t.group,
                 "task_text": t.text, "status": t.status, "description": t.description,
                 "cell": t.status_cell} for t in parsed.tasks])
        if parsed.narratives:
            conn.execute(insert(Narrative), [
                {"submission_id": sub_id, "key": k, "text": text, "cell": cell}
                for k, (text, cell) in parsed.narratives.items()])
        version, current = _refresh_slot(engine, conn, prog.code, parsed.period, parsed.unit,
                                         sub_id)
        return MergeResult(sub_id, False, version, current)


def issue_row(sub_id: int, p: Problem) -> dict[str, Any]:
    """The `submission_issues` row of one problem of a submission."""
    return {"submission_id": sub_id, "rule": p.rule, "severity": p.severity,
            "sheet": p.sheet[:64], "cell": p.cell[:16], "value": p.value[:200],
            "message": p.message}


def _refresh_slot(engine: Engine, conn, programme: str, period: str, unit: str,
                  sub_id: int | None = None) -> tuple[int | None, bool]:
    """Lock the slot, renumber accepted versions in arrival order (time received, then the
    file's key: never the order a run processed them), point at the newest."""
    slot_key = {"programme": programme, "period": period, "unit_code": unit}
    conn.execute(dialect_insert(engine, ReportSlot.__table__).values(**slot_key,
                 current_submission_id=None).on_conflict_do_nothing())
    lock = select(ReportSlot).where(*[getattr(ReportSlot, k) == v for k, v in slot_key.items()])
    if engine.dialect.name == "postgresql":
        lock = lock.with_for_update()
    conn.execute(lock).first()
    subs = conn.execute(
        select(Submission.id, Submission.status, Submission.version, Submission.is_current)
        .where(Submission.programme == programme, Submission.period == period,
               Submission.unit_code == unit, Submission.status.in_(["accepted", "returned"]))
        .order_by(Submission.received_at, Submission.bucket_path, Submission.id)).all()
    current_id = next((s.id for s in reversed(subs) if s.status == "accepted"), None)
    for n, s in enumerate(subs, 1):
        want = (n, s.id == current_id)
        if (s.version, bool(s.is_current)) != want:
            conn.execute(update(Submission).where(Submission.id == s.id)
                         .values(version=want[0], is_current=want[1]))
    conn.execute(update(ReportSlot).where(*[getattr(ReportSlot, k) == v
                                            for k, v in slot_key.items()])
                 .values(current_submission_id=current_id))
    version = next((n for n, s in enumerate(subs, 1) if s.id == sub_id), None)
    return version, current_id == sub_id


def return_submission(engine: Engine, submission_id: int, reason: str,
                      programme: str | None = None):
    """Return an accepted current submission for correction; it stops counting."""
    with engine.begin() as conn:
        sub = conn.execute(select(Submission.__table__)
                           .where(Submission.id == submission_id)).first()
        if sub is None:
            raise LookupError(f"không có báo cáo số {submission_id}")
        if programme and sub.programme != programme:
            raise LookupError(f"báo cáo số {submission_id} thuộc chương trình {sub.programme},"
                              f" không thuộc {programme}")
        if sub.status != "accepted":
            state = {"rejected": "đã bị từ chối", "returned": "đã bị trả lại trước đó"}
            raise ValueError(f"báo cáo số {submission_id} {state.get(sub.status, sub.status)}"
                             ", chỉ trả lại được báo cáo đã tiếp nhận")
        if not sub.is_current:
            raise ValueError(f"báo cáo số {submission_id} đã được thay bằng phiên bản mới hơn "
                             "của đơn vị, không trả lại được")
        conn.execute(update(Submission).where(Submission.id == submission_id)
                     .values(status="returned", return_reason=reason))
        _refresh_slot(engine, conn, sub.programme, sub.period, sub.unit_code)
        return sub


def set_receipt(engine: Engine, submission_id: int, receipt_path: str) -> None:
    """Point a submission at its latest receipt (e.g. the notice that it was returned)."""
    with engine.begin() as conn:
        conn.execute(update(Submission).where(Submission.id == submission_id)
                     .values(receipt_path=receipt_path))


def find_by_checksums(engine: Engine, checksums: set[str]) -> dict[str, Any]:
    """Submission rows by checksum for many files at once (absent ones are left out)."""
    out: dict[str, Any] = {}
    wanted = sorted(checksums)
    with engine.connect() as conn:
        for start in range(0, len(wanted), 400):
            for row in conn.execute(select(Submission.__table__).where(
                    Submission.checksum.in_(wanted[start:start + 400]))):
                out[row.checksum] = row
    return out
