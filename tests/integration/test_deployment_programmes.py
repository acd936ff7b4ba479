"""A deployment serving two programmes (lang-son and ha-tinh) through the scheduled DAGs.

Every DAG runs with ``dag.test()`` and no conf, as the scheduler starts it: each task maps
over the active programmes read at run time. Both programmes get a file from a unit with the
same code (SNV, CAT, MTTQ exist in both provinces); each file must be answered, merged and
reported under its own programme's layout, and nothing of one programme may land in the
other's folders. Expected figures come from the demo values of the files dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support import DAGS, baocao_settings, drop
from support import PROGRAMMES as PROGRAMMES_DIR

from baocao.programme import load_programme

pytestmark = pytest.mark.airflow
PERIOD = "2026-H1"
PROGRAMMES = ("lang-son", "ha-tinh")
SHARED = ("SNV", "CAT", "MTTQ")  # unit codes of both provinces


def _run_day(day: str, hour: int) -> datetime:
    """A logical date at ``hour`` o'clock Vietnam time on ``day``."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, airflow_db):
    """Settings of a two-programme deployment (own bucket, outbox and warehouse)."""
    import shutil

    import yaml

    base = tmp_path_factory.mktemp("deployment")
    programmes = base / "programmes"  # SNGV of both provinces gets an e-mail address
    shutil.copytree(PROGRAMMES_DIR, programmes)
    for code in PROGRAMMES:
        path = programmes / f"{code}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for unit in data["units"]:
            if unit["code"] == "SNGV":
                unit["emails"] = [f"sngv@{code}.example.vn"]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    with baocao_settings(programmes=",".join(PROGRAMMES), programmes_dir=programmes,
                         warehouse_url=f"sqlite:///{base / 'wh.sqlite'}",
                         bucket_url=f"file://{base / 'bucket'}",
                         outbox_url=f"file://{base / 'outbox'}"):
        yield base


@pytest.fixture(scope="module")
def dags(deployment):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags


def _drop(base: Path, prog, unit, when: datetime) -> Path:
    from baocao.demo import fill_form

    return drop(base / "bucket" / prog.code, unit.code, f"Báo cáo {unit.name}.xlsx",
                fill_form(prog, unit, prog.period(PERIOD)), when)


@pytest.fixture(scope="module")
def intake_run(deployment, dags):
    """Files of three shared unit codes in each programme, one of them also dropped in the
    old (pre-programme) inbox/; then the intake as the scheduler runs it."""
    dropped = {}
    for n, code in enumerate(PROGRAMMES):
        prog = load_programme(code)
        per = prog.period(PERIOD)
        for k, unit_code in enumerate(SHARED):
            unit = prog.unit(unit_code, per.deadline)
            _drop(deployment, prog, unit, datetime(2026, 6, 10 + n, 2 + k, tzinfo=UTC))
            dropped[(code, unit_code)] = unit
    old = deployment / "bucket" / "inbox" / "SNV" / "báo cáo.xlsx"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"not even a workbook")
    run = dags["baocao_intake"].test()
    assert run.state == "success"
    return dropped


def _receipts(base: Path, code: str) -> dict[str, list[str]]:
    folder = base / "bucket" / code / "receipts"
    return {d.name: sorted(p.read_text(encoding="utf-8") for p in d.iterdir())
            for d in sorted(folder.iterdir())}


def test_each_programme_answers_and_merges_its_own_files(deployment, intake_run):
    from baocao.pipeline import engine

    for code in PROGRAMMES:
        prog = load_programme(code)
        receipts = _receipts(deployment, code)
        assert sorted(receipts) == sorted(SHARED)
        for unit_code, pages in receipts.items():
            [html] = pages
            assert "ĐÃ TIẾP NHẬN" in html, (code, unit_code)
            assert prog.title[:60] in html  # answered as this programme's file
            unit = intake_run[(code, unit_code)]
            assert unit.name in html
        inbox = deployment / "bucket" / code / "inbox"
        assert not [p for p in inbox.rglob("*") if p.is_file()]
        accepted = deployment / "bucket" / code / "archive" / "accepted"
        assert sorted(d.name for d in accepted.iterdir()) == sorted(SHARED)
    with engine().connect() as conn:
        rows = conn.execute(sa.text(
            "select programme, unit_code, status, is_current, bucket_path, receipt_path "
            "from submissions order by programme, unit_code")).all()
        facts = dict(conn.execute(sa.text(
            "select s.programme, count(*) from fact_values f join submissions s "
            "on s.id = f.submission_id group by s.programme")).all())
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (code, unit, "accepted", True) for code in sorted(PROGRAMMES) for unit in
        sorted(SHARED)]
    for r in rows:  # paths are relative to the programme's own folder
        assert r.bucket_path.startswith(f"inbox/{r.unit_code}/")
        assert (deployment / "bucket" / r.programme / r.receipt_path).is_file()
    assert set(facts) == set(PROGRAMMES) and all(n > 0 for n in facts.values())


