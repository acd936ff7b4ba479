"""Publishing blank forms to templates/<period>/ (file:// bucket) and the baocao_forms DAG."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from support import DAGS

from baocao.forms import META_SHEET, build_form
from baocao.parsing import parse_submission
from baocao.publishing import periods_to_publish, publish_forms

PERIOD = "2026-H1"
SMALL = "2023-Y"  # before the 2025 reorganisation: 27 units instead of 80 (faster runs)


@pytest.fixture
def root(tmp_path):
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(f"file://{tmp_path / 'bucket'}")


def snapshot(folder) -> dict[str, tuple[int, bytes]]:
    """Name -> (modification time in ns, bytes) of every file in a local folder."""
    local = Path(folder.path)
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in local.iterdir()}


def test_every_expected_unit_gets_its_own_form_and_the_index_lists_them(root, programme):
    period = programme.period(PERIOD)
    units = programme.expected_units(period)
    out = publish_forms("lang-son", PERIOD, root)
    assert out == {"programme": "lang-son", "period": PERIOD, "units": len(units),
                   "written": len(units) + 1, "updated": 0, "unchanged": 0, "stale": [],
                   "index": f"templates/{PERIOD}/README.txt"}
    folder = root / "templates" / PERIOD
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{u.code}.xlsx" for u in units] + ["README.txt"])
    for unit in (units[0], units[-1]):
        data = (folder / f"{unit.code}.xlsx").read_bytes()
        assert data == build_form(programme, unit, period)
        meta = load_workbook(BytesIO(data))[META_SHEET]
        assert {meta.cell(r, 1).value: meta.cell(r, 2).value for r in range(1, 7)}[
            "unit"] == unit.code
        # the blank form is recognised by the intake (only the task statuses are missing)
        parsed = parse_submission(data, programme, unit.code)
        assert parsed.readable and parsed.period == PERIOD
        assert {p.rule for p in parsed.errors} <= {"T-STATUS"}
    index = (folder / "README.txt").read_text(encoding="utf-8")
    assert index == unicodedata.normalize("NFC", index)
    assert "BIỂU MẪU BÁO CÁO 6 THÁNG ĐẦU NĂM 2026" in index
    assert "Thời hạn gửi: chậm nhất ngày 20/6/2026 (gửi trong ngày 20/6/2026 là đúng hạn" \
        in index  # the deadline day itself is on time
    assert f"DANH SÁCH ĐƠN VỊ BÁO CÁO ({len(units)} đơn vị)" in index
    for unit in units:
        assert f"{unit.name} (mã {unit.code}, tài khoản lang-son-{unit.code})" in index
        assert (f"lang-son/templates/{PERIOD}/{unit.code}.xlsx  —  gửi báo cáo vào: "
                f"lang-son/inbox/{unit.code}/") in index


def test_rerun_changes_nothing_and_a_damaged_form_is_restored(root, programme):
    first = publish_forms("lang-son", SMALL, root)
    folder = root / "templates" / SMALL
    before = snapshot(folder)
    again = publish_forms("lang-son", SMALL, root)
    assert (again["written"], again["updated"], again["unchanged"]) == \
        (0, 0, first["written"])
    assert snapshot(folder) == before  # not even rewritten with the same bytes
    code = programme.expected_units(programme.period(SMALL))[3].code
    (folder / f"{code}.xlsx").write_bytes(b"damaged")
    (folder / "X-OLD.xlsx").write_bytes(b"a unit no longer expected")
    fixed = publish_forms("lang-son", SMALL, root)
    assert (fixed["written"], fixed["updated"], fixed["stale"]) == (0, 1, ["X-OLD"])
    assert (folder / f"{code}.xlsx").read_bytes() == before[f"{code}.xlsx"][1]
    assert (folder / "X-OLD.xlsx").exists()  # nothing is deleted


def test_forms_of_another_programme(root):
    from baocao.programme import load_programme

    prog = load_programme("ha-tinh")
    out = publish_forms("ha-tinh", SMALL, root)
    units = prog.expected_units(prog.period(SMALL))
    assert out["units"] == len(units) > 0 and out["written"] == len(units) + 1
    index = (root / "templates" / SMALL / "README.txt").read_text(encoding="utf-8")
    assert prog.title in index and "BIỂU MẪU BÁO CÁO NĂM 2023" in index


@pytest.mark.parametrize("day, expected", [
    (datetime(2026, 12, 14, 23, tzinfo=UTC), ["2026-Y", "2027-H1", "2027-Y"]),  # 06:00 15/12 VN
    (datetime(2026, 12, 14, 16, tzinfo=UTC), ["2026-Y"]),  # 23:00 on 14/12 in Vietnam
    (datetime(2026, 6, 20, 1, tzinfo=UTC), ["2026-H1", "2026-Y"]),  # deadline day still open
    (datetime(2026, 6, 21, 1, tzinfo=UTC), ["2026-H1", "2026-Y"]),  # late files: 10 days
    (datetime(2026, 7, 1, 1, tzinfo=UTC), ["2026-Y"]),
    (datetime(2026, 12, 22, 1, tzinfo=UTC), ["2026-Y", "2027-H1", "2027-Y"]),
    (datetime(2027, 1, 1, 1, tzinfo=UTC), ["2027-H1", "2027-Y"]),
])
def test_periods_open_on_a_day(day, expected):
    assert periods_to_publish("lang-son", "", day) == expected


def test_period_param_wins_and_is_checked():
    assert periods_to_publish("lang-son", "2025-Y", datetime(2026, 6, 1, tzinfo=UTC)) == \
        ["2025-Y"]
    with pytest.raises(ValueError):
        periods_to_publish("lang-son", "2026-Q3")


def test_forms_dag_publishes_into_the_bucket(airflow_db, programme):
    from airflow.dag_processing.dagbag import DagBag

    from baocao.bucket import programme_root

    bag = DagBag(dag_folder=str(DAGS / "baocao_forms.py"))
    assert bag.import_errors == {}
    dag = bag.dags["baocao_forms"]
    run = dag.test(run_conf={"programme": "lang-son", "period": SMALL})
    assert run.state == "success"
    folder = programme_root("lang-son") / "templates" / SMALL
    before = snapshot(folder)
    units = programme.expected_units(programme.period(SMALL))
    assert sorted(before) == sorted([f"{u.code}.xlsx" for u in units] + ["README.txt"])
    assert dag.test(run_conf={"programme": "lang-son", "period": SMALL}).state == "success"
    assert snapshot(folder) == before  # the same run again rewrites nothing


def test_cli_forms_publishes_like_the_dag(tmp_path, baocao_env, capsys, programme):
    import json

    from baocao.cli import main

    baocao_env(bucket_url=f"file://{tmp_path / 'bucket'}")
    assert main(["forms", "--programme", "lang-son", "--period", SMALL]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    units = programme.expected_units(programme.period(SMALL))
    assert (first["units"], first["written"]) == (len(units), len(units) + 1)
    assert main(["forms", "--programme", "lang-son", "--period", SMALL]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (again["written"], again["unchanged"]) == (0, len(units) + 1)
