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

A chunk's accepted and rejected files are recorded in one warehouse transaction
(``baocao.warehouse.bulk``: COPY on PostgreSQL), then answered and archived one by one;
the claims' SQL is in ``baocao.warehouse.claims``. ``run_intake(..., bulk=False)`` records one
transaction per file (the reference the bulk path is tested against).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import zlib
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from baocao import layout
from baocao.bucket import arrival_time, info_time, key, move, move_key
from baocao.isolation import Job, ParsePool, unprocessable
from baocao.parsing import ParsedSubmission, period_timing_problems
from baocao.programme import Programme
from baocao.receipts import ReceiptData, recorded_totals, write_receipt
from baocao.statuses import outcome_label
from baocao.text import nfc
from baocao.timezone import aware, to_local
from baocao.warehouse.bulk import Entry, record_many
from baocao.warehouse.claims import (
    Owner,
    claim,
    claim_many,
    hold,
    mark_unfinished,
    release,
    release_many,
    take_over,
)
from baocao.warehouse.merge import (
    FileInfo,
    MergeResult,
    find_by_checksum,
    find_by_checksums,
)
from baocao.warehouse.merge import record_submission as record

log = logging.getLogger(__name__)
POISON_AFTER = 2  # unfinished takes after which a file is answered, not tried again
POISONED = "tệp đã làm dừng hệ thống tiếp nhận hai lần nên không được xử lý tiếp"


@dataclass
class InboxFile:
    path: str  # key relative to the bucket root
    unit_code: str
    file_name: str
    arrived: datetime | None = None  # the object's last-modified time, when listed


def list_inbox(root) -> list[InboxFile]:
    """Files waiting in ``inbox/<unit>/`` in order of arrival (then name), so versions are
    numbered as they arrived; lock and partial files skipped. One listing of the store
    (``find`` with details), not a ``stat`` per file."""
    inbox = root / layout.INBOX
    if not inbox.exists():
        return []
    base = inbox.path.rstrip("/")
    out: list[tuple[datetime, InboxFile]] = []
    for found, info in sorted(inbox.fs.find(base, detail=True).items()):
        rel = found[len(base):].lstrip("/") if found.startswith(base) else found
        unit, _, below = rel.partition("/")
        if not below:
            log.error("file %s lies outside a unit folder; it stays in the inbox", unit)
            continue
        name = below.rsplit("/", 1)[-1]
        if info.get("type", "file") != "file" or name.startswith(layout.IGNORED_PREFIXES):
            continue
        arrived = info_time(info)
        out.append((arrived, InboxFile(f"{layout.unit_inbox(unit)}{below}", unit,
                                       nfc(name), arrived)))
    return [item for _when, item in sorted(out, key=lambda x: (x[0], x[1].path))]


def sweep_unroutable(root) -> list[Outcome]:
    """Move files lying at the bucket root or directly in ``inbox/`` (no unit to answer)
    to ``archive/unroutable/``; never deleted, each one logged and returned."""
    out: list[Outcome] = []
    for folder, where in ((root, "root"), (root / layout.INBOX, "inbox")):
        if not folder.exists():
            continue
        for f in sorted(folder.iterdir(), key=lambda p: p.name):
            if f.name.startswith(layout.IGNORED_PREFIXES) or not f.is_file():
                continue
            name = nfc(f.name)
            path = name if where == "root" else f"{layout.INBOX}/{name}"
            try:
                stamp = to_local(arrival_time(f)).strftime("%Y%m%dT%H%M%S")
                rel = layout.archive_unroutable(where, stamp, layout.safe_name(name))
                move(f, root / rel)
            except Exception:  # noqa: BLE001 - it stays where it is; tried again next run
                log.exception("%s: outside a unit folder and could not be moved", path)
                continue
            log.warning("%s: dropped outside inbox/<unit-code>/, no receipt possible; moved "
                        "to %s for the engineers to forward", path, rel)
            out.append(Outcome(path, "", "unroutable", archive=rel))
    return out


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


@dataclass
class _Pending:
    """A claimed file to record once the workers have parsed it (``parsed``)."""

    item: InboxFile
    checksum: str
    size: int
    received_at: datetime
    parsed: ParsedSubmission | None
    summary: dict[str, Any]
    unfinished: int = 0  # unfinished takes so far: such a file is answered alone
    totals: list[tuple[str, str]] | None = None  # the receipt's figures, from the reader


def _same_object(existing, path: str, received_at: datetime) -> bool:
    """The recorded submission is this very object (same key, same arrival): an interrupted
    run recorded it and did not finish answering and archiving it. The same bytes sent again
    arrive later, and are answered "already received"."""
    return existing.bucket_path == path and \
        abs((aware(existing.received_at) - received_at).total_seconds()) < 0.001