def test_a_file_in_the_old_inbox_is_answered_with_where_it_belongs(deployment, intake_run):
    old = deployment / "bucket"
    assert not [p for p in (old / "inbox").rglob("*") if p.is_file()]
    [receipt] = (old / "receipts" / "SNV").iterdir()
    html = receipt.read_text(encoding="utf-8")
    assert "lang-son/inbox/SNV/" in html and "ha-tinh/inbox/SNV/" in html
    assert "không còn được dùng" in html
    [kept] = (old / "archive" / "misplaced" / "SNV").iterdir()
    assert kept.read_bytes() == b"not even a workbook"


def test_drafts_of_each_programme_in_its_own_outbox_folder(deployment, intake_run, dags):
    from docx import Document

    # the daily run of 15 June: the half-year's deadline (20 June) is 5 days ahead
    run = dags["baocao_reports"].test(logical_date=_run_day("2026-06-15", 7))
    assert run.state == "success"
    for code in PROGRAMMES:
        prog = load_programme(code)
        folder = deployment / "outbox" / "reports" / code / PERIOD / "du-thao"
        stem = f"bao-cao-{code}-{PERIOD}-du-thao-v1"
        assert sorted(p.name for p in folder.iterdir()) == [f"{stem}.docx", f"{stem}.xlsx"]
        text = "\n".join(p.text for p in Document(folder / f"{stem}.docx").paragraphs)
        # its own programme's report ("Kết quả 6 tháng đầu năm 2026 thực hiện Kế hoạch số …")
        assert prog.title.removeprefix("Kết quả ")[:60] in text
        status = load_workbook(folder / f"{stem}.xlsx")["Tình hình gửi báo cáo"]
        reported = {status.cell(r, 3).value for r in range(5, status.max_row + 1)
                    if status.cell(r, 4).value in ("Đúng hạn", "Nộp muộn")}
        assert reported == set(SHARED)
    # the same data run again, later: nothing new (a draft is dated by its data)
    again = dags["baocao_reports"].test(logical_date=_run_day("2026-06-19", 7))
    assert again.state == "success"
    for code in PROGRAMMES:
        folder = deployment / "outbox" / "reports" / code / PERIOD / "du-thao"
        assert len(list(folder.iterdir())) == 2


def test_finals_forms_and_reminders_for_each_programme(deployment, intake_run, dags,
                                                       smtp_server):
    run = dags["baocao_reports_final"].test(logical_date=_run_day("2026-06-20", 17))
    assert run.state == "success"
    for code in PROGRAMMES:
        final = deployment / "outbox" / "reports" / code / PERIOD / "chinh-thuc"
        assert sorted(p.suffix for p in final.iterdir()) == [".docx", ".xlsx"]

    run = dags["baocao_forms"].test(logical_date=_run_day("2026-06-01", 6))
    assert run.state == "success"
    for code in PROGRAMMES:
        prog = load_programme(code)
        for period in ("2026-H1", "2026-Y"):  # both open on 1 June
            folder = deployment / "bucket" / code / "templates" / period
            forms = {p.stem for p in folder.glob("*.xlsx")}
            assert forms == {u.code for u in prog.expected_units(prog.period(period))}
            index = (folder / "README.txt").read_text(encoding="utf-8")
            assert f"{code}/inbox/SNV/" in index and f"{code}/templates/{period}/SNV.xlsx" in index

    # 13 June is 7 days before the deadline: units of both programmes without a report
    run = dags["baocao_reminders"].test(logical_date=_run_day("2026-06-13", 8))
    assert run.state == "success"
    mails = {m.rcpt_tos[0]: m.get_body(("html",)).get_content() for m in smtp_server.messages}
    assert set(mails) == {f"sngv@{code}.example.vn" for code in PROGRAMMES}
    for code in PROGRAMMES:  # each unit is sent to its own programme's drop folder
        assert f"{code}/inbox/SNGV/" in mails[f"sngv@{code}.example.vn"]


def test_a_manual_run_targets_one_programme(deployment, intake_run, dags):
    prog = load_programme("ha-tinh")
    unit = prog.unit("SNGV", prog.period(PERIOD).deadline)
    _drop(deployment, prog, unit, datetime(2026, 6, 12, 3, tzinfo=UTC))
    _drop(deployment, load_programme("lang-son"),
          load_programme("lang-son").unit("SNGV", prog.period(PERIOD).deadline),
          datetime(2026, 6, 12, 3, tzinfo=UTC))
    run = dags["baocao_intake"].test(run_conf={"programme": "ha-tinh"})
    assert run.state == "success"
    assert (deployment / "bucket" / "ha-tinh" / "receipts" / "SNGV").is_dir()
    waiting = deployment / "bucket" / "lang-son" / "inbox" / "SNGV"
    assert [p.name for p in waiting.iterdir()]  # not this run's programme: still waiting
