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

One file can never stop the intake. Files are read and checked in worker processes with
memory and time limits (``baocao.isolation``): a file that crashes or exhausts its reader is
rejected with a receipt and archived, and the run goes on. Files are taken in arrival order
(the object's last-modified time, then its key) and claimed by this process (an ``Owner``:
one per run and try, beating while it runs); the claims of an intake that ended, died or
stopped beating are taken over by the next run at once, so a crash costs minutes, not a
lease. A unit's later files wait while an earlier one is held or failed, so versions and
"already received" follow arrival, never the order runs happened to process them. A file
that stopped the intake twice while being answered is answered as unprocessable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from baocao import layout
from baocao.isolation import Job, ParsePool, unprocessable
from baocao.parsing import ParsedSubmission, period_timing_problems
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
from baocao.warehouse.models import IntakeClaim, IntakeOwner

log = logging.getLogger(__name__)
OWNER_TIMEOUT = timedelta(minutes=2)  # an intake on another machine that stopped beating
HEARTBEAT = timedelta(seconds=20)
POISON_AFTER = 2  # unfinished takes after which a file is answered, not tried again
POISONED = "tệp đã làm dừng hệ thống tiếp nhận hai lần nên không được xử lý tiếp"
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


class Owner:
    """This intake process in the claims table: one per run and try. It beats while it runs
    and ends when it stops; the claims of an owner that ended, died (same machine: its
    process is gone) or stopped beating (another machine) are taken over at once."""

    def __init__(self, engine: Engine, run_id: str) -> None:
        import psutil

        self.engine, self.run_id = engine, run_id
        self.id = uuid.uuid4().hex
        self.host = _host()
        self.pid = os.getpid()
        self.process_started = psutil.Process(self.pid).create_time()
        self._beaten = time.monotonic()
        now = datetime.now(UTC)
        table = IntakeOwner.__table__
        with engine.begin() as conn:
            # earlier intakes of this very process that did not end (this process runs one
            # intake at a time), and owners long ended: not running
            conn.execute(update(table).where(
                table.c.host == self.host, table.c.pid == self.pid,
                table.c.process_started == self.process_started, table.c.ended_at.is_(None))
                .values(ended_at=now))
            conn.execute(delete(table).where(table.c.ended_at < now - timedelta(days=30)))
            conn.execute(insert(table).values(
                id=self.id, run_id=run_id, host=self.host, pid=self.pid,
                process_started=self.process_started, started_at=now, heartbeat_at=now))

    def beat(self) -> None:
        """Tell other intakes this one is alive (a write every ``HEARTBEAT`` at most)."""
        if time.monotonic() - self._beaten < HEARTBEAT.total_seconds():
            return
        self._beaten = time.monotonic()
        table = IntakeOwner.__table__
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == self.id)
                         .values(heartbeat_at=datetime.now(UTC)))

    def working(self, path: str) -> None:
        """Record the file about to be answered (and beat): if this process dies now, that
        file counts one unfinished take."""
        self._beaten = time.monotonic()
        table = IntakeOwner.__table__
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == self.id)
                         .values(working_on=path, heartbeat_at=datetime.now(UTC)))

    def end(self) -> None:
        """This intake stops: whatever it still holds can be taken over at once."""
        table = IntakeOwner.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(update(table).where(table.c.id == self.id)
                             .values(ended_at=datetime.now(UTC), working_on=None))
        except Exception:  # noqa: BLE001 - the warehouse may be what is down
            log.warning("could not record the end of intake %s (%s); its claims are taken "
                        "over once its process is gone", self.id, self.run_id)

    def gone(self, row, now: datetime) -> bool:
        """Whether the owner ``row`` (None: unknown) is no longer running."""
        if row is None or row.ended_at is not None:
            return True
        if row.id == self.id:
            return False
        if row.run_id == self.run_id:  # an earlier try of this run (never two at once)
            return True
        if row.host == self.host:
            return not _alive(row.pid, row.process_started)
        return now - _aware(row.heartbeat_at) > OWNER_TIMEOUT


def _host() -> str:
    """This machine, and on Linux its process namespace (containers sharing a host name
    must not judge each other's process ids)."""
    try:
        space = os.readlink("/proc/self/ns/pid")
    except OSError:
        space = ""
    return f"{socket.gethostname()} {space}".strip()[:255]