def _take(root, engine: Engine, prog: Programme, item: InboxFile, owner: Owner,
          now: datetime, pre: tuple | None = None, done: list | None = None
          ) -> Outcome | _Pending:
    """Claim one file; answer it at once when the same bytes were received before; else a
    _Pending to parse and record. ``pre`` is (data, checksum, claim, existing submission,
    size) when the run read and claimed a batch; ``done`` collects finished claims to
    release in one go."""
    if pre is None:
        _data, checksum, size = read_capped(key(root, item.path), root.fs)
        taken = claim(engine, item.path, checksum, owner)
        existing = find_by_checksum(engine, checksum) if taken else None
    else:
        _data, checksum, taken, existing, size = pre
    if not taken:
        return Outcome(item.path, item.unit_code, "skipped")
    received_at = item.arrived or arrival_time(root / item.path)
    summary = {"rules_run": 0, "rules_passed": 0, "rules_failed": 0, "failed_rules": []}
    if existing is None and taken.unfinished >= POISON_AFTER:
        log.error("%s: %d runs stopped while processing it; answered as unprocessable",
                  item.path, taken.unfinished)
        return _Pending(item, checksum, size, received_at,
                        unprocessable(prog, item.unit_code, POISONED), summary,
                        taken.unfinished)
    if existing is None or _same_object(existing, item.path, received_at):
        # new; or recorded by an interrupted run: recording again is a no-op, the receipt
        # and the archive copy are (re)written under the same names
        return _Pending(item, checksum, size, received_at, None, summary, taken.unfinished)
    stamp = to_local(received_at).strftime("%Y%m%dT%H%M%S")
    unit = layout.safe_name(item.unit_code)
    archive_rel = layout.archive_duplicate(unit, stamp, layout.safe_name(item.file_name))
    stem = layout.safe_name(item.file_name.rsplit(".", 1)[0])
    receipt_rel = layout.receipt_file(unit, stem, checksum, stamp)
    first = to_local(existing.received_at)
    write_receipt(root, receipt_rel, prog, ReceiptData(
        status="duplicate", unit_code=item.unit_code, unit_name=prog.unit_name(item.unit_code),
        file_name=item.file_name, checksum=checksum, received_at=received_at,
        processed_at=now, reason=f"Tệp đã được nhận lúc {first:%H:%M ngày %d/%m/%Y} "
        f"(kết quả lần đó: {outcome_label(existing.status)})."))
    move_key(root, item.path, archive_rel)
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
    """Record in the warehouse (one transaction for this file), write the receipt,
    archive, release: the per-file path."""
    entry = _entry(prog, p)
    merged = record(engine, prog, entry.parsed, entry.info, accepted=entry.accepted,
                    late=entry.late, validation=entry.validation,
                    archive_path=entry.archive_path, receipt_path=entry.receipt_path)
    return _answer(root, engine, prog, p, entry, merged, now, done)


def _entry(prog: Programme, p: _Pending) -> Entry:
    """What the warehouse records for a parsed and validated file, with the names of its
    receipt and archive copy."""
    item, parsed = p.item, p.parsed
    accepted = not parsed.errors
    period = prog.period(parsed.period) if _valid_period(prog, parsed) else None
    late = bool(period and to_local(p.received_at).date() > period.deadline)
    unit = layout.safe_name(item.unit_code)
    stem = layout.safe_name(item.file_name.rsplit(".", 1)[0])
    receipt_rel = layout.receipt_file(unit, stem, p.checksum)
    archive_rel = (layout.archive_accepted(unit, layout.safe_name(parsed.period), p.checksum,
                                           layout.safe_name(item.file_name)) if accepted
                   else layout.archive_rejected(unit, p.checksum, layout.safe_name(item.file_name)))
    info = FileInfo(item.file_name, item.path, p.checksum, p.size, p.received_at)
    return Entry(parsed, info, accepted, late, p.summary, archive_rel, receipt_rel)


def _answer(root, engine: Engine, prog: Programme, p: _Pending, entry: Entry,
            merged: MergeResult, now: datetime, done: list | None) -> Outcome:
    """A recorded file: its receipt, its original moved to the archive, its claim done."""
    item, parsed, accepted = p.item, entry.parsed, entry.accepted
    period = prog.period(parsed.period) if _valid_period(prog, parsed) else None
    if accepted and p.totals is None:
        p.totals = recorded_totals(prog, parsed)
    write_receipt(root, entry.receipt_path, prog, ReceiptData(
        status="accepted" if accepted else "rejected", unit_code=item.unit_code,
        unit_name=prog.unit_name(item.unit_code), file_name=item.file_name,
        checksum=p.checksum, received_at=p.received_at, processed_at=now,
        period_title=period.title if period else "",
        deadline=f"{period.deadline:%d/%m/%Y}" if period else "", late=entry.late,
        version=merged.version, problems=parsed.problems,
        totals=(p.totals or []) if accepted else []))
    move_key(root, item.path, entry.archive_path)
    _release(engine, item.path, p.checksum, done)
    out = Outcome(item.path, item.unit_code, "accepted" if accepted else "rejected",
                  parsed.period, merged.submission_id, merged.version, entry.late,
                  len(parsed.errors), len(parsed.problems) - len(parsed.errors),
                  p.summary["rules_run"], p.summary["rules_failed"], entry.receipt_path,
                  entry.archive_path)
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


