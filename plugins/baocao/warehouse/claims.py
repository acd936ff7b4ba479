"""Claims of received files by intake processes (owners), in the warehouse.

An ``Owner`` is one intake process (a run's try): it beats while it runs and ends when it
stops; the claims of an owner that ended, died (same machine: its process is gone) or stopped
beating (another machine) are taken over at once. Claims are taken, looked at and released
set-based, a batch per statement. A file that stops the intake twice while it is being
answered (``unfinished``) is answered as unprocessable instead of being tried again: the
owner names the file it answers alone (``working_on``), or marks the claims of the chunk it
answers together (``in_hand``); when it dies, each of those counts one unfinished take, and
the next run answers them one by one, so the second take names the culprit alone.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from baocao.timezone import aware
from baocao.warehouse.merge import dialect_insert
from baocao.warehouse.models import IntakeClaim, IntakeOwner

log = logging.getLogger(__name__)
OWNER_TIMEOUT = timedelta(minutes=2)  # an intake on another machine that stopped beating
HEARTBEAT = timedelta(seconds=20)


class Owner:
    """This intake process in the claims table: one per run and try. It beats while it runs
    and ends when it stops; the claims of an owner that ended, died (same machine: its
    process is gone) or stopped beating (another machine) are taken over at once. It serves
    one ``programme``: the claims it makes are that programme's, and it takes over only
    those (another programme's intake may be running, or have died, meanwhile)."""

    def __init__(self, engine: Engine, run_id: str, programme: str = "") -> None:
        import psutil

        self.engine, self.run_id, self.programme = engine, run_id, programme
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
        return now - aware(row.heartbeat_at) > OWNER_TIMEOUT


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


class Taken(StrEnum):
    """How a claim went: a file nobody held, an unfinished claim of this or a gone owner
    taken over, or held by a live intake (empty, so falsy: the file is not this run's)."""

    NEW = "new"
    RESUMED = "resumed"
    HELD = ""


@dataclass(frozen=True)
class Claim:
    """What ``claim_many`` got for a file (``Taken``), and how many takes of it were left
    unfinished before."""

    taken: Taken
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
    mine = {"owner": owner.id, "claimed_by": owner.run_id, "claimed_at": now,
            "programme": owner.programme}
    with engine.begin() as conn:
        for start in range(0, len(files), 400):  # bound the IN list
            part = files[start:start + 400]
            query = select(table).where(table.c.path.in_({p for p, _ in part}))
            if engine.dialect.name == "postgresql":
                query = query.with_for_update()
            held = {(r.path, r.checksum): r for r in conn.execute(query)}
            fresh = [f for f in part if f not in held]
            if fresh:
                stmt = dialect_insert(engine, table).on_conflict_do_nothing().returning(
                    table.c.path, table.c.checksum)  # executemany: compiled once, cached
                got = {(r.path, r.checksum) for r in conn.execute(stmt, [
                    {"path": p, "checksum": c, "done": False, "unfinished": 0,
                     "in_hand": False, **mine} for p, c in fresh])}
                out.update({f: Claim(Taken.NEW if f in got else Taken.HELD) for f in fresh})
            holders = {r.id: r for r in conn.execute(select(owners).where(owners.c.id.in_(
                {r.owner for r in held.values() if r.owner})))} if held else {}
            for key, row in held.items():
                if key not in part:
                    continue
                where = (table.c.path == key[0], table.c.checksum == key[1],
                         table.c.done.is_(row.done))
                if row.done:  # sent again under the same name: a new arrival
                    taken = conn.execute(update(table).where(*where)
                                         .values(done=False, unfinished=0, in_hand=False,
                                                 **mine))
                    out[key] = Claim(Taken.NEW if taken.rowcount == 1 else Taken.HELD)
                elif row.owner == owner.id:
                    out[key] = Claim(Taken.RESUMED, row.unfinished)
                elif owner.gone(holders.get(row.owner), now):
                    same = table.c.owner.is_(None) if row.owner is None else \
                        table.c.owner == row.owner
                    taken = conn.execute(update(table).where(*where, same).values(**mine))
                    out[key] = Claim(Taken.RESUMED if taken.rowcount == 1 else Taken.HELD,
                                         row.unfinished)
                else:
                    out[key] = Claim(Taken.HELD)
    return out


def take_over(engine: Engine, owner: Owner, inbox: set[str],
              only: set[str] | None = None) -> set[str]:
    """Start of a run: the unfinished claims of every owner that is gone become this
    owner's. Those whose file (a path of ``inbox``) left the inbox were finished (answered
    and archived) and are closed; the file a dead owner was answering alone when it died,
    or each file of the chunk it was answering, counts one more unfinished take. Returns the
    paths still held by live intakes. With ``only`` (the paths of this intake's share of
    the inbox), unfinished claims of other paths are left to their own share's intake."""
    now = datetime.now(UTC)
    table, owners = IntakeClaim.__table__, IntakeOwner.__table__
    held: set[str] = set()
    with engine.begin() as conn:
        # this programme's claims, and those made before claims named their programme
        query = select(table).where(table.c.done.is_(False),
                                    table.c.programme.in_({owner.programme, ""}))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update()
        open_claims = conn.execute(query).all()
        holders = {r.id: r for r in conn.execute(select(owners).where(owners.c.id.in_(
            {c.owner for c in open_claims if c.owner})))} if open_claims else {}
        finished: list[tuple[str, str]] = []
        orphans: dict[str | None, list] = {}
        left: set[str | None] = set()
        for c in open_claims:
            if c.owner == owner.id:
                continue
            if not owner.gone(holders.get(c.owner), now):
                held.add(c.path)
            elif c.path not in inbox:
                finished.append((c.path, c.checksum))
            elif only is None or c.path in only:
                orphans.setdefault(c.owner, []).append(c)
            else:  # another share's: its intake counts the death when it takes them
                left.add(c.owner)
        if finished:
            conn.execute(update(table).where(table.c.path == bindparam("p"),
                                             table.c.checksum == bindparam("c"))
                         .values(done=True, in_hand=False),
                         [{"p": p, "c": c} for p, c in finished])
        for dead, claims in orphans.items():
            row = holders.get(dead)
            died = row is None or row.ended_at is None  # it did not end by itself
            culprit = row.working_on if row is not None and died else None
            conn.execute(update(table).where(table.c.path == bindparam("p"),
                                             table.c.checksum == bindparam("c"))
                         .values(owner=owner.id, claimed_by=owner.run_id, claimed_at=now,
                                 unfinished=bindparam("u"), in_hand=False),
                         [{"p": c.path, "c": c.checksum,
                           "u": c.unfinished + (c.path == culprit or (died and bool(c.in_hand)))}
                          for c in claims])
            answering = sum(bool(c.in_hand) for c in claims) if died else 0
            log.warning("took over %d unfinished file(s) of intake %s (%s)%s%s", len(claims),
                        dead, row.run_id if row is not None else "unknown",
                        f"; it died while answering {culprit}" if culprit in
                        {c.path for c in claims} else "",
                        f"; it died while answering a chunk of {answering} file(s), each "
                        "answered alone now" if answering else "")
        gone = [d for d, row in holders.items()
                if row.ended_at is None and d not in left and owner.gone(row, now)]
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
                         .values(unfinished=table.c.unfinished + 1, in_hand=False))
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
                     .values(done=True, in_hand=False), [{"p": p, "c": c} for p, c in files])


def hold(engine: Engine, owner: Owner, files: list[tuple[str, str]]) -> None:
    """The chunk ``files`` is about to be answered together (recorded in one transaction,
    then receipts and archive): their claims are marked in hand, and the owner names no
    single file. If this process dies before they are released, each counts one unfinished
    take and the next run answers them one by one."""
    table, owners = IntakeClaim.__table__, IntakeOwner.__table__
    owner._beaten = time.monotonic()
    with engine.begin() as conn:
        conn.execute(update(owners).where(owners.c.id == owner.id)
                     .values(working_on=None, heartbeat_at=datetime.now(UTC)))
        if files:
            conn.execute(update(table).where(table.c.path == bindparam("p"),
                                             table.c.checksum == bindparam("c"))
                         .values(in_hand=True), [{"p": p, "c": c} for p, c in files])
