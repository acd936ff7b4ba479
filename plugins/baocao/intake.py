"""The intake: list, claim, check, answer, record and archive files dropped in the bucket.

Layout of a programme's root (``programme_root``; ``file://`` by default, ``s3://`` in
production, both via ObjectStoragePath; the paths come from :mod:`baocao.layout`)::

    inbox/<unit-code>/<any name>.xlsx        units drop their filled forms here
    receipts/<unit-code>/<name>__<sum>.html  the pipeline answers here
    archive/accepted/<unit>/<period>/...     originals of accepted files
    archive/rejected/<unit>/...              originals of rejected files
    archive/duplicates/<unit>/...            exact copies of files already received
    templates/<period>/<unit>.xlsx           blank forms published for a period
    archive/unroutable/{root,inbox}/...      files dropped outside a unit folder

Nothing is ever deleted: a file leaves the inbox only after its copy is in the archive.
A file at the bucket root or directly in ``inbox/`` belongs to no unit, so no receipt can
reach its sender: it is moved to ``archive/unroutable/``, logged as a warning and listed in
the run summary (status ``unroutable``) for the engineers to forward by hand. A folder
``inbox/<code>/`` whose code is no unit of the programme gets a rejection receipt in
``receipts/<code>/`` (the sender looks there) saying so.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, select, update

from baocao import layout
from baocao.parsing import ParsedSubmission, parse_submission, period_timing_problems
from baocao.programme import Programme
from baocao.receipts import ReceiptData, recorded_totals, render_receipt
from baocao.timezone import VN_TZ
from baocao.warehouse.merge import (
    FileInfo,
    dialect_insert,
    find_by_checksum,
    find_by_checksums,
)
from baocao.warehouse.merge import record_submission as record
from baocao.warehouse.models import IntakeClaim

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=30)
OUTCOME_TEXT = {"accepted": "đã tiếp nhận", "rejected": "bị từ chối",
                "returned": "bị trả lại để chỉnh sửa"}
IGNORED_PREFIXES = ("~$", ".", "_")  # Excel lock files, hidden and partial uploads


def bucket_root(url: str | None = None, conn_id: str | None = None):
    """The bucket as an ObjectStoragePath (built at call time, never at import)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.config import settings

    cfg = settings()
    return ObjectStoragePath(url or cfg.bucket_url, conn_id=conn_id or cfg.bucket_conn_id)


def programme_root(programme: str, bucket_url: str | None = None):
    """A programme's root in the bucket (``<bucket>/<programme>/``, see ``baocao.layout``):
    every path the intake writes and the warehouse records is relative to it."""
    return bucket_root(layout.programme_url(programme, bucket_url))


def _mtime(path) -> datetime:
    st = path.stat()
    get = st.get if hasattr(st, "get") else lambda k, d=None: getattr(st, k, d)
    value = get("mtime") or get("LastModified") or get("last_modified") or get("created")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if value is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(float(value), UTC)


@dataclass
class InboxFile:
    path: str  # key relative to the bucket root
    unit_code: str
    file_name: str


def list_inbox(root) -> list[InboxFile]:
    """Files waiting in ``inbox/<unit>/`` in order of arrival (then name), so versions are
    numbered as they arrived; lock and partial files skipped."""
    inbox = root / layout.INBOX
    if not inbox.exists():
        return []
    out: list[tuple[datetime, InboxFile]] = []
    for unit_dir in sorted(inbox.iterdir(), key=lambda p: p.name):
        if not unit_dir.is_dir():
            log.error("file %s lies outside a unit folder; it stays in the inbox", unit_dir.name)
            continue
        for f in sorted(unit_dir.rglob("*"), key=lambda p: str(p)):
            if f.is_file() and not f.name.startswith(IGNORED_PREFIXES):
                rel = f"{layout.unit_inbox(unit_dir.name)}{_rel(f, unit_dir)}"
                try:
                    arrived = _mtime(f)
                except FileNotFoundError:  # taken away by a concurrent run meanwhile
                    continue
                out.append((arrived, InboxFile(rel, unit_dir.name,
                                               unicodedata.normalize("NFC", f.name))))
    return [item for _when, item in sorted(out, key=lambda x: (x[0], x[1].path))]


def _rel(path, parent) -> str:
    return str(path.path)[len(str(parent.path)):].lstrip("/")