def read_capped(path, fs=None) -> tuple[bytes, str, int]:
    """(data, sha256, size) of a file (a path, or a key of the file system ``fs``); past
    the size limit only the head is kept (the rest is hashed as it streams by), so a huge
    upload never sits in memory."""
    from baocao.workbook import MAX_FILE_BYTES

    digest = hashlib.sha256()
    with (path.open("rb") if fs is None else fs.open(path, "rb")) as f:
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
                 validator, held: set[str], bulk: bool = True) -> None:
        self.prog, self.engine, self.root, self.owner = prog, engine, root, owner
        self.pool, self.validator, self.held = pool, validator, held
        self.bulk = bulk  # a chunk's files recorded in one transaction
        self.outcomes: list[Outcome] = []
        self.failed: list[str] = []
        # units with a file this run does not finish: their later files wait too, so that
        # versions and "already received" follow arrival order across runs
        self.blocked: set[str] = set()
        self.parsed: dict[str, ParsedSubmission] = {}  # parse results by path

    def run(self, items: list[InboxFile], chunk: int) -> None:
        """Chunks of even size (at most ``chunk`` files); the first is a quarter of that,
        so that the main process starts recording while the workers parse the rest."""
        queue = deque(items)
        size = -(-len(queue) // max(1, -(-len(queue) // chunk)))
        ahead = self._read(queue, max(1, size // 4) if len(queue) > size else size)
        while ahead or queue:
            following = self._read(queue, size)  # parsed while this chunk is recorded
            self._chunk(ahead)
            ahead = following

    def _read(self, queue: deque[InboxFile], limit: int) -> list[_Read]:
        """Read files off the front of ``queue`` (at most ``limit`` files or
        ``CHUNK_BYTES``) and hand them to the workers. Files held by a live intake, and the
        later files of their units, are left for a later run."""
        reads: list[_Read] = []
        used = 0
        while queue and len(reads) < limit and used < CHUNK_BYTES:
            item = queue.popleft()
            if item.path in self.held or item.unit_code in self.blocked:
                self.blocked.add(item.unit_code)
                log.info("%s: held by another intake (or an earlier file of its unit is); "
                         "left for a later run", item.path)
                self.outcomes.append(Outcome(item.path, item.unit_code, "skipped"))
                continue
            try:
                data, checksum, size = read_capped(key(self.root, item.path), self.root.fs)
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
        validate the others with one GX run per rule group, then record them in one
        transaction (``bulk``; one each when some of them were in hand when an intake
        died), and answer and archive them one by one in arrival order."""
        from baocao.history import year_on_year_many

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
                    p.totals = result.derived.get("totals")
                    p.parsed.problems.extend(period_timing_problems(self.prog, p.parsed,
                                                                    p.received_at))
            readable = [p for p in pending if p.parsed.readable]
            summaries = self.validator.validate_many([
                (p.parsed, self.prog.unit_sheets(self.prog.unit(
                    p.item.unit_code, self.prog.period(p.parsed.period).deadline)))
                for p in readable])
            for p, summary in zip(readable, summaries, strict=True):
                p.summary = summary.as_dict()
            changes = year_on_year_many(self.engine, self.prog, [p.parsed for p in readable])
            for p, found in zip(readable, changes, strict=True):
                p.parsed.problems.extend(found)
            seen: set[str] = set()
            todo: list[_Pending] = []
            for p in sorted(pending, key=lambda p: (p.received_at, p.item.path)):
                if p.checksum in seen:  # the same bytes twice in one chunk: answered below
                    twins.append(p.item)
                    continue
                seen.add(p.checksum)
                todo.append(p)
            if self.bulk and not any(p.unfinished for p in todo):
                self._answer_together(todo, now, done)
            else:  # the per-file path, or files of a chunk that stopped an intake
                self._answer_alone(todo, now, done)
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

    def _answer_alone(self, todo: list[_Pending], now: datetime, done: list) -> None:
        """Record (one transaction each), answer and archive files one by one in arrival
        order, naming each as the one being answered."""
        for n, p in enumerate(todo):
            if n % 20 == 0:
                self._collect(0)
            if p.item.unit_code in self.blocked:  # an earlier file of its unit failed
                self.outcomes.append(Outcome(p.item.path, p.item.unit_code, "skipped"))
                continue
            try:
                self.owner.working(p.item.path)
                if self.bulk:  # the bulk recorder, one file at a time
                    entry = _entry(self.prog, p)
                    [merged] = record_many(self.engine, self.prog, [entry])
                    out = _answer(self.root, self.engine, self.prog, p, entry, merged, now,
                                  done)
                else:
                    out = _finish(self.root, self.engine, self.prog, p, now, done)
                self.outcomes.append(out)
            except Exception as exc:
                self._fail(exc, p.item, p.checksum)

    def _answer_together(self, todo: list[_Pending], now: datetime, done: list) -> None:
        """Record the chunk in one transaction, then answer and archive each file in
        arrival order. Should recording the chunk fail (not an outage), its files are
        recorded one by one, so that one bad file costs only itself."""
        waiting = [p for p in todo if p.item.unit_code in self.blocked]
        self.outcomes.extend(Outcome(p.item.path, p.item.unit_code, "skipped")
                             for p in waiting)  # an earlier file of its unit failed
        todo = [p for p in todo if p.item.unit_code not in self.blocked]
        if not todo:
            return
        try:
            entries = [_entry(self.prog, p) for p in todo]
            hold(self.engine, self.owner, [(p.item.path, p.checksum) for p in todo])
            results = record_many(self.engine, self.prog, entries)
        except Exception as exc:
            _abort_if_unreachable(exc, self.owner, todo[0].item.path)
            log.exception("recording %d file(s) together failed; recording them one by one",
                          len(todo))
            self._answer_alone(todo, now, done)
            return
        for n, (p, entry, merged) in enumerate(zip(todo, entries, results, strict=True)):
            if n % 20 == 0:
                self._collect(0)
            if p.item.unit_code in self.blocked:  # recorded; answered by a later run
                self.outcomes.append(Outcome(p.item.path, p.item.unit_code, "skipped"))
                continue
            try:
                self.outcomes.append(_answer(self.root, self.engine, self.prog, p, entry,
                                             merged, now, done))
            except Exception as exc:
                self._fail(exc, p.item, p.checksum)

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


def _deriver(prog: Programme, validator):
    """What the reader processes compute from a parsed file besides parsing: the rows it
    adds to each rule group's validation frame and the receipt's figures."""

    def derive(parsed: ParsedSubmission) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if parsed.readable and hasattr(validator, "frame_lines"):
            sheets = prog.unit_sheets(prog.unit(parsed.unit,
                                                prog.period(parsed.period).deadline))
            out["frame_sheets"] = list(sheets)
            out["frame_lines"] = validator.frame_lines(parsed, sheets)
        if not parsed.errors:
            out["totals"] = recorded_totals(prog, parsed)
        return out

    return derive


def share_of(unit_code: str, shares: int) -> int:
    """The share of an inbox split ``shares`` ways that a unit's folder belongs to (stable:
    a unit's files, and so its versions, always stay in one share)."""
    return zlib.crc32(unit_code.encode("utf-8")) % shares if shares > 1 else 0


def run_intake(prog: Programme, engine: Engine, root, run_id: str | None = None,
               chunk: int = 2000, validator=None, workers: int | None = None,
               bulk: bool = True, share: tuple[int, int] = (0, 1)) -> list[Outcome]:
    """Process every file in the inbox in arrival order: files are parsed and checked in
    worker processes (``workers``, default ``BAOCAO_INTAKE_WORKERS`` or the cores, at most
    4), validated with one GX run per rule group per chunk, then recorded: a chunk's files in
    one warehouse transaction (``bulk``), else one transaction per file. Claims left by
    intakes that stopped are taken over first; their files are recorded one by one.

    ``share`` (k, n): only the unit folders of share k of n (``share_of``), so that n tasks
    (on several workers) answer a very large inbox together; share 0 also sweeps files
    dropped outside unit folders. ``run_id`` must then differ between the shares."""
    from baocao.validation import Validator

    run_id = run_id or f"{socket.gethostname()}:{datetime.now(UTC).isoformat()}"
    owner = Owner(engine, run_id, prog.code)
    try:
        k, n = share
        swept = sweep_unroutable(root) if k == 0 else []
        listed = list_inbox(root)
        items = [i for i in listed if share_of(i.unit_code, n) == k]
        held = take_over(engine, owner, {item.path for item in listed},
                         only={item.path for item in items} if n > 1 else None)
        log.info("intake %s: %d file(s) in the inbox", prog.code, len(items))
        if not items:
            return swept
        validator = validator or Validator(prog)
        with ParsePool(prog, workers, derive=_deriver(prog, validator)).start() as pool:
            run = _Intake(prog, engine, root, owner, pool, validator, held, bulk)
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
