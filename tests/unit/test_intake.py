"""The intake on a local bucket: receipts, archive, duplicates, lateness, claims."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support import drop

from baocao.demo import fill_form
from baocao.intake import claim, list_inbox, run_intake
from baocao.warehouse.db import get_engine
from baocao.warehouse.merge import sync_programme

PERIOD = "2026-H1"


@pytest.fixture
def env(tmp_path, programme):
    from airflow.sdk import ObjectStoragePath

    from baocao.warehouse.db import migrate

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    return ObjectStoragePath(f"file://{tmp_path / 'bucket'}"), engine


def files(root, prefix: str) -> list[str]:
    base = root / prefix
    return sorted(str(p.path)[len(str(base.path)) + 1:] for p in base.rglob("*")
                  if p.is_file()) if base.exists() else []


def test_accept_reject_duplicate_late_and_nothing_lost(env, programme):
    root, engine = env
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:3]
    on_time = datetime(2026, 6, 18, 2, tzinfo=UTC)
    late = datetime(2026, 6, 21, 3, tzinfo=UTC)  # 10:00 on 21/6 in Vietnam
    good = fill_form(programme, units[0], period)
    drop(root, units[0].code, "Báo cáo 6 tháng.xlsx", good, on_time)
    drop(root, units[1].code, "bc.xlsx", fill_form(programme, units[1], period), late)
    drop(root, units[2].code, "sai.xlsx", b"not excel", on_time)
    drop(root, units[2].code, "~$sai.xlsx", b"lock file", on_time)  # Excel lock: ignored
    outcomes = {o.unit_code: o for o in run_intake(programme, engine, root, "run-1")}
    assert outcomes[units[0].code].status == "accepted" and not outcomes[units[0].code].late
    assert outcomes[units[1].code].status == "accepted" and outcomes[units[1].code].late
    assert outcomes[units[2].code].status == "rejected"
    assert files(root, "inbox") == [f"{units[2].code}/~$sai.xlsx"]
    archived = files(root, "archive")
    assert len(archived) == 3 and any(a.startswith("rejected/") for a in archived)
    receipt = (root / outcomes[units[2].code].receipt).read_text(encoding="utf-8")
    assert "BỊ TỪ CHỐI" in receipt and "không phải là bảng tính Excel" in receipt
    accepted_receipt = (root / outcomes[units[1].code].receipt).read_text(encoding="utf-8")
    assert "ĐÃ TIẾP NHẬN" in accepted_receipt and "gửi sau hạn 20/06/2026" in accepted_receipt
    assert "Số liệu chính đã ghi nhận" in accepted_receipt
    with engine.connect() as conn:
        before = conn.execute(sa.text("select count(*) from fact_values")).scalar_one()
    # the same file again: answered "already received", nothing changes
    drop(root, units[0].code, "gửi lại.xlsx", good, on_time + timedelta(days=1))
    again = run_intake(programme, engine, root, "run-2")
    assert [o.status for o in again] == ["duplicate"]
    assert "ĐÃ NHẬN TRƯỚC ĐÓ" in (root / again[0].receipt).read_text(encoding="utf-8")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from fact_values")).scalar_one() == before
        assert conn.execute(sa.text("select count(*) from submissions")).scalar_one() == 3
    assert run_intake(programme, engine, root, "run-3") == []


def test_unknown_unit_folder_is_answered(env, programme):
    root, engine = env
    period = programme.period(PERIOD)
    unit = programme.expected_units(period)[0]
    drop(root, "KHONG-CO", "x.xlsx", fill_form(programme, unit, period), datetime.now(UTC))
    [out] = run_intake(programme, engine, root, "run")
    assert out.status == "rejected"
    assert "gửi vào thư mục của đơn vị KHONG-CO" in (root / out.receipt).read_text("utf-8")


def test_claim_is_exclusive_while_its_owner_runs(env):
    """A claim belongs to an intake process (a run's try): another intake cannot take the
    file while that process runs, and takes it over at once when it is gone (its process
    died on this machine, it ended, it stopped beating on another machine, or it was an
    earlier try of the same run)."""
    import subprocess
    import sys

    import psutil

    from baocao.warehouse.claims import Owner

    _root, engine = env
    path = "inbox/A/x.xlsx"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        one = Owner(engine, "run-1")
        with engine.begin() as conn:  # run-1 is that other process, alive on this machine
            conn.execute(sa.text("update intake_owners set pid = :p, process_started = :s "
                                 "where id = :i"), {"p": other.pid, "i": one.id,
                                                    "s": psutil.Process(other.pid).create_time()})
        two = Owner(engine, "run-2")
        assert claim(engine, path, "abc", one).taken == "new"
        assert not claim(engine, path, "abc", two)
        assert claim(engine, path, "abc", one).taken == "resumed"  # the holder may retry
    finally:
        other.kill()
        other.wait()
    assert claim(engine, path, "abc", two).taken == "resumed"  # its process is gone
    # another machine: alive while it beats, gone two minutes after its last beat
    with engine.begin() as conn:
        conn.execute(sa.text("update intake_owners set host = 'elsewhere', heartbeat_at = :t "
                             "where id = :i"), {"i": two.id, "t": datetime.now(UTC)})
    three = Owner(engine, "run-3")
    assert not claim(engine, path, "abc", three)
    with engine.begin() as conn:
        conn.execute(sa.text("update intake_owners set heartbeat_at = :t where id = :i"),
                     {"i": two.id, "t": datetime.now(UTC) - timedelta(minutes=3)})
    assert claim(engine, path, "abc", three).taken == "resumed"
    retry = Owner(engine, "run-3")  # a task retry: same run id, another try
    assert claim(engine, path, "abc", retry).taken == "resumed"
    retry.end()
    assert claim(engine, path, "abc", Owner(engine, "run-4")).taken == "resumed"


def test_an_intake_takes_over_only_its_own_programmes_claims(env):
    """Two programmes share the warehouse and have the same relative paths: programme A's
    intake starting after programme B's died leaves B's unfinished claim to B (its count of
    unfinished takes intact), and closes only A's own claims whose files were answered."""
    from baocao.warehouse.claims import Owner, claim_many, take_over

    _root, engine = env
    dead_b, dead_a = Owner(engine, "run-b", "ha-tinh"), Owner(engine, "run-a", "lang-son")
    claim_many(engine, [("inbox/SNV/b.xlsx", "b1")], dead_b)
    claim_many(engine, [("inbox/SNV/a.xlsx", "a1")], dead_a)
    with engine.begin() as conn:  # B died answering its file; A's answered file is gone
        conn.execute(sa.text("update intake_claims set unfinished = 1"))
        conn.execute(sa.text("update intake_owners set pid = 0"))
    a = Owner(engine, "run-a2", "lang-son")
    assert take_over(engine, a, inbox=set()) == set()

    def claims():
        with engine.connect() as conn:
            return {r.path: (r.programme, r.done, r.unfinished) for r in conn.execute(
                sa.text("select path, programme, done, unfinished from intake_claims"))}

    assert claims() == {"inbox/SNV/b.xlsx": ("ha-tinh", False, 1),
                        "inbox/SNV/a.xlsx": ("lang-son", True, 1)}
    b = Owner(engine, "run-b2", "ha-tinh")  # B's next intake takes its claim over
    assert take_over(engine, b, inbox={"inbox/SNV/b.xlsx"}) == set()
    got = claim_many(engine, [("inbox/SNV/b.xlsx", "b1")], b)[("inbox/SNV/b.xlsx", "b1")]
    assert got.taken == "resumed" and got.unfinished >= 1


def test_list_inbox_reads_vietnamese_names(env):
    root, _engine = env
    drop(root, "SNV", "Báo cáo quý.xlsx", b"x", datetime.now(UTC))
    [item] = list_inbox(root)
    assert (item.unit_code, item.file_name) == ("SNV", "Báo cáo quý.xlsx")


def test_oversized_file_is_read_no_further_than_the_limit(tmp_path, programme):
    """Memory stays bounded: a 12 MB upload is hashed in full but only its head is kept,
    and the receipt still gives its real size."""
    import hashlib

    from airflow.sdk import ObjectStoragePath

    from baocao.intake import read_capped
    from baocao.parsing import parse_submission
    from baocao.workbook import MAX_FILE_BYTES

    blob = b"PK\x03\x04" + os.urandom(12 * 1024 * 1024)
    (tmp_path / "big.xlsx").write_bytes(blob)
    data, checksum, size = read_capped(ObjectStoragePath(f"file://{tmp_path}") / "big.xlsx")
    assert len(data) == MAX_FILE_BYTES + 1 and size == len(blob)
    assert checksum == hashlib.sha256(blob).hexdigest()
    unit = programme.expected_units(programme.period(PERIOD))[0]
    [problem] = parse_submission(data, programme, unit.code, size).problems
    assert "Tệp quá lớn (12,0 MB)" in problem.message