def sweep_unroutable(root) -> list[Outcome]:
    """Move files lying at the bucket root or directly in ``inbox/`` (no unit to answer)
    to ``archive/unroutable/``; never deleted, each one logged and returned."""
    out: list[Outcome] = []
    for folder, where in ((root, "root"), (root / layout.INBOX, "inbox")):
        if not folder.exists():
            continue
        for f in sorted(folder.iterdir(), key=lambda p: p.name):
            if f.name.startswith(IGNORED_PREFIXES) or not f.is_file():
                continue
            name = unicodedata.normalize("NFC", f.name)
            path = name if where == "root" else f"{layout.INBOX}/{name}"
            try:
                stamp = _mtime(f).astimezone(VN_TZ).strftime("%Y%m%dT%H%M%S")
                rel = layout.archive_unroutable(where, stamp, _safe(name))
                _copy_then_delete(f, root / rel)
            except Exception:  # noqa: BLE001 - it stays where it is; tried again next run
                log.exception("%s: outside a unit folder and could not be moved", path)
                continue
            log.warning("%s: dropped outside inbox/<unit-code>/, no receipt possible; moved "
                        "to %s for the engineers to forward", path, rel)
            out.append(Outcome(path, "", "unroutable", archive=rel))
    return out


def claim(engine: Engine, path: str, checksum: str, run_id: str) -> str:
    """Take one file for this run (see ``claim_many``)."""
    return claim_many(engine, [(path, checksum)], run_id)[(path, checksum)]


def claim_many(engine: Engine, files: list[tuple[str, str]], run_id: str
               ) -> dict[tuple[str, str], str]:
    """Take files for this run in one transaction; per (path, checksum): ``"new"`` (first
    time, or the same file sent again after it was done), ``"resumed"`` (an unfinished
    claim: this run's own retry, or a dead run's after its lease), ``""`` if another live
    run holds it. Two runs racing for a file: exactly one gets it."""
    now = datetime.now(UTC)
    table = IntakeClaim.__table__
    out: dict[tuple[str, str], str] = {}
    with engine.begin() as conn:
        for start in range(0, len(files), 400):  # bound the IN list
            part = files[start:start + 400]
            query = select(table).where(table.c.path.in_({p for p, _ in part}))
            if engine.dialect.name == "postgresql":
                query = query.with_for_update()
            held = {(r.path, r.checksum): r for r in conn.execute(query)}
            fresh = [f for f in part if f not in held]
            if fresh:
                stmt = dialect_insert(engine, table).values(
                    [{"path": p, "checksum": c, "claimed_by": run_id, "claimed_at": now,
                      "done": False} for p, c in fresh]).on_conflict_do_nothing()
                got = {(r.path, r.checksum) for r in conn.execute(
                    stmt.returning(table.c.path, table.c.checksum))}
                out.update({f: "new" if f in got else "" for f in fresh})
            for (path, checksum), row in held.items():
                if (path, checksum) not in part:
                    continue
                where = (table.c.path == path, table.c.checksum == checksum)
                if row.done:  # sent again under the same name: a new arrival (one run wins)
                    taken = conn.execute(update(table).where(*where, table.c.done.is_(True))
                                         .values(claimed_by=run_id, claimed_at=now,
                                                 done=False))
                    out[(path, checksum)] = "new" if taken.rowcount == 1 else ""
                elif row.claimed_by == run_id or now - _aware(row.claimed_at) > CLAIM_LEASE:
                    conn.execute(update(table).where(*where)
                                 .values(claimed_by=run_id, claimed_at=now))
                    out[(path, checksum)] = "resumed"
                else:
                    out[(path, checksum)] = ""
    return out


def expire_claims(engine: Engine, run_id: str) -> None:
    """Let the next run take over at once the files this aborted run left unfinished."""
    table = IntakeClaim.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.claimed_by == run_id, table.c.done.is_(False))
                     .values(claimed_at=datetime.now(UTC) - 2 * CLAIM_LEASE))


def release(engine: Engine, path: str, checksum: str) -> None:
    release_many(engine, [(path, checksum)])


def release_many(engine: Engine, files: list[tuple[str, str]]) -> None:
    """Mark finished files' claims done (one transaction)."""
    if not files:
        return
    table = IntakeClaim.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.path == bindparam("p"),
                                         table.c.checksum == bindparam("c"))
                     .values(done=True), [{"p": p, "c": c} for p, c in files])


