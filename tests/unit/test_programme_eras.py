"""Report-related programme settings: effective-dated recipients and member names, official
sources, the year rule for 2025; broken settings are refused with the file named."""

from __future__ import annotations

from datetime import date

import pytest
from support import PROGRAMMES

from baocao.programme import ProgrammeError, load_programme, load_programme_file


def test_recipients_and_names_follow_the_date():
    prog = load_programme("lang-son")
    before, after = prog.recipients_on(date(2024, 12, 21)), prog.recipients_on(date(2026, 6, 20))
    assert "Bộ Lao động - Thương binh và Xã hội (b/c)" in before
    assert "UBND các huyện, thành phố" in before and "UBND các xã, phường" not in before
    assert "Bộ Nội vụ (b/c)" in after and "UBND các huyện, thành phố" not in after
    assert after[-1].startswith("Lưu")
    budget = prog.dimension("source").member("LOCAL_BUDGET")
    assert "huyện" in budget.name_on(date(2025, 6, 20))
    assert "huyện" not in budget.name_on(date(2025, 12, 21))
    assert prog.dimension("market").member("CN").name == "Trung Quốc (Sùng Tả, Quảng Tây)"
    assert load_programme("ha-tinh").dimension("market").member("CN").name == "Trung Quốc"


def test_official_sources_and_year_rules():
    for code in ("lang-son", "ha-tinh", "lam-dong", "thai-nguyen"):
        prog = load_programme(code)
        assert prog.indicator("W_DEP").primary == "local"
        assert prog.indicator("F_FUNDS").primary == "units"
    assert load_programme("lang-son").transition(2025).rule == "add_first_half"
    assert load_programme("lam-dong").transition(2025).rule == "whole_year"
    assert load_programme("lang-son").transition(2026) is None


@pytest.mark.parametrize(("extra", "message"), [
    ("member_names:\n  market: {XX: Nơi khác}\n", "member_names.market: unknown member 'XX'"),
    ("member_names:\n  nowhere: {CN: Trung Quốc}\n", "unknown dimension 'nowhere'"),
    ("official_sources: {W_NOPE: lead}\n", "official_sources: unknown indicator 'W_NOPE'"),
])
def test_broken_settings_are_refused_with_the_file_named(tmp_path, extra, message):
    folder = tmp_path / "programmes"
    folder.mkdir()
    (folder / "common.yaml").write_text((PROGRAMMES / "common.yaml").read_text("utf-8"),
                                        "utf-8")
    text = (PROGRAMMES / "ha-tinh.yaml").read_text("utf-8")
    (folder / "ha-tinh.yaml").write_text(text + "\n" + extra, "utf-8")
    with pytest.raises(ProgrammeError) as err:
        load_programme_file(folder / "ha-tinh.yaml")
    assert str(folder / "ha-tinh.yaml") in str(err.value) and message in str(err.value)


def test_blank_forms_use_the_wording_of_their_period():
    """A fund source renamed when the districts ended reads as its period says."""
    from io import BytesIO

    from openpyxl import load_workbook

    from baocao.forms import build_form

    prog = load_programme("lang-son")
    for period, wanted, gone in (("2026-H1", "Ngân sách địa phương ủy thác qua NHCSXH",
                                  "Ngân sách tỉnh, huyện ủy thác qua NHCSXH"),
                                 ("2025-H1", "Ngân sách tỉnh, huyện ủy thác qua NHCSXH",
                                  "Ngân sách địa phương ủy thác qua NHCSXH")):
        per = prog.period(period)
        unit = next(u for u in prog.expected_units(per) if prog.is_local(u))
        ws = load_workbook(BytesIO(build_form(prog, unit, per)))["Biểu 2 - Nguồn vốn"]
        texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
        assert wanted in texts and gone not in texts