def _alive(pid: int, started: float) -> bool:
    import psutil

    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:
        return False


@dataclass(frozen=True)
class Claim:
    """What ``claim_many`` got for a file: ``taken`` is ``"new"``, ``"resumed"`` (an
    unfinished claim of this or a gone owner) or ``""`` (a live intake holds it)."""

    taken: str
    unfinished: int = 0

    def __bool__(self) -> bool:
        return bool(self.taken)


def claim(engine: Engine, path: str, checksum: str, owner: Owner) -> Claim:
    """Take one file for ``owner`` (see ``claim_many``)."""
    return claim_many(engine, [(path, checksum)], owner)[(path, checksum)]


def claim_many(engine: Engine, files: list[tuple[str, str]], owner: Owner
               ) -> dict[tuple[str, str], Claim]:
    """Take files for ``owner`` in one transaction. A file done before and sent again under
    the same name is a new arrival; an unfinished claim of an owner that is gone is taken
    over. Two intakes racing for a file: exactly one gets it."""
    now = datetime.now(UTC)
    table, owners = IntakeClaim.__table__, IntakeOwner.__table__
    out: dict[tuple[str, str], Claim] = {}
    mine = {"owner": owner.id, "claimed_by": owner.run_id, "claimed_at": now}
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
                    [{"path": p, "checksum": c, "done": False, "unfinished": 0, **mine}
                     for p, c in fresh]).on_conflict_do_nothing()
                got = {(r.path, r.checksum) for r in conn.execute(
                    stmt.returning(table.c.path, table.c.checksum))}
                out.update({f: Claim("new" if f in got else "") for f in fresh})
            holders = {r.id: r for r in conn.execute(select(owners).where(owners.c.id.in_(
                {r.owner for r in held.values() if r.owner})))} if held else {}
            for key, row in held.items():
                if key not in part:
                    continue
                where = (table.c.path == key[0], table.c.checksum == key[1],
                         table.c.done.is_(row.done))
                if row.done:  # sent again under the same name: a new arrival
                    taken = conn.execute(update(table).where(*where)
                                         .values(done=False, unfinished=0, **mine))
                    out[key] = Claim("new" if taken.rowcount == 1 else "")
                elif row.owner == owner.id:
                    out[key] = Claim("resumed", row.unfinished)
                elif owner.gone(holders.get(row.owner), now):
                    same = table.c.owner.is_(None) if row.owner is None else \
                        table.c.owner == row.owner
                    taken = conn.execute(update(table).where(*where, same).values(**mine))
                    out[key] = Claim("resumed" if taken.rowcount == 1 else "", row.unfinished)
                else:
                    out[key] = Claim("")
    return out


def take_over(engine: Engine, owner: Owner, items: list[InboxFile]) -> set[str]:
    """Start of a run: the unfinished claims of every owner that is gone become this
    owner's. Those whose file left the inbox were finished (answered and archived) and are
    closed; the file a dead owner was answering when it died counts one more unfinished
    take. Returns the paths still held by live intakes."""
    now = datetime.now(UTC)
    inbox = {item.path for item in items}
    table, owners = IntakeClaim.__table__, IntakeOwner.__table__
    held: set[str] = set()
    with engine.begin() as conn:
        query = select(table).where(table.c.done.is_(False))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update()
        open_claims = conn.execute(query).all()
        holders = {r.id: r for r in conn.execute(select(owners).where(owners.c.id.in_(
            {c.owner for c in open_claims if c.owner})))} if open_claims else {}
        finished: list[tuple[str, str]] = []
        orphans: dict[str | None, list] = {}
        for c in open_claims:
            if c.owner == owner.id:
                continue
            if not owner.gone(holders.get(c.owner), now):
                held.add(c.path)
            elif c.path not in inbox:
                finished.append((c.path, c.checksum))
            else:
                orphans.setdefault(c.owner, []).append(c)
        if finished:
            conn.execute(update(table).where(table.c.path == bindparam("p"),
                                             table.c.checksum == bindparam("c"))
                         .values(done=True), [{"p": p, "c": c} for p, c in finished])
        for dead, claims in orphans.items():
            row = holders.get(dead)
            culprit = row.working_on if row is not None and row.ended_at is None else None
            conn.execute(update(table).where(table.c.path == bindparam("p"),
                                             table.c.checksum == bindparam("c"))
                         .values(owner=owner.id, claimed_by=owner.run_id, claimed_at=now,
                                 unfinished=bindparam("u")),
                         [{"p": c.path, "c": c.checksum,
                           "u": c.unfinished + (c.path == culprit)} for c in claims])
            log.warning("took over %d unfinished file(s) of intake %s (%s)%s", len(claims),
                        dead, row.run_id if row is not None else "unknown",
                        f"; it died while answering {culprit}" if culprit in
                        {c.path for c in claims} else "")
        gone = [d for d, row in holders.items()
                if row.ended_at is None and owner.gone(row, now)]
        if gone:
            conn.execute(update(owners).where(owners.c.id.in_(gone)).values(ended_at=now))
    if finished:
        log.info("closed %d claim(s) of stopped intakes whose files were already answered",
                 len(finished))
    return held