@dataclass
class Outcome:
    path: str
    unit_code: str
    status: str  # accepted | rejected | duplicate | skipped | unroutable
    period: str = ""
    submission_id: int | None = None
    version: int | None = None
    late: bool = False
    errors: int = 0
    warnings: int = 0
    rules_run: int = 0
    rules_failed: int = 0
    receipt: str = ""
    archive: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _copy_then_delete(src, dst) -> None:
    """Move within the bucket without a window where the file exists nowhere."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    if not dst.exists() or dst.read_bytes() != data:
        dst.write_bytes(data)
    src.unlink()


def _safe(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in name)
    return keep.strip()[:150] or "tep"


@dataclass
class _Pending:
    """A claimed, new file between parsing and recording."""

    item: InboxFile
    checksum: str
    size: int
    received_at: datetime
    parsed: ParsedSubmission
    summary: dict[str, Any]


def _take(root, engine: Engine, prog: Programme, item: InboxFile, run_id: str,
          now: datetime, pre: tuple | None = None, done: list | None = None
          ) -> Outcome | _Pending:
    """Read and claim one file; answer duplicates at once; parse the rest. ``pre`` is
    (data, checksum, claim, existing submission) when the run read and claimed a batch;
    ``done`` collects finished claims to release in one go."""
    src = root / item.path
    if pre is None:
        data, checksum, size = read_capped(src)
        taken = claim(engine, item.path, checksum, run_id)
        existing = find_by_checksum(engine, checksum) if taken else None
    else:
        data, checksum, taken, existing, size = pre
    if not taken:
        return Outcome(item.path, item.unit_code, "skipped")
    received_at = _mtime(src)
    if existing is None or (taken == "resumed" and existing.bucket_path == item.path):
        # new; or recorded by an interrupted run of this very file: recording again is a
        # no-op, the receipt and the archive copy are (re)written under the same names
        parsed = parse_submission(data, prog, item.unit_code, size)
        parsed.problems.extend(period_timing_problems(prog, parsed, received_at))
        return _Pending(item, checksum, size, received_at, parsed,
                        {"rules_run": 0, "rules_passed": 0, "rules_failed": 0,
                         "failed_rules": []})
    stamp = received_at.astimezone(VN_TZ).strftime("%Y%m%dT%H%M%S")
    unit = _safe(item.unit_code)
    archive_rel = layout.archive_duplicate(unit, stamp, _safe(item.file_name))
    stem = _safe(item.file_name.rsplit(".", 1)[0])
    receipt_rel = layout.receipt_file(unit, stem, checksum, stamp)
    first = _aware(existing.received_at).astimezone(VN_TZ)
    _write_receipt(root, receipt_rel, prog, ReceiptData(
        status="duplicate", unit_code=item.unit_code, unit_name=_unit_name(prog, item.unit_code),
        file_name=item.file_name, checksum=checksum, received_at=received_at,
        processed_at=now, reason=f"Tệp đã được nhận lúc {first:%H:%M ngày %d/%m/%Y} "
        f"(kết quả lần đó: {OUTCOME_TEXT.get(existing.status, existing.status)})."))
    _copy_then_delete(src, root / archive_rel)
    _release(engine, item.path, checksum, done)
    log.info("%s: duplicate of submission %s", item.path, existing.id)
    return Outcome(item.path, item.unit_code, "duplicate", existing.period, existing.id,
                   receipt=receipt_rel, archive=archive_rel)


def _release(engine: Engine, path: str, checksum: str, done: list | None) -> None:
    if done is None:
        release(engine, path, checksum)
    else:
        done.append((path, checksum))


def _finish(root, engine: Engine, prog: Programme, p: _Pending, now: datetime,
            done: list | None = None) -> Outcome:
    """Write the receipt, record in the warehouse (one transaction), archive, release."""
    item, parsed = p.item, p.parsed
    accepted = not parsed.errors
    period = prog.period(parsed.period) if _valid_period(prog, parsed) else None
    late = bool(period and p.received_at.astimezone(VN_TZ).date() > period.deadline)
    unit = _safe(item.unit_code)
    stem = _safe(item.file_name.rsplit(".", 1)[0])
    receipt_rel = layout.receipt_file(unit, stem, p.checksum)
    archive_rel = (layout.archive_accepted(unit, _safe(parsed.period), p.checksum,
                                           _safe(item.file_name)) if accepted
                   else layout.archive_rejected(unit, p.checksum, _safe(item.file_name)))
    info = FileInfo(item.file_name, item.path, p.checksum, p.size, p.received_at)
    merged = record(engine, prog, parsed, info, accepted=accepted, late=late,
                    validation=p.summary, archive_path=archive_rel, receipt_path=receipt_rel)
    _write_receipt(root, receipt_rel, prog, ReceiptData(
        status="accepted" if accepted else "rejected", unit_code=item.unit_code,
        unit_name=_unit_name(prog, item.unit_code), file_name=item.file_name,
        checksum=p.checksum, received_at=p.received_at, processed_at=now,
        period_title=period.title if period else "",
        deadline=f"{period.deadline:%d/%m/%Y}" if period else "", late=late,
        version=merged.version, problems=parsed.problems,
        totals=recorded_totals(prog, parsed) if accepted else []))
    _copy_then_delete(root / item.path, root / archive_rel)
    _release(engine, item.path, p.checksum, done)
    out = Outcome(item.path, item.unit_code, "accepted" if accepted else "rejected",
                  parsed.period, merged.submission_id, merged.version, late,
                  len(parsed.errors), len(parsed.problems) - len(parsed.errors),
                  p.summary["rules_run"], p.summary["rules_failed"], receipt_rel, archive_rel)
    log.info("%s: %s (period %s, version %s, late %s): %d rules run, %d failed %s, "
             "%d errors, %d warnings", item.path, out.status, out.period or "?", out.version,
             out.late, out.rules_run, out.rules_failed, p.summary["failed_rules"], out.errors,
             out.warnings)
    return out


def _valid_period(prog: Programme, parsed: ParsedSubmission) -> bool:
    try:
        prog.period(parsed.period)
    except ValueError:
        return False
    return True


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _unit_name(prog: Programme, code: str) -> str:
    found = prog.units_by_code(code)
    return max(found, key=lambda u: u.valid_from).name if found else f"Đơn vị mã {code}"


def _write_receipt(root, rel: str, prog: Programme, data: ReceiptData) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_receipt(prog, data).encode("utf-8"))


# exception classes (by name, across the cause chain) meaning the bucket or the warehouse is
# unreachable: botocore's ConnectionError family and HTTPClientError, SQLAlchemy's
# OperationalError/InterfaceError (server restarting), the builtin ConnectionError/TimeoutError
OUTAGE_ERRORS = {"ConnectionError", "HTTPClientError", "TimeoutError", "OperationalError",
                 "InterfaceError", "ClientConnectorError", "ServerDisconnectedError"}


def unreachable(exc: BaseException | None) -> bool:
    """True when ``exc`` is an outage of the object store or the database, not a bad file."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__name__ in OUTAGE_ERRORS for cls in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _release_quietly(engine: Engine, done: list[tuple[str, str]]) -> None:
    try:
        release_many(engine, done)
    except Exception:  # noqa: BLE001 - the warehouse may be what is down; leases expire
        log.warning("could not mark %d finished claim(s) done", len(done))


