"""Receipts a commune clerk can act on, the receipt mail, and ``baocao check``.

Each error names its sheet, cell and row; the example fits the row; an error on a cell the
form computes says which inputs to fix; a line says by when to resend and whom to call
(empty contact fields left out); the technical details come last; an accepted receipt reads
back the unit's main figures with their units and no zeros.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from baocao.demo import fill_form
from baocao.forms import sheet_layout
from baocao.parsing import parse_submission, period_timing_problems
from baocao.programme import Contact
from baocao.receipts import ReceiptData, recorded_totals, render_receipt
from baocao.validation import Validator

PERIOD = "2026-H1"
BEFORE = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)  # 10:00 on 15/6/2026 in Vietnam
AFTER = datetime(2026, 6, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator(programme):
    return Validator(programme)


def _commune(prog):
    return next(u for u in prog.expected_units(prog.period(PERIOD)) if u.kind == "commune")


def _cell(prog, indicator, row="", col=""):
    ind = prog.indicator(indicator)
    return next(c.address for c in sheet_layout(prog, ind.sheet).cells
                if (c.indicator, c.row, c.col) == (indicator, row, col))


def _receipt(prog, validator, data, when=BEFORE, status=None, unit=None) -> str:
    unit = unit or _commune(prog)
    period = prog.period(PERIOD)
    parsed = parse_submission(data, prog, unit.code)
    parsed.problems += period_timing_problems(prog, parsed, when)
    validator.validate(parsed, prog.unit_sheets(unit))
    status = status or ("accepted" if not parsed.errors else "rejected")
    page = render_receipt(prog, ReceiptData(
        status=status, unit_code=unit.code, unit_name=unit.name, file_name="Báo cáo.xlsx",
        checksum="4ad6c64e" * 8, received_at=when, processed_at=when + timedelta(minutes=5),
        period_title=period.title, deadline=f"{period.deadline:%d/%m/%Y}",
        late=when.date() > period.deadline, version=1 if status == "accepted" else None,
        problems=parsed.problems,
        totals=recorded_totals(prog, parsed) if status == "accepted" else []))
    return html.unescape(page)


def _rows(page: str, heading: str) -> list[list[str]]:
    """The body rows of the table under the heading starting with ``heading``, as texts."""
    from lxml import html as lxml_html

    doc = lxml_html.fromstring(page)
    h2 = next(h for h in doc.iter("h2") if h.text_content().startswith(heading))
    table = next(h2.itersiblings("table"))
    return [[" ".join(" ".join(td.itertext()).split()) for td in tr.findall("td")]
            for tr in table.findall("tr")[1:]]


def test_errors_name_their_row_with_a_fitting_example(programme, validator):
    p = programme
    period = p.period(PERIOD)
    data = fill_form(p, _commune(p), period, overrides={
        ("workers", _cell(p, "W_COUNSELLED")): "khoảng 50",
        ("funds", _cell(p, "F_FUNDS", "NEF", "disbursed")): "nhiều",
        ("workers", _cell(p, "W_DEP", "JP", "women")): 999999})
    page = _receipt(p, validator, data)
    errors = {r[1]: r for r in _rows(page, "Lỗi cần sửa")}
    c27 = errors[f"Biểu 1 - Lao động ô {_cell(p, 'W_COUNSELLED')}"]
    assert c27[2:] == ["Số người được tư vấn", "khoảng 50",
                       "Không phải là số. Nhập số người, ví dụ 12"]
    money = errors[f"Biểu 2 - Nguồn vốn ô {_cell(p, 'F_FUNDS', 'NEF', 'disbursed')}"]
    assert money[4] == "Không phải là số. Nhập số tiền (triệu đồng), ví dụ 1.234,5"
    assert money[2] == "Nguồn vốn hỗ trợ, cho vay: Quỹ quốc gia về việc làm, Giải ngân trong " \
        "kỳ (triệu đồng)"
    # the total row's women exceed its total: the cell is computed, the inputs are to fix
    total = _cell(p, "W_DEP", "TOTAL", "women")
    first, last = _cell(p, "W_DEP", "JP", "women"), _cell(p, "W_DEP", "OTHER", "women")
    computed = errors[f"Biểu 1 - Lao động ô {total}"]
    assert computed[2].endswith("Tổng cộng, Lao động nữ")
    assert computed[4].endswith(f"Ô {total} là ô tự tính (tổng các ô {first}–{last}), không "
                                f"nhập trực tiếp: lỗi này sẽ tự hết khi sửa số liệu nhập ở "
                                f"các ô {first}–{last}")
    assert errors[f"Biểu 1 - Lao động ô {first}"][4].startswith("Nhật Bản: Số lao động nữ")
    assert "Đề nghị sửa các lỗi trên và gửi lại chậm nhất ngày 20/6/2026 (hạn gửi báo cáo " \
        "6 tháng đầu năm 2026)." in page


def test_deadline_passed_and_contact_lines(programme, validator):
    p = programme
    lead = p.find_lead(BEFORE.date())
    bad = fill_form(p, _commune(p), p.period(PERIOD), overrides={
        ("workers", _cell(p, "W_COUNSELLED")): "x"})
    page = _receipt(p, validator, bad, when=AFTER)
    assert ("Hạn gửi báo cáo 6 tháng đầu năm 2026 (ngày 20/6/2026) đã qua: đề nghị sửa các lỗi "
            "trên và gửi lại ngay; báo cáo gửi lại vẫn được tiếp nhận nhưng bị ghi là gửi "
            "muộn.") in page
    assert f"Liên hệ khi cần hỗ trợ: {lead.name}." in page  # no contact given: name only

    def with_contact(**fields):
        units = [u.model_copy(update={"contact": Contact(**fields)}) if u.code == lead.code
                 else u for u in p.units]
        return p.model_copy(update={"units": units})

    full = _receipt(with_contact(office="Phòng Lao động - Việc làm", phone="0205 3812 345",
                                 email="tonghop@snv.example.vn"), validator, bad)
    assert (f"Liên hệ khi cần hỗ trợ: {lead.name} (Phòng Lao động - Việc làm), điện thoại "
            "0205 3812 345, thư điện tử tonghop@snv.example.vn.") in full
    phone_only = _receipt(with_contact(phone="0205 3812 345"), validator, bad)
    assert f"Liên hệ khi cần hỗ trợ: {lead.name}, điện thoại 0205 3812 345." in phone_only
    assert "thư điện tử" not in phone_only.split("Liên hệ", 1)[1].split("</p>", 1)[0]


def test_technical_details_last_and_nowhere_else(programme, validator):
    p = programme
    unit = _commune(p)
    bad = fill_form(p, unit, p.period(PERIOD), overrides={
        ("workers", _cell(p, "W_COUNSELLED")): "x"})
    page = _receipt(p, validator, bad)
    body, technical = page.split("Thông tin kỹ thuật", 1)
    assert "4ad6c64e" not in body and f"inbox/{unit.code}" not in body
    assert "4ad6c64e" * 8 in technical and f"inbox/{unit.code}/" in technical
    assert f"receipts/{unit.code}/" in technical
    assert body.index("Lỗi cần sửa") < body.index("Đề nghị sửa") < body.index("Liên hệ")
    assert not re.search(r"<(table|h2|p)\b", technical.split("</dl>", 1)[1])  # nothing after


def test_accepted_receipt_reads_back_main_figures_without_noise(programme, validator):
    p = programme
    unit = _commune(p)
    page = _receipt(p, validator, fill_form(p, unit, p.period(PERIOD)))
    assert "ĐÃ TIẾP NHẬN" in page and "Lỗi cần sửa" not in page
    rows = _rows(page, "Số liệu chính đã ghi nhận")
    values = [r[1] for r in rows if len(r) == 2]
    assert values and not any(re.fullmatch(r"0(,0+)?( .*)?", v) for v in values)  # no zeros
    money = [v for v in values if v.endswith("triệu đồng")]
    assert money and all(re.fullmatch(r"[\d.]+(,\d{1,3})? triệu đồng", v) for v in money)
    assert any(v.endswith(" hội nghị") for v in values)
    assert all(re.fullmatch(r"[\d.]+(,\d{1,3})? [^\d]+", v) for v in values)  # each has a unit
    labels = [r[0] for r in rows]
    assert "Số lao động đi làm việc ở nước ngoài theo thị trường (tổng cộng)" in labels
    assert "– Tổng số" in labels and "Số người được tư vấn" in labels
    assert "Nếu cần điều chỉnh số liệu, gửi lại biểu mẫu đã sửa chậm nhất ngày 20/6/2026" in page


def test_duplicate_receipt_says_nothing_to_do(programme, validator):
    p = programme
    page = _receipt(p, validator, fill_form(p, _commune(p), p.period(PERIOD)),
                    status="duplicate")
    assert "ĐÃ NHẬN TRƯỚC ĐÓ" in page and "Không cần gửi lại tệp này." in page


# ----- the receipt by e-mail --------------------------------------------------------------
def test_receipts_are_mailed_once_to_units_with_an_address(programme, tmp_path, smtp_server):
    from airflow.sdk import ObjectStoragePath

    from baocao.intake import run_intake
    from baocao.receipts import mail_receipts
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    period = programme.period(PERIOD)
    communes = [u for u in programme.expected_units(period) if u.kind == "commune"][:2]
    with_mail, without = communes
    prog = programme.model_copy(update={"units": [
        u.model_copy(update={"emails": ["vanthu@xa.example.vn"]}) if u.code == with_mail.code
        else u for u in programme.units]})
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, prog)
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    for unit in communes:
        path = root / "inbox" / unit.code / "Báo cáo.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fill_form(prog, unit, period))
    outcomes = run_intake(prog, engine, root, "run-1")
    assert mail_receipts(engine, prog, root, outcomes) == 1
    [msg] = smtp_server.messages
    assert msg.rcpt_tos == ["vanthu@xa.example.vn"]
    assert msg["Subject"] == "Phiếu tiếp nhận báo cáo: đã tiếp nhận — Báo cáo.xlsx"
    sent = next(o for o in outcomes if o.unit_code == with_mail.code)
    assert msg.get_body(("html",)).get_content() == \
        (root / sent.receipt).read_text(encoding="utf-8")
    assert mail_receipts(engine, prog, root, outcomes) == 0  # once per receipt
    assert len(smtp_server.messages) == 1
    engine.dispose()


# ----- baocao check --------------------------------------------------------------------------
def test_check_needs_no_unit_and_prints_only_its_answer(programme, tmp_path, capsys):
    from baocao.cli import main

    unit = _commune(programme)
    good = tmp_path / "tốt.xlsx"
    good.write_bytes(fill_form(programme, unit, programme.period(PERIOD)))
    assert main(["check", "--programme", "lang-son", str(good)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no Great Expectations or other library log lines
    lines = out.splitlines()
    assert lines[0] == (f"Tệp: tốt.xlsx — {unit.name} (mã {unit.code}); biểu mẫu kỳ 6 tháng "
                        "đầu năm 2026.")
    assert lines[1].startswith("Hôm nay (") and "đang nhận báo cáo kỳ" in lines[1]
    assert lines[-1] == "Hợp lệ: tệp sẽ được tiếp nhận."
    # --unit still overrides: a form of another unit is an error
    assert main(["check", "--programme", "lang-son", "--unit", "SNV", str(good)]) == 1
    out = capsys.readouterr().out
    assert f"Biểu mẫu là của đơn vị {unit.code}, không phải của đơn vị SNV" in out
    assert main(["check", "--programme", "lang-son", "--unit", unit.code, str(good)]) == 0
    capsys.readouterr()
    bad = tmp_path / "không phải biểu mẫu.xlsx"
    bad.write_bytes(b"%PDF-1.4")
    assert main(["check", "--programme", "lang-son", "--json", str(bad)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [p["message"].split(",")[0] for p in result["problems"]] == ["Tệp là tài liệu PDF"]


def test_check_knows_the_period_being_collected_today(programme, tmp_path):
    from baocao.selfcheck import check_file

    unit = _commune(programme)
    data = fill_form(programme, unit, programme.period(PERIOD))
    on_4_12 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    result, _ = check_file(programme, data, now=on_4_12)
    assert result["unit"] == unit.code and result["status"] == "accepted"
    assert result["collecting"] == {"period": "2026-Y", "title": "năm 2026",
                                    "deadline": "2026-12-21"}
    late = [p for p in result["problems"] if p["rule"] == "PERIOD"]
    assert late and "không phải kỳ đang báo cáo (năm 2026)" in late[0]["message"]
    result, _ = check_file(programme, data, now=datetime(2026, 6, 10, 3, tzinfo=UTC))
    assert result["collecting"]["period"] == "2026-H1" and result["problems"] == []
