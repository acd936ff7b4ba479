"""Engine creation and migrations for the warehouse URL.

Migrations can be killed at any point: each revision runs in its own transaction, on SQLite
too (the driver's own transaction handling is turned off so that DDL is transactional, as
SQLite supports), so a kill leaves the previous revision intact. A warehouse left
half-migrated by an older version of this code (tables of a revision present, the revision
not recorded) is repaired when those tables are empty, else reported with the command that
fixes it. ``migrate`` reads the recorded revision first and does nothing more when it is
current, so the intake can call it at every run.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, pool, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class HalfMigrated(RuntimeError):
    """The warehouse holds tables of a revision that is not recorded, with rows in them."""


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, foreign keys and WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # with WAL: consistent after a crash
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _migration_engine(url: str) -> Engine:
    """A private engine for migrations; on SQLite, one whose transactions cover DDL."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, poolclass=pool.NullPool)
    get_engine(url)  # creates the file's folder
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        dbapi_conn.isolation_level = None  # the driver must not commit DDL on its own
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # pragma: no cover - trivial
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def migrate(url: str, revision: str = "head") -> str | None:
    """Apply Alembic migrations up to ``revision``, one transaction per revision; only the
    recorded revision is read when it is already there. Returns the revision reached."""
    from alembic import command

    target = head_revision() if revision == "head" else revision
    current = current_revision(url)
    if current == target:
        return current
    engine = _migration_engine(url)
    try:
        _repair_half_applied(engine, url, current, target)
        cfg = alembic_config(url)
        with engine.connect() as conn:  # not in a transaction: Alembic opens one each
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    return current_revision(url)


def stamp(url: str, revision: str) -> None:
    """Record ``revision`` as applied without running it (the fix for a revision whose
    changes are all there but whose record was lost)."""
    from alembic import command

    engine = _migration_engine(url)
    try:
        cfg = alembic_config(url)
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.stamp(cfg, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@lru_cache(maxsize=1)
def tables_by_revision() -> dict[str, frozenset[str]]:
    """The tables each revision creates, found by migrating an in-memory SQLite database
    one revision at a time."""
    from alembic import command
    from alembic.script import ScriptDirectory

    scratch = create_engine("sqlite://", poolclass=pool.StaticPool)
    cfg = alembic_config("sqlite://")
    script = ScriptDirectory.from_config(cfg)
    out: dict[str, frozenset[str]] = {}
    seen: set[str] = set()
    with scratch.connect() as conn:
        cfg.attributes["connection"] = conn
        for rev in reversed(list(script.walk_revisions("base", "heads"))):
            command.upgrade(cfg, rev.revision)
            conn.commit()
            now = set(inspect(conn).get_table_names()) - {"alembic_version"}
            out[rev.revision] = frozenset(now - seen)
            seen |= now
    scratch.dispose()
    return out


def _repair_half_applied(engine: Engine, url: str, current: str | None, target: str) -> None:
    """Tables of not-yet-recorded revisions that already exist: an interrupted migration of
    an older version of this code. Empty ones are dropped (the revision then runs whole);
    tables holding rows are reported with the command that fixes the record."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        pending = [r.revision for r in script.iterate_revisions(target, current)]
    except Exception:  # noqa: BLE001 - not an upgrade (a downgrade): nothing to repair
        return
    created = tables_by_revision()
    with engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        stray = {rev: sorted(created.get(rev, frozenset()) & existing) for rev in pending}
        stray = {rev: tables for rev, tables in stray.items() if tables}
        if not stray:
            return
        rows = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for tables in stray.values() for t in tables}
    where = make_url(url).render_as_string(hide_password=True)
    if any(rows.values()):
        complete = [rev for rev in reversed(pending)
                    if created.get(rev) and set(stray.get(rev, ())) == set(created[rev])]
        fix = (f"baocao migrate --stamp {complete[0]}" if complete else
               "restore the warehouse from its last backup")
        raise HalfMigrated(
            f"warehouse {where}: revision {current or '(none)'} is recorded but tables of "
            f"later revisions exist with rows: {rows}. If those revisions were applied in "
            f"full, record them with: {fix} (then run baocao migrate again)")
    log.warning("warehouse %s: revision %s is recorded but tables %s of later revisions "
                "exist, empty (an interrupted migration): dropping them and migrating again",
                where, current or "(none)", sorted(rows))
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        for rev in reversed(pending):
            for table in stray.get(rev, ()):
                conn.execute(text(f'DROP TABLE "{table}"{cascade}'))