READ_BATCH = 100  # files read, claimed and looked up together (bounds memory)


def read_capped(path) -> tuple[bytes, str, int]:
    """(data, sha256, size) of a file; past the size limit only the head is kept (the rest
    is hashed as it streams by), so a huge upload never sits in memory."""
    from baocao.workbook import MAX_FILE_BYTES

    digest = hashlib.sha256()
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
        digest.update(data)
        size = len(data)
        if size > MAX_FILE_BYTES:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return data, digest.hexdigest(), size


def _take_batch(root, engine: Engine, prog: Programme, items: list[InboxFile], run_id: str,
                now: datetime, done: list) -> list[tuple[InboxFile, Any]]:
    """Read a batch of files, claim them and look their checksums up in one transaction
    each, then take them one by one; per file an Outcome, a _Pending, or None (failed, it
    stays in the inbox). An outage stops the run."""
    reads: list[tuple[InboxFile, bytes, str, int]] = []
    out: list[tuple[InboxFile, Any]] = []
    for item in items:
        try:
            reads.append((item, *read_capped(root / item.path)))
        except Exception as exc:
            _abort_if_unreachable(exc, engine, run_id, item.path)
            log.exception("%s: failed; it stays in the inbox for the next run", item.path)
            out.append((item, None))
    if not reads:
        return out
    try:
        claims = claim_many(engine, [(r[0].path, r[2]) for r in reads], run_id)
        existing = find_by_checksums(engine, {r[2] for r in reads if claims[(r[0].path, r[2])]})
    except Exception as exc:
        _abort_if_unreachable(exc, engine, run_id, reads[0][0].path)
        raise
    for item, data, checksum, size in reads:
        try:
            out.append((item, _take(root, engine, prog, item, run_id, now, pre=(
                data, checksum, claims[(item.path, checksum)], existing.get(checksum), size),
                done=done)))
        except Exception as exc:
            _abort_if_unreachable(exc, engine, run_id, item.path)
            log.exception("%s: failed; it stays in the inbox for the next run", item.path)
            out.append((item, None))
    return out


