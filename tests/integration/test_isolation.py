"""One file can never stop the intake: each file is read in a worker process with a memory
and a CPU-time limit. A reader that aborts (as a native library does when an allocation
fails), runs out of memory or never ends costs its worker; that file is rejected with a
Vietnamese "could not be processed" receipt, its original archived, and the other files of
the run are accepted; ``baocao intake`` exits 0.

The faulty reader is simulated by patching the workbook reader in the process that forks the
workers: it aborts, allocates past its limit or loops on files carrying a marker part.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from io import BytesIO

import pytest

from baocao.demo import fill_form

PERIOD = "2026-H1"
ON_TIME = datetime(2026, 6, 18, 2, tzinfo=UTC)
FAULTS = {"ABORT-READER": "dừng đột ngột", "EAT-MEMORY": "quá nhiều bộ nhớ",
          "NEVER-ENDS": "quá thời gian cho phép"}
PATCH = """
import os, sys
import baocao.workbook as workbook

real = workbook.Workbook.__init__

def faulty(self, data, size=None):
    if b"ABORT-READER" in data:
        os.abort()  # what a native reader does when an allocation fails
    if b"EAT-MEMORY" in data:
        hog = [bytearray(64 * 1024 * 1024) for _ in range(1024)]  # 64 GiB
    if b"NEVER-ENDS" in data:
        while True:
            pass
    real(self, data, size)

workbook.Workbook.__init__ = faulty
from baocao.cli import main
"""


def marked(data: bytes, marker: str) -> bytes:
    """A valid form with one more (ignored) part whose name carries ``marker``."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(f"customXml/{marker}.xml", "<x/>")
    return out.getvalue()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    script = PATCH + f"sys.exit(main({args!r}))\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


@pytest.fixture
def units(programme):
    period = programme.period(PERIOD)
    return [u for u in programme.expected_units(period) if u.kind == "commune"][:6]


def test_a_reader_that_dies_rejects_only_its_file_and_the_intake_exits_0(
        tmp_path, programme, units):
    period = programme.period(PERIOD)
    bucket = tmp_path / "bucket"
    env = {"BAOCAO_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.sqlite'}",
           "BAOCAO_BUCKET_URL": f"file://{bucket}", "BAOCAO_INTAKE_WORKERS": "2",
           "BAOCAO_INTAKE_WORKER_SECONDS": "3", "BAOCAO_INTAKE_WORKER_MEMORY_MB": "512"}
    sent = {}
    for n, unit in enumerate(units):
        data = fill_form(programme, unit, period)
        if n < len(FAULTS):
            data = marked(data, list(FAULTS)[n])
        path = bucket / programme.code / "inbox" / unit.code / "Báo cáo.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (ON_TIME.timestamp() + n, ON_TIME.timestamp() + n))
        sent[unit.code] = data
    assert run_cli(["migrate"], env).returncode == 0
    done = run_cli(["intake"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts == {"rejected": len(FAULTS), "accepted": len(units) - len(FAULTS)}
    root = bucket / programme.code  # the programme's folder of the bucket
    assert not list((root / "inbox").rglob("*.xlsx"))
    for n, unit in enumerate(units):
        [receipt] = (root / "receipts" / unit.code).iterdir()
        text = html.unescape(receipt.read_text(encoding="utf-8"))
        [kept] = [p for p in (root / "archive").rglob("*.xlsx") if f"/{unit.code}/" in str(p)]
        assert kept.read_bytes() == sent[unit.code], "the original is kept as sent"
        if n < len(FAULTS):
            assert "BỊ TỪ CHỐI" in text
            assert "Hệ thống không xử lý được tệp này" in text
            assert FAULTS[list(FAULTS)[n]] in text
            assert "archive/rejected/" in str(kept).replace(str(root) + "/", "")
        else:
            assert "ĐÃ TIẾP NHẬN" in text


def test_baocao_check_answers_a_file_that_kills_the_reader(tmp_path, programme, units):
    period = programme.period(PERIOD)
    path = tmp_path / "bc.xlsx"
    path.write_bytes(marked(fill_form(programme, units[0], period), "ABORT-READER"))
    done = run_cli(["check", "--unit", units[0].code, "--json", str(path)],
                   {"BAOCAO_INTAKE_WORKER_SECONDS": "3"})
    assert done.returncode == 1, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["status"] == "rejected"
    assert "dừng đột ngột" in out["problems"][0]["message"]


def test_the_pool_replaces_dead_workers_and_loses_no_file(programme, units, monkeypatch):
    """In process: files queued behind one that kills its worker are read by the next
    worker; each fault is told apart; the workers are gone after the pool closes."""
    import psutil

    import baocao.workbook as workbook
    from baocao.isolation import Job, ParsePool

    real = workbook.Workbook.__init__

    def faulty(self, data, size=None):
        if b"ABORT-READER" in data:
            os.abort()
        if b"EAT-MEMORY" in data:
            _hog = [bytearray(64 * 1024 * 1024) for _ in range(1024)]
        if b"NEVER-ENDS" in data:
            while True:
                pass
        real(self, data, size)

    monkeypatch.setattr(workbook.Workbook, "__init__", faulty)
    period = programme.period(PERIOD)
    good = {u.code: fill_form(programme, u, period) for u in units[:2]}
    jobs = [Job(n, good[units[n % 2].code], units[n % 2].code, len(good[units[n % 2].code]))
            for n in range(30)]
    for n, marker in zip((3, 4, 17), FAULTS, strict=True):
        data = marked(jobs[n].data, marker)
        jobs[n] = Job(n, data, jobs[n].unit_code, len(data))
    with ParsePool(programme, workers=2, memory_mb=512, seconds=2) as pool:
        results = pool.parse_many(jobs)
        pids = [w.pid for w in pool._workers]
        assert pool.failures == 3
    assert sorted(results) == list(range(30))
    for n, marker in zip((3, 4, 17), FAULTS, strict=True):
        [problem] = results[n].problems
        assert FAULTS[marker] in problem.message and not results[n].readable
    assert all(results[n].readable and not results[n].problems
               for n in range(30) if n not in (3, 4, 17))
    assert not [p for p in pids if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
