"""Run the intake as the DAG does (migrate, mirror the programme, process the inbox) and
SIGKILL this process at a chosen point; used by test_recovery.py.

    python tests/integration/_intake_killer.py WAREHOUSE_URL BUCKET_DIR POINT N PIDS_FILE

POINT: ``mig-mid:REV`` (at the 2nd DDL statement of revision REV), ``mig-end:REV`` (after all
of REV's DDL, before it is recorded and committed), ``claims`` (after the Nth batch of claims
is committed), ``parse`` (the Nth time the workers are asked for results), ``merge`` (half
way through the warehouse transaction recording the Nth file, alone or with its chunk),
``receipt`` (the Nth receipt half written), ``archive`` (the Nth archive copy written, its
original not yet deleted), ``release`` (before the Nth release of finished claims),
``record:TEXT`` (whenever a file whose name contains TEXT is recorded: a file that stops
the intake). The pids of the reader
workers are written to PIDS_FILE, so the test can check that none outlives the kill.
"""

from __future__ import annotations

import os
import signal
import sys


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def nth(n: int):
    """A callable that returns True on its nth call."""
    calls = [0]

    def hit() -> bool:
        calls[0] += 1
        return calls[0] == n

    return hit


def arm_migrations(kind: str, revision: str) -> None:
    from alembic.ddl.impl import DefaultImpl
    from alembic.runtime.migration import HeadMaintainer, RevisionStep

    if kind == "mig-end":
        real_update = HeadMaintainer.update_to_step

        def update_to_step(self, step):
            if step.revision.revision == revision:
                die()
            return real_update(self, step)

        HeadMaintainer.update_to_step = update_to_step
        return
    inside = [False]
    real_init = RevisionStep.__init__

    def init(self, revision_map, revision_, is_upgrade):
        real_init(self, revision_map, revision_, is_upgrade)
        if revision_.revision == revision and is_upgrade:
            fn = self.migration_fn

            def run(**kw):
                inside[0] = True
                return fn(**kw)

            self.migration_fn = run

    RevisionStep.__init__ = init
    real_exec, second = DefaultImpl._exec, nth(2)

    def _exec(self, construct, *args, **kwargs):
        if inside[0] and second():
            die()
        return real_exec(self, construct, *args, **kwargs)

    DefaultImpl._exec = _exec


def arm_intake(point: str, n: int) -> None:
    from baocao import intake, isolation

    hit = nth(n)
    if point == "claims":
        real_claims = intake.claim_many

        def claim_many(*args, **kwargs):
            out = real_claims(*args, **kwargs)
            if hit():
                die()
            return out

        intake.claim_many = claim_many
    elif point == "parse":
        real_collect = isolation.ParsePool.collect

        def collect(self, timeout=0.0):
            if hit():
                die()
            return real_collect(self, timeout)

        isolation.ParsePool.collect = collect
    elif point == "merge":  # half way through the transaction recording the Nth file
        real_many, seen = intake.record_many, [0]

        def record_many(engine, prog, entries, **kwargs):
            seen[0] += len(entries)
            if seen[0] - len(entries) < n <= seen[0]:
                kwargs["_fault"] = lambda _id: die()
            return real_many(engine, prog, entries, **kwargs)

        intake.record_many = record_many
    elif point.startswith("record:"):  # whenever a file whose name has this is recorded
        real_many, fragment = intake.record_many, point.split(":", 1)[1]

        def record_many(engine, prog, entries, **kwargs):
            if any(fragment in e.info.file_name for e in entries):
                die()
            return real_many(engine, prog, entries, **kwargs)

        intake.record_many = record_many
    elif point == "receipt":
        real_receipt = intake.write_receipt

        def write_receipt(root, rel, prog, data):
            if hit():
                from baocao.receipts import render_receipt

                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                body = render_receipt(prog, data).encode("utf-8")
                path.write_bytes(body[:len(body) // 2])
                die()
            return real_receipt(root, rel, prog, data)

        intake.write_receipt = write_receipt
    elif point == "archive":
        def move(root, rel, to):
            src, dst = root / rel, root / to
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
            if hit():
                die()
            src.unlink()

        intake.move_key = move
    elif point == "release":
        real_release = intake.release_many

        def release_many(*args, **kwargs):
            if hit():
                die()
            return real_release(*args, **kwargs)

        intake.release_many = release_many
    else:
        raise SystemExit(f"unknown point {point}")


def main() -> None:
    url, bucket, point, n, pids = sys.argv[1:6]
    from baocao import intake, isolation

    intake.READ_BATCH = 4
    real_worker = isolation._Worker.__init__

    def worker(self, *args, **kwargs):
        real_worker(self, *args, **kwargs)
        with open(pids, "a") as f:
            f.write(f"{self.pid}\n")

    isolation._Worker.__init__ = worker
    kind, _, revision = point.partition(":")
    if kind.startswith("mig-"):
        arm_migrations(kind, revision)
    else:
        arm_intake(point, int(n))

    from airflow.sdk import ObjectStoragePath

    from baocao.programme import load_programme
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    prog = load_programme("lang-son")
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    intake.run_intake(prog, engine, ObjectStoragePath(f"file://{bucket}"), f"killed-{point}",
                      chunk=8)
    raise SystemExit(f"{point} {n}: the run ended without reaching its kill point")


if __name__ == "__main__":
    main()