def _abort_if_unreachable(exc: Exception, engine: Engine, run_id: str, path: str) -> None:
    """Stop the whole run on an outage (the task retries with backoff) instead of failing
    every remaining file one by one; unfinished claims are left to the retry."""
    if not unreachable(exc):
        return
    try:
        expire_claims(engine, run_id)
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        log.warning("could not expire the claims of %s", run_id)
    raise RuntimeError(f"object store or warehouse unreachable at {path}; the run stops "
                       f"here and the files left stay in the inbox: {exc}") from exc


def run_intake(prog: Programme, engine: Engine, root, run_id: str | None = None,
               chunk: int = 1000, validator=None) -> list[Outcome]:
    """Process every file in the inbox: one GX context for the run, one GX validation per
    rule group per chunk of files, then one warehouse transaction per file."""
    from baocao.history import year_on_year_warnings
    from baocao.validation import Validator

    run_id = run_id or f"{socket.gethostname()}:{datetime.now(UTC).isoformat()}"
    swept = sweep_unroutable(root)
    items = list_inbox(root)
    log.info("intake %s: %d file(s) in the inbox", prog.code, len(items))
    if not items:
        return swept
    validator = validator or Validator(prog)
    outcomes: list[Outcome] = list(swept)
    failed: list[str] = []
    for start in range(0, len(items), chunk):
        now = datetime.now(UTC)
        pending: list[_Pending] = []
        done: list[tuple[str, str]] = []
        try:
            batch = items[start:start + chunk]
            for first in range(0, len(batch), READ_BATCH):
                for item, taken in _take_batch(root, engine, prog, batch[first:first + READ_BATCH],
                                               run_id, now, done):
                    if isinstance(taken, _Pending):
                        pending.append(taken)
                    elif isinstance(taken, Outcome):
                        outcomes.append(taken)
                    else:
                        failed.append(item.path)
            readable = [p for p in pending if p.parsed.readable]
            summaries = validator.validate_many([
                (p.parsed, prog.unit_sheets(prog.unit(p.item.unit_code,
                                                      prog.period(p.parsed.period).deadline)))
                for p in readable])
            for p, summary in zip(readable, summaries, strict=True):
                p.summary = summary.as_dict()
                p.parsed.problems.extend(year_on_year_warnings(engine, prog, p.parsed))
            twins: list[InboxFile] = []
            seen: set[str] = set()
            for p in sorted(pending, key=lambda p: p.received_at):  # versions in arrival order
                if p.checksum in seen:  # the same bytes twice in one chunk: answered below
                    twins.append(p.item)
                    continue
                seen.add(p.checksum)
                try:
                    outcomes.append(_finish(root, engine, prog, p, now, done))
                except Exception as exc:
                    _abort_if_unreachable(exc, engine, run_id, p.item.path)
                    log.exception("%s: failed; it stays in the inbox for the next run",
                                  p.item.path)
                    failed.append(p.item.path)
        finally:  # finished files are marked done even when an outage stops the run
            _release_quietly(engine, done)
        for item in twins:  # now recorded: taken again, each is answered "already received"
            try:
                taken = _take(root, engine, prog, item, run_id, now)
            except Exception as exc:
                _abort_if_unreachable(exc, engine, run_id, item.path)
                log.exception("%s: failed; it stays in the inbox for the next run", item.path)
                taken = None
            if isinstance(taken, Outcome):
                outcomes.append(taken)
            else:  # its twin failed: both wait for the next run
                failed.append(item.path)
    if failed:
        raise RuntimeError(f"{len(failed)} file(s) could not be processed: {failed}")
    return outcomes