def mark_unfinished(engine: Engine, path: str, checksum: str) -> None:
    """A file failed in this run: one more unfinished take (at ``POISON_AFTER`` it is
    answered as unprocessable instead of being tried again)."""
    table = IntakeClaim.__table__
    try:
        with engine.begin() as conn:
            conn.execute(update(table).where(table.c.path == path, table.c.checksum == checksum)
                         .values(unfinished=table.c.unfinished + 1))
    except Exception:  # noqa: BLE001 - the warehouse may be what is down
        log.warning("could not count the failure of %s", path)


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
    """A claimed file to record once the workers have parsed it (``parsed``)."""

    item: InboxFile
    checksum: str
    size: int
    received_at: datetime
    parsed: ParsedSubmission | None
    summary: dict[str, Any]


def _same_object(existing, path: str, received_at: datetime) -> bool:
    """The recorded submission is this very object (same key, same arrival): an interrupted
    run recorded it and did not finish answering and archiving it. The same bytes sent again
    arrive later, and are answered "already received"."""
    return existing.bucket_path == path and \
        abs((_aware(existing.received_at) - received_at).total_seconds()) < 0.001


def _take(root, engine: Engine, prog: Programme, item: InboxFile, owner: Owner,
          now: datetime, pre: tuple | None = None, done: list | None = None
          ) -> Outcome | _Pending:
    """Claim one file; answer it at once when the same bytes were received before; else a
    _Pending to parse and record. ``pre`` is (data, checksum, claim, existing submission,
    size) when the run read and claimed a batch; ``done`` collects finished claims to
    release in one go."""
    src = root / item.path
    if pre is None:
        _data, checksum, size = read_capped(src)
        taken = claim(engine, item.path, checksum, owner)
        existing = find_by_checksum(engine, checksum) if taken else None
    else:
        _data, checksum, taken, existing, size = pre
    if not taken:
        return Outcome(item.path, item.unit_code, "skipped")
    received_at = _mtime(src)
    summary = {"rules_run": 0, "rules_passed": 0, "rules_failed": 0, "failed_rules": []}
    if existing is None and taken.unfinished >= POISON_AFTER:
        log.error("%s: %d runs stopped while processing it; answered as unprocessable",
                  item.path, taken.unfinished)
        return _Pending(item, checksum, size, received_at,
                        unprocessable(prog, item.unit_code, POISONED), summary)
    if existing is None or _same_object(existing, item.path, received_at):
        # new; or recorded by an interrupted run: recording again is a no-op, the receipt
        # and the archive copy are (re)written under the same names
        return _Pending(item, checksum, size, received_at, None, summary)
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


CHUNK_BYTES = 128 * 1024 * 1024  # a chunk ends at ``chunk`` files or this much content


@dataclass
class _Read:
    """A file read from the inbox; its parse job is with the workers (key: its path)."""

    item: InboxFile
    checksum: str
    size: int


