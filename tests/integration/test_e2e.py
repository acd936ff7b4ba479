"""End to end through Airflow: dag.test() of intake then reports on the demo period.

Expected figures are computed here from the demo inputs (demo_values of the units whose
files should be accepted), not read back from the pipeline's own output.
"""

from __future__ import annotations

import unicodedata

import pytest
from docx import Document
from openpyxl import load_workbook
from support import DAGS, PROGRAMMES, baocao_settings

from baocao.demo import demo_values
from baocao.vn_numbers import format_vn_number

pytestmark = pytest.mark.airflow
PERIOD = "2026-H1"


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture(scope="module")
def demo_run(dags, programme, tmp_root):
    from baocao.demo import seed_demo

    seeded = seed_demo("lang-son", PERIOD)
    run = dags["baocao_intake"].test(run_conf={"programme": "lang-son"})
    assert run.state == "success"
    run = dags["baocao_reports"].test(run_conf={"programme": "lang-son", "period": PERIOD})
    assert run.state == "success"
    out = tmp_root / "outbox" / "reports" / "lang-son" / PERIOD / "du-thao"
    stem = f"bao-cao-lang-son-{PERIOD}-du-thao-v1"
    return seeded, out / f"{stem}.docx", out / f"{stem}.xlsx"


def expected_local_total(programme, seeded, ref) -> float:
    period = programme.period(PERIOD)
    total = 0.0
    for unit in programme.expected_units(period):
        if not programme.is_local(unit) or unit.code in (seeded["missing"], seeded["bad"]):
            continue
        total += demo_values(programme, unit, period)[ref]
    return total


def test_report_numbers_match_the_inputs(demo_run, programme):
    seeded, docx_path, xlsx_path = demo_run
    wb = load_workbook(xlsx_path)
    b01 = wb["Biểu 01 - Chỉ tiêu"]
    rows = {b01.cell(r, 1).value: b01.cell(r, 3).value for r in range(5, b01.max_row + 1)}
    cn = expected_local_total(programme, seeded, ("W_DEP", "CN", "total"))
    others = sum(expected_local_total(programme, seeded, ("W_DEP", m, "total"))
                 for m in ("JP", "KR", "TW", "MY", "ME", "EU", "OTHER"))
    assert rows["Lao động đi làm việc tại thành phố Sùng Tả, tỉnh Quảng Tây, Trung Quốc"] == cn
    assert rows["Lao động đi làm việc tại các quốc gia và vùng lãnh thổ khác"] == others
    status = wb["Tình hình gửi báo cáo"]
    labels = {status.cell(r, 3).value: status.cell(r, 4).value
              for r in range(5, status.max_row + 1)}
    assert labels[seeded["missing"]] == "Chưa nộp"  # the status page's labels
    assert labels[seeded["bad"]] == "Bị từ chối"
    assert labels[seeded["late"]] == "Nộp muộn"
    text = "\n".join(p.text for p in Document(docx_path).paragraphs)
    assert unicodedata.is_normalized("NFC", text)
    assert f"toàn tỉnh có {format_vn_number(cn + others)} lao động" in text
    expected = len(programme.expected_units(programme.period(PERIOD)))
    assert f"trên cơ sở báo cáo của {expected - 2}/{expected} cơ quan, đơn vị" in text


def test_receipts_and_archive(demo_run, tmp_root):
    seeded, _docx, _xlsx = demo_run
    bucket = tmp_root / "bucket" / "lang-son"  # the programme's folder of the bucket
    bad = list((bucket / "receipts" / seeded["bad"]).glob("*.html"))
    assert len(bad) == 1
    html = bad[0].read_text(encoding="utf-8")
    assert "BỊ TỪ CHỐI" in html and "khoảng 50" in html and "Không phải là số" in html
    assert "Nhật Bản: Số lao động nữ (999.999) lớn hơn tổng số" in html  # rules ran too
    assert not any((bucket / "inbox").rglob("*.xlsx"))
    resub = sorted((bucket / "archive" / "accepted" / seeded["resubmitted"])
                   .rglob("*.xlsx"))
    assert len(resub) == 2  # both versions kept


def test_rerun_changes_nothing(demo_run, dags, programme):
    import sqlalchemy as sa

    from baocao.demo import seed_demo
    from baocao.pipeline import engine

    def snapshot():
        with engine().connect() as conn:
            return (conn.execute(sa.text("select count(*), sum(value) from fact_values")).one(),
                    conn.execute(sa.text("select id, status, version, is_current from "
                                         "submissions order by id")).all())

    before = snapshot()
    seed_demo("lang-son", PERIOD)
    assert dags["baocao_intake"].test(run_conf={"programme": "lang-son"}).state == "success"
    assert snapshot() == before


def test_rerun_of_the_draft_dag_writes_nothing(demo_run, dags, tmp_root):
    folder = tmp_root / "outbox" / "reports" / "lang-son" / PERIOD / "du-thao"
    before = sorted(p.name for p in folder.iterdir())
    run = dags["baocao_reports"].test(run_conf={"programme": "lang-son", "period": PERIOD})
    assert run.state == "success"
    assert sorted(p.name for p in folder.iterdir()) == before


def test_final_dag_keeps_and_mails_the_report(demo_run, dags, tmp_root, tmp_path,
                                              smtp_server):
    """The final DAG through Airflow: the SMTP connection comes from AIRFLOW_CONN_*."""
    import shutil

    from baocao.programme import load_programme

    progs = tmp_path / "programmes"
    shutil.copytree(PROGRAMMES, progs)
    with open(progs / "lang-son.yaml", "a", encoding="utf-8") as f:
        f.write('\nreport_emails: ["vanphong@ubnd.example.vn"]\n')
    try:
        with baocao_settings(programmes_dir=progs):
            getattr(load_programme, "cache_clear", lambda: None)()
            run = dags["baocao_reports_final"].test(
                run_conf={"programme": "lang-son", "period": PERIOD})
            assert run.state == "success"
    finally:
        getattr(load_programme, "cache_clear", lambda: None)()
    final = tmp_root / "outbox" / "reports" / "lang-son" / PERIOD / "chinh-thuc"
    assert sorted(p.name for p in final.iterdir()) == [
        f"bao-cao-lang-son-{PERIOD}-chinh-thuc-v1.docx",
        f"bao-cao-lang-son-{PERIOD}-chinh-thuc-v1.xlsx"]
    [msg] = smtp_server.messages
    assert msg.rcpt_tos == ["vanphong@ubnd.example.vn"]
    assert len(list(msg.iter_attachments())) == 2


def test_reminders_dag_runs(demo_run, dags):
    run = dags["baocao_reminders"].test(run_conf={"programme": "lang-son"})
    assert run.state == "success"
