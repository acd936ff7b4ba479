"""Operations: reminders before deadlines (frozen dates), returning a submission for
correction end to end, and the failure alert. Mail goes to a local SMTP server on loopback."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from support import drop, free_port, smtp_conn

from baocao.demo import fill_form
from baocao.intake import run_intake
from baocao.reminders import due_steps, plan, send_step
from baocao.warehouse.db import get_engine
from baocao.warehouse.merge import return_submission, sync_programme
from baocao.warehouse.readmodels import completeness, unit_statuses

PERIOD = "2026-H1"
ON_TIME = datetime(2026, 6, 10, 2, tzinfo=UTC)
LATE = datetime(2026, 6, 22, 3, tzinfo=UTC)


@pytest.fixture
def small(programme):
    """Lạng Sơn cut down to the lead department and six communes, with e-mail addresses
    for all but one commune."""
    period = programme.period(PERIOD)
    lead = programme.lead_unit(period.deadline)
    communes = [u for u in programme.expected_units(period) if u.kind == "commune"][:6]
    units = [lead.model_copy(update={"emails": ["tonghop@snv.example.vn"]})]
    for n, u in enumerate(communes):
        emails = [] if n == 5 else [f"{u.code.lower()}@xa.example.vn"]
        units.append(u.model_copy(update={"emails": emails}))
    return programme.model_copy(update={"units": units}), communes


@pytest.fixture
def world(small, warehouse_url, tmp_path):
    """On time, late, returned, rejected, missing, and one without e-mail (missing)."""
    from airflow.sdk import ObjectStoragePath

    prog, communes = small
    period = prog.period(PERIOD)
    engine = get_engine(warehouse_url)
    sync_programme(engine, prog)
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    units = {u.code: u for u in prog.units}
    on_time, late, returned, rejected = (units[c.code] for c in communes[:4])
    drop(root, on_time.code, "bc.xlsx", fill_form(prog, on_time, period), ON_TIME)
    lead = prog.lead_unit(period.deadline)
    drop(root, lead.code, "bc.xlsx", fill_form(prog, lead, period), ON_TIME)
    drop(root, late.code, "bc.xlsx", fill_form(prog, late, period), LATE)
    drop(root, returned.code, "bc.xlsx", fill_form(prog, returned, period), ON_TIME)
    drop(root, rejected.code, "bc.xlsx", b"PK\x03\x04 broken", ON_TIME)
    outcomes = {o.unit_code: o for o in run_intake(prog, engine, root, "seed")}
    return_submission(engine, outcomes[returned.code].submission_id, "Số liệu chưa khớp")
    codes = {"on_time": on_time.code, "late": late.code, "returned": returned.code,
             "rejected": rejected.code, "missing": communes[4].code,
             "no_email": communes[5].code}
    return prog, engine, period, codes


def test_due_steps_follow_the_deadlines(programme):
    def steps(day):
        return [(p.code, s) for p, s in due_steps(programme, day)]

    assert steps(date(2026, 6, 13)) == [("2026-H1", "remind-7")]
    assert steps(date(2026, 6, 18)) == [("2026-H1", "remind-2")]
    assert steps(date(2026, 6, 21)) == [("2026-H1", "overdue")]
    assert steps(date(2026, 12, 14)) == [("2026-Y", "remind-7")]
    assert steps(date(2026, 12, 22)) == [("2026-Y", "overdue")]
    for quiet in (date(2026, 6, 12), date(2026, 6, 19), date(2026, 6, 20), date(2026, 1, 1)):
        assert steps(quiet) == []


@pytest.mark.parametrize("step", ["remind-7", "remind-2", "overdue"])
def test_selection_at_each_step(world, step):
    prog, engine, period, c = world
    p = plan(engine, prog, period, step)
    assert sorted(s.unit.code for s in p.units) == sorted(
        [c["returned"], c["rejected"], c["missing"], c["no_email"]])
    assert [s.unit.code for s in p.late] == [c["late"]]
    assert [s.unit.code for s in p.without_email] == [c["no_email"]]


def _body(msg) -> str:
    return msg.get_body(("html",)).get_content()


def test_reminders_are_sent_once_with_the_form(world, smtp_server):
    prog, engine, period, c = world
    out = send_step(engine, prog, period, "remind-7")
    assert sorted(out["sent"]) == sorted([c["returned"], c["rejected"], c["missing"]])
    assert out["no_email"] == [c["no_email"]] and out["lead_sent"]
    by_to = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 4  # three units and the lead (one unit has no address)
    unit_mail = by_to[f"{c['missing'].lower()}@xa.example.vn"]
    body = _body(unit_mail)
    assert unicodedata.is_normalized("NFC", body) and "còn 7 ngày" in unit_mail["Subject"]
    assert f"inbox/{c['missing']}/" in body and "20/06/2026" in body
    [form] = list(unit_mail.iter_attachments())
    assert form.get_filename() == f"bieu-mau-{c['missing']}-{PERIOD}.xlsx"
    assert form.get_content()[:2] == b"PK"
    assert "bị trả lại" in _body(by_to[f"{c['returned'].lower()}@xa.example.vn"])
    lead_body = _body(by_to["tonghop@snv.example.vn"])
    assert c["no_email"] in lead_body and "chưa có địa chỉ thư" in lead_body
    # a re-run (or the retry of a later step's task) sends nothing new
    again = send_step(engine, prog, period, "remind-7")
    assert again["sent"] == [] and sorted(again["skipped"]) == sorted(out["sent"])
    assert not again["lead_sent"] and len(smtp_server.messages) == 4


def test_overdue_mail_to_the_lead_lists_missing_and_late(world, smtp_server):
    prog, engine, period, c = world
    send_step(engine, prog, period, "overdue")
    [lead] = [m for m in smtp_server.messages if m.rcpt_tos == ["tonghop@snv.example.vn"]]
    body = _body(lead)
    names = {u.code: u.name for u in prog.units}
    assert "4 đơn vị chưa báo cáo, 1 đơn vị báo cáo muộn" in lead["Subject"]
    for key in ("missing", "returned", "rejected", "no_email", "late"):
        assert names[c[key]] in body
    assert names[c["on_time"]] not in body
    assert "quá hạn" in _body(next(m for m in smtp_server.messages
                                   if m.rcpt_tos == [f"{c['missing'].lower()}@xa.example.vn"]))


def test_smtp_down_marks_nothing_and_the_retry_sends(world, monkeypatch, smtp_server):
    prog, engine, period, c = world
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(free_port()))  # nobody listens
    with pytest.raises(OSError):
        send_step(engine, prog, period, "remind-2")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from notifications")).scalar_one() == 0
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(smtp_server.port))
    out = send_step(engine, prog, period, "remind-2")
    assert len(out["sent"]) == 3 and out["lead_sent"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from notifications")).scalar_one() == 4


def test_lead_without_address_does_not_fail_the_run(world, smtp_server):
    prog, engine, period, _ = world
    lead = prog.lead_unit(period.deadline)
    bare = prog.model_copy(update={"units": [u.model_copy(update={"emails": []})
                                             if u is lead else u for u in prog.units]})
    out = send_step(engine, bare, period, "remind-7")
    assert len(out["sent"]) == 3 and not out["lead_sent"]


# ---- return for correction, end to end through the CLI ----------------------------------

@pytest.fixture
def live(tmp_path, baocao_env, programme):
    """Settings pointing at a fresh warehouse and bucket (what the CLI uses)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.pipeline import engine, prepare_warehouse

    baocao_env(warehouse_url=f"sqlite:///{tmp_path / 'wh.sqlite'}",
               bucket_url=f"file://{tmp_path / 'bucket'}")
    prepare_warehouse("lang-son")
    return engine(), ObjectStoragePath(f"file://{tmp_path / 'bucket' / 'lang-son'}")