class _Intake:
    """One run over the inbox, pipelined: while the main process claims, validates, records,
    answers and archives one chunk in arrival order, the workers parse the next one.
    Keeps what the run answered, what failed and which units must wait."""

    def __init__(self, prog: Programme, engine: Engine, root, owner: Owner, pool: ParsePool,
                 validator, held: set[str]) -> None:
        self.prog, self.engine, self.root, self.owner = prog, engine, root, owner
        self.pool, self.validator, self.held = pool, validator, held
        self.outcomes: list[Outcome] = []
        self.failed: list[str] = []
        # units with a file this run does not finish: their later files wait too, so that
        # versions and "already received" follow arrival order across runs
        self.blocked: set[str] = set()
        self.parsed: dict[str, ParsedSubmission] = {}  # parse results by path

    def run(self, items: list[InboxFile], chunk: int) -> None:
        queue = list(items)
        ahead = self._read(queue, chunk)
        while ahead or queue:
            following = self._read(queue, chunk)  # parsed while this chunk is recorded
            self._chunk(ahead)
            ahead = following

    def _read(self, queue: list[InboxFile], limit: int) -> list[_Read]:
        """Read files off the front of ``queue`` (at most ``limit`` files or
        ``CHUNK_BYTES``) and hand them to the workers. Files held by a live intake, and the
        later files of their units, are left for a later run."""
        reads: list[_Read] = []
        used = 0
        while queue and len(reads) < limit and used < CHUNK_BYTES:
            item = queue.pop(0)
            if item.path in self.held or item.unit_code in self.blocked:
                self.blocked.add(item.unit_code)
                log.info("%s: held by another intake (or an earlier file of its unit is); "
                         "left for a later run", item.path)
                self.outcomes.append(Outcome(item.path, item.unit_code, "skipped"))
                continue
            try:
                data, checksum, size = read_capped(self.root / item.path)
            except Exception as exc:
                self._fail(exc, item, "")
                continue
            self.pool.submit(Job(item.path, data, item.unit_code, size))
            reads.append(_Read(item, checksum, size))
            used += len(data)
            if len(reads) % 50 == 0:
                self._collect(0)
        return reads

    def _collect(self, timeout: float | None) -> None:
        """Keep the workers fed; file their results away."""
        self.parsed.update(self.pool.collect(timeout))
        self.owner.beat()

    def _chunk(self, reads: list[_Read]) -> None:
        """Claim the chunk (batches of ``READ_BATCH``), answer files received before,
        validate the others with one GX run per rule group, then record, answer and
        archive them one by one in arrival order."""
        from baocao.history import year_on_year_warnings

        now = datetime.now(UTC)
        pending: list[_Pending] = []
        done: list[tuple[str, str]] = []
        twins: list[InboxFile] = []
        try:
            for first in range(0, len(reads), READ_BATCH):
                pending.extend(self._take_batch(reads[first:first + READ_BATCH], now, done))
                self._collect(0)
            for p in pending:
                while p.parsed is None and p.item.path not in self.parsed:
                    if not self.pool.pending:
                        raise RuntimeError(f"{p.item.path}: the readers lost the file")
                    self._collect(5.0)
                result = self.parsed.pop(p.item.path, None)
                if p.parsed is None:
                    p.parsed = result
                    p.parsed.problems.extend(period_timing_problems(self.prog, p.parsed,
                                                                    p.received_at))
            readable = [p for p in pending if p.parsed.readable]
            summaries = self.validator.validate_many([
                (p.parsed, self.prog.unit_sheets(self.prog.unit(
                    p.item.unit_code, self.prog.period(p.parsed.period).deadline)))
                for p in readable])
            for p, summary in zip(readable, summaries, strict=True):
                p.summary = summary.as_dict()
                p.parsed.problems.extend(year_on_year_warnings(self.engine, self.prog,
                                                               p.parsed))
            seen: set[str] = set()
            for n, p in enumerate(sorted(pending, key=lambda p: (p.received_at, p.item.path))):
                if n % 20 == 0:
                    self._collect(0)
                if p.item.unit_code in self.blocked:  # an earlier file of its unit failed
                    self.outcomes.append(Outcome(p.item.path, p.item.unit_code, "skipped"))
                    continue
                if p.checksum in seen:  # the same bytes twice in one chunk: answered below
                    twins.append(p.item)
                    continue
                seen.add(p.checksum)
                try:
                    self.owner.working(p.item.path)
                    self.outcomes.append(_finish(self.root, self.engine, self.prog, p, now,
                                                 done))
                except Exception as exc:
                    self._fail(exc, p.item, p.checksum)
        finally:  # finished files are marked done even when an outage stops the run
            _release_quietly(self.engine, done)
        for item in twins:  # now recorded: taken again, each is answered "already received"
            try:
                taken = _take(self.root, self.engine, self.prog, item, self.owner, now)
            except Exception as exc:
                self._fail(exc, item, "")
                continue
            if isinstance(taken, Outcome):
                self.outcomes.append(taken)
            else:  # its twin failed: both wait for the next run
                self.failed.append(item.path)
        for read in reads:  # results of files answered without them (duplicates, skipped)
            self.parsed.pop(read.item.path, None)

    def _take_batch(self, reads: list[_Read], now: datetime, done: list) -> list[_Pending]:
        """Claim a batch and look its checksums up (one transaction each); answer files
        received before; the others are returned for recording."""
        if not reads:
            return []
        try:
            claims = claim_many(self.engine, [(r.item.path, r.checksum) for r in reads],
                                self.owner)
            existing = find_by_checksums(self.engine, {r.checksum for r in reads
                                                       if claims[(r.item.path, r.checksum)]})
        except Exception as exc:
            _abort_if_unreachable(exc, self.owner, reads[0].item.path)
            raise
        pending: list[_Pending] = []
        for r in reads:
            got = claims[(r.item.path, r.checksum)]
            if not got or r.item.unit_code in self.blocked:
                self.blocked.add(r.item.unit_code)
                self.outcomes.append(Outcome(r.item.path, r.item.unit_code, "skipped"))
                continue
            try:
                taken = _take(self.root, self.engine, self.prog, r.item, self.owner, now,
                              pre=(b"", r.checksum, got, existing.get(r.checksum), r.size),
                              done=done)
            except Exception as exc:
                self._fail(exc, r.item, r.checksum)
                continue
            if isinstance(taken, _Pending):
                pending.append(taken)
            else:
                self.outcomes.append(taken)
        return pending

    def _fail(self, exc: Exception, item: InboxFile, checksum: str) -> None:
        """A file raised: an outage stops the run; anything else leaves the file in the
        inbox for the next run (counted: at ``POISON_AFTER`` it is answered instead)."""
        _abort_if_unreachable(exc, self.owner, item.path)
        log.exception("%s: failed; it stays in the inbox for the next run", item.path)
        self.failed.append(item.path)
        self.blocked.add(item.unit_code)
        if checksum:
            mark_unfinished(self.engine, item.path, checksum)


