"""What the scheduled runs do on a given day: the drafts of the last week before a deadline,
every final due, drafts dated by their data (a late run writes no new version), and the open
period shown by ``baocao periods`` and used by default by ``baocao status``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support import drop

from baocao.config import settings
from baocao.reports.scheduling import draft_periods, due_finals

PERIOD = "2026-H1"


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 6, 12), []),
    (date(2026, 6, 13), ["2026-H1"]),  # 7 days before 20 June
    (date(2026, 6, 19), ["2026-H1"]),
    (date(2026, 6, 20), []),  # the deadline itself: the final's day
    (date(2026, 12, 14), ["2026-Y"]),
    (date(2026, 12, 20), ["2026-Y"]),
    (date(2026, 12, 4), []),
])
def test_drafts_of_the_last_week(programme, day, expected):
    assert draft_periods(programme, day) == expected


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 6, 19), []),
    (date(2026, 6, 20), ["2026-H1"]),
    (date(2026, 6, 30), ["2026-H1"]),  # a run missed on the deadline day catches up
    (date(2026, 7, 1), []),
    (date(2026, 12, 21), ["2026-Y"]),
    (date(2027, 1, 1), []),
])
def test_finals_due(programme, day, expected):
    assert due_finals(programme, day) == expected


def test_every_due_final_is_rendered(tmp_path, programme):
    """A programme whose two periods share a deadline gets both finals in one run."""
    import shutil

    import yaml

    from baocao.programme import load_programme_file

    folder = tmp_path / "programmes"
    shutil.copytree(settings().programmes_dir, folder)
    path = folder / "lang-son.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    common = yaml.safe_load((folder / "common.yaml").read_text(encoding="utf-8"))
    data["periods"] = common["periods"]
    data["periods"]["H"]["deadline"] = "12-21"  # both due on 21 December
    data["periods"]["H"]["cutoff_end"] = "12-14"
    data["periods"]["Y"]["cutoff_end"] = "12-13"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    prog = load_programme_file(path)
    assert due_finals(prog, date(2026, 12, 21)) == ["2026-H1", "2026-Y"]


@pytest.fixture
def live(tmp_path, baocao_env, programme):
    """A fresh warehouse, bucket and outbox; three communes reported for 2026-H1."""
    from airflow.sdk import ObjectStoragePath

    from baocao.demo import fill_form
    from baocao.intake import run_intake
    from baocao.pipeline import engine, prepare_warehouse

    baocao_env(warehouse_url=f"sqlite:///{tmp_path / 'wh.sqlite'}",
               bucket_url=f"file://{tmp_path / 'bucket'}",
               outbox_url=f"file://{tmp_path / 'outbox'}")
    prepare_warehouse("lang-son")
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket' / 'lang-son'}")
    period = programme.period(PERIOD)
    for u in [u for u in programme.expected_units(period) if u.kind == "commune"][:3]:
        drop(root, u.code, "bc.xlsx", fill_form(programme, u, period),
             datetime(2026, 6, 10, 2, tzinfo=UTC))
    run_intake(programme, engine(), root, "seed")
    return tmp_path / "outbox"


def test_a_late_run_of_the_same_data_writes_no_new_draft(live, programme):
    """The draft is dated by its data (the last file received), not by the run: the run of
    19 June started on 4 December (after unpausing) says the same as the one of 13 June,
    and writes nothing."""
    from docx import Document

    from baocao.pipeline import data_date, render_drafts
    from baocao.timezone import local_today

    day = data_date(programme, programme.period(PERIOD))
    assert day == date(2026, 6, 10)  # the files arrived at 09:00 on 10 June
    assert day <= local_today()
    first = render_drafts("lang-son", None, datetime(2026, 6, 13, 0, tzinfo=UTC))
    late = render_drafts("lang-son", None, datetime(2026, 6, 19, 0, tzinfo=UTC))
    assert [r["version"] for r in first] == [1] and [r["new"] for r in late] == [False]
    folder = live / "reports" / "lang-son" / PERIOD / "du-thao"
    assert len(list(folder.iterdir())) == 2
    doc = Document(folder / "bao-cao-lang-son-2026-H1-du-thao-v1.docx")
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables
                                                         for row in t.rows for c in row.cells])
    assert f"ngày {day.day:02d} tháng" in text
    # an empty period is dated by its deadline, whatever the run's day
    empty = programme.period("2026-Y")
    assert data_date(programme, empty) == empty.deadline


def test_finals_run_renders_each_due_period_once(live, programme):
    from baocao.pipeline import render_finals

    [first] = render_finals("lang-son", "", datetime(2026, 6, 20, 10, tzinfo=UTC))
    assert first["kind"] == "final" and first["version"] == 1 and first["new"]
    [again] = render_finals("lang-son", "", datetime(2026, 6, 21, 10, tzinfo=UTC))
    assert again["version"] == 1 and not again["new"] and again["paths"] == first["paths"]
    assert render_finals("lang-son", "", datetime(2026, 7, 2, 10, tzinfo=UTC)) == []


def test_cli_periods_and_the_default_period(live, capsys):
    from baocao.cli import main
    from baocao.periods import collecting_period
    from baocao.programme import load_programme
    from baocao.timezone import local_today

    assert main(["periods", "--programme", "lang-son", "--day", "2026-12-04"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["lang-son\t2026-Y\tnăm 2026: data 15/12/2025-14/12/2026, deadline "
                   "21/12/2026, files taken until 31/12/2026  <- collecting"]
    assert main(["periods", "--programme", "lang-son", "--day", "2026-06-25"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1] for line in out] == ["2026-H1", "2026-Y"]
    assert out[0].endswith("<- collecting")
    assert main(["periods", "--day", "2026-12-04"]) == 0  # every active programme
    assert len(capsys.readouterr().out.splitlines()) == len(
        [p for p in settings().programmes_dir.glob("*.yaml") if p.stem != "common"])
    # `baocao status` without --period: the period being collected today
    assert main(["status", "--programme", "lang-son"]) == 0
    today = collecting_period(local_today(), load_programme("lang-son"))
    assert capsys.readouterr().out.startswith(f"lang-son {today.code} ")