def test_return_flow_end_to_end(live, programme, capsys):
    from baocao.cli import main
    from baocao.reports.context import build_report_data, context

    engine, root = live
    period = programme.period(PERIOD)
    unit = [u for u in programme.expected_units(period) if u.kind == "commune"][0]
    from baocao.demo import demo_values, first_cell

    cell = first_cell(programme, unit, "W_OVERSTAY", "", "")
    wrong = demo_values(programme, unit, period)[("W_OVERSTAY", "", "")] + 5
    drop(root, unit.code, "bc.xlsx",
          fill_form(programme, unit, period, overrides={("workers", cell): wrong}), ON_TIME)
    [first] = run_intake(programme, engine, root, "r1")
    assert first.status == "accepted"

    reason = "Số lao động nữ đi Nhật Bản chưa khớp với danh sách"
    assert main(["return", "--submission", str(first.submission_id), "--reason", reason]) == 0
    assert "Đã trả lại báo cáo số" in capsys.readouterr().out
    receipts = [p for p in (root / "receipts" / unit.code).iterdir() if "tra-lai" in p.name]
    html = receipts[0].read_text(encoding="utf-8")
    assert "BỊ TRẢ LẠI ĐỂ CHỈNH SỬA" in html and reason in html
    status = {s.unit.code: s for s in unit_statuses(engine, programme, period)}[unit.code]
    assert status.status == "returned" and "tra-lai" in status.receipt_path
    assert completeness(list(unit_statuses(engine, programme, period)))["received"] == 0
    ctx = context(build_report_data(engine, programme, period))
    row = next(r for r in ctx["statuses"] if r["unit"] == unit.name)
    assert row["status"].startswith("Bị trả lại") and unit.name in ctx["missing_units"]

    # clear errors: again, unknown id, another programme's id
    assert main(["return", "--submission", str(first.submission_id), "--reason", "x"]) == 2
    assert "đã bị trả lại trước đó" in capsys.readouterr().err
    assert main(["return", "--submission", "999999", "--reason", "x"]) == 2
    assert "không có báo cáo số 999999" in capsys.readouterr().err
    assert main(["return", "--submission", str(first.submission_id), "--reason", "  "]) == 2

    # the unit sends a corrected file: it counts again, and the history keeps both
    drop(root, unit.code, "bc-sua.xlsx", fill_form(programme, unit, period),
          ON_TIME.replace(day=12))
    [second] = run_intake(programme, engine, root, "r2")
    assert second.status == "accepted" and second.version == 2
    status = {s.unit.code: s for s in unit_statuses(engine, programme, period)}[unit.code]
    assert status.status == "on_time" and status.submission_id == second.submission_id
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select status, is_current from submissions "
                                    "order by id")).all()
    assert [tuple(r) for r in rows] == [("returned", False), ("accepted", True)]
    # a superseded submission cannot be returned
    assert main(["return", "--submission", str(first.submission_id), "--reason", "x"]) == 2


def test_failure_alert_mails_the_engineers(monkeypatch, baocao_env, smtp_server):
    from types import SimpleNamespace

    from baocao.alerts import notify_failure

    baocao_env(engineers_email="kythuat@example.vn, trucca@example.vn")
    ti = SimpleNamespace(dag_id="baocao_intake", task_id="process_inbox",
                         run_id="scheduled__2026-06-20", try_number=4,
                         log_url="http://localhost:8080/dags/baocao_intake/runs/x/log")
    assert notify_failure({"ti": ti, "exception": ConnectionError("bucket unreachable")})
    [msg] = smtp_server.messages
    assert msg.rcpt_tos == ["kythuat@example.vn", "trucca@example.vn"]
    body = _body(msg)
    assert "baocao_intake.process_inbox" in msg["Subject"]
    for text in ("process_inbox", "scheduled__2026-06-20", "bucket unreachable",
                 ti.log_url, "thất bại"):
        assert text in body
    # SMTP down: the callback logs and returns False instead of raising
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(free_port()))
    assert notify_failure({"ti": ti, "exception": RuntimeError("x")}) is False