def _abort_if_unreachable(exc: Exception, owner: Owner, path: str) -> None:
    """Stop the whole run on an outage (the task retries with backoff) instead of failing
    every remaining file one by one; its unfinished claims go to the next try at once."""
    if not unreachable(exc):
        return
    owner.end()
    raise RuntimeError(f"object store or warehouse unreachable at {path}; the run stops "
                       f"here and the files left stay in the inbox: {exc}") from exc


def run_intake(prog: Programme, engine: Engine, root, run_id: str | None = None,
               chunk: int = 1000, validator=None, workers: int | None = None
               ) -> list[Outcome]:
    """Process every file in the inbox in arrival order: files are parsed and checked in
    worker processes (``workers``, default ``BAOCAO_INTAKE_WORKERS`` or the cores, at most
    4), validated with one GX run per rule group per chunk, then recorded one warehouse
    transaction per file. Claims left by intakes that stopped are taken over first."""
    from baocao.validation import Validator

    run_id = run_id or f"{socket.gethostname()}:{datetime.now(UTC).isoformat()}"
    owner = Owner(engine, run_id)
    try:
        swept = sweep_unroutable(root)
        items = list_inbox(root)
        held = take_over(engine, owner, items)
        log.info("intake %s: %d file(s) in the inbox", prog.code, len(items))
        if not items:
            return swept
        validator = validator or Validator(prog)
        with ParsePool(prog, workers) as pool:
            run = _Intake(prog, engine, root, owner, pool, validator, held)
            run.outcomes.extend(swept)
            run.run(items, chunk)
        if pool.failures:
            log.error("intake %s: %d file(s) could not be read and were rejected as "
                      "unprocessable", prog.code, pool.failures)
        if run.failed:
            raise RuntimeError(f"{len(run.failed)} file(s) could not be processed: "
                               f"{run.failed}")
        return run.outcomes
    finally:
        owner.end()
