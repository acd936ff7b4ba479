"""The Party-channel programmes (Hà Tĩnh, Lâm Đồng, Thái Nguyên before and after the merger).

Counts are those encoded from the source documents (docs/domain.md §1, §3): a change to a file that
drops a unit or a task group should fail here and be looked at.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from baocao.programme import load_programme

# code: (units by kind, number of task groups)
EXPECTED = {
    "ha-tinh": ({"department": 11, "organisation": 6, "district": 14, "commune": 69}, 5),
    "lam-dong": ({"department": 8, "organisation": 6, "district": 13, "commune": 124}, 5),
    "thai-nguyen-2023": ({"department": 16, "organisation": 9, "district": 9, "commune": 55}, 4),
    "thai-nguyen": ({"department": 11, "organisation": 8, "commune": 92}, 4),
}
CODES = sorted(EXPECTED)


@pytest.fixture(scope="module", params=CODES)
def prog(request):
    return load_programme(request.param)


def test_loads_with_the_encoded_units_and_task_groups(prog):
    kinds, groups = EXPECTED[prog.code]
    assert dict(Counter(u.kind for u in prog.units)) == kinds
    assert len(prog.units) == sum(kinds.values())
    assert [g.code for g in prog.task_groups] == [str(n) for n in range(1, groups + 1)]
    assert all(g.name for g in prog.task_groups)


def test_party_channel_and_layout(prog):
    assert prog.channel == "party"
    assert prog.issuer.name == f"TỈNH ỦY {prog.province.upper()}"
    assert prog.issuer.symbol == "BC/TU"
    assert prog.issuer.place == prog.province
    assert prog.signatory.authority == "T/M BAN THƯỜNG VỤ"
    assert prog.signatory.position.startswith("PHÓ BÍ THƯ")
    assert prog.signatory.name == ""
    assert prog.recipients[-1].startswith("Lưu")
    numbers = [d.number for d in prog.documents]
    assert "20-CT/TW" in numbers and any(n.endswith(("-KH/TU", "-CTr/TU")) for n in numbers)


def test_no_targets_growth_or_budget(prog):
    assert prog.targets == []
    assert prog.growth is None
    assert prog.budget is None


def test_every_unit_has_tasks_in_declared_groups(prog):
    groups = {g.code for g in prog.task_groups}
    for unit in prog.units:
        tasks = prog.unit_tasks(unit)
        assert tasks, unit.code
        assert all(t.group in groups and t.text.strip() for t in tasks), unit.code
        assert len({t.code for t in tasks}) == len(tasks), unit.code
        assert "tasks" in prog.unit_sheets(unit), unit.code


def test_local_units_use_nso_codes(prog):
    for unit in prog.units:
        if unit.kind == "district":
            assert unit.code[:2] == "H-" and len(unit.code) == 5 and unit.code[2:].isdigit()
            assert unit.valid_to is not None and unit.valid_to <= date(2025, 6, 30)
            assert unit.successors, unit.code
        elif unit.kind == "commune":
            assert unit.code[:2] == "X-" and len(unit.code) == 7 and unit.code[2:].isdigit()
            assert unit.valid_from >= date(2025, 7, 1)


def test_districts_map_onto_communes_after_2025(prog):
    districts = [u for u in prog.units if u.kind == "district"]
    for unit in districts:
        succ = prog.successors_on(unit, date(2025, 8, 1))
        assert succ and all(s.kind == "commune" for s in succ), unit.code


@pytest.mark.parametrize("code", ["ha-tinh", "lam-dong"])
def test_2023_plans_follow_the_2025_reorganisation(code):
    prog = load_programme(code)
    assert prog.lead_unit(date(2024, 12, 21)).code == "BCSD-UBND"
    assert prog.lead_unit(date(2026, 12, 21)).code == "DU-UBND"
    y2024 = {u.code for u in prog.expected_units(prog.period("2024-Y"))}
    y2026 = {u.code for u in prog.expected_units(prog.period("2026-Y"))}
    assert {"BCSD-UBND", "DD-HDND", "SLDTBXH"} <= y2024
    assert not {"BCSD-UBND", "DD-HDND", "SLDTBXH"} & y2026
    assert {"DU-UBND", "DU-CQD", "SNV"} <= y2026
    assert not any(c.startswith("X-") for c in y2024)
    assert not any(c.startswith("H-") for c in y2026)


def test_merged_districts_before_december_2024():
    hatinh = load_programme("ha-tinh")
    loc_ha = hatinh.unit("H-448")
    assert loc_ha.valid_to == date(2024, 11, 30)
    thach_ha = hatinh.unit("H-445", on=date(2025, 3, 1))
    assert hatinh.successors_on(loc_ha, date(2025, 3, 1)) == [thach_ha]
    assert thach_ha.valid_from == date(2024, 12, 1)
    assert hatinh.successors_on(hatinh.unit("H-445", on=date(2024, 6, 1)), date(2025, 3, 1)) \
        == [thach_ha]
    lamdong = load_programme("lam-dong")
    old_da_teh = lamdong.unit("H-682", on=date(2024, 6, 1))
    new_da_huoai = lamdong.unit("H-682", on=date(2025, 3, 1))
    assert old_da_teh.name == "Huyện ủy Đạ Tẻh" and new_da_huoai.name == "Huyện ủy Đạ Huoai"
    for code in ("H-681", "H-683"):
        assert lamdong.successors_on(lamdong.unit(code), date(2025, 3, 1)) == [new_da_huoai]
    assert len(lamdong.expected_units(lamdong.period("2024-Y"))) \
        < len(lamdong.expected_units(lamdong.period("2023-Y")))


def test_thai_nguyen_bodies_before_and_after_the_merger():
    old = load_programme("thai-nguyen-2023")
    new = load_programme("thai-nguyen")
    before = {u.code for u in old.expected_units(old.period("2024-Y"))}
    after = {u.code for u in new.expected_units(new.period("2026-Y"))}

    assert {"BCSD-UBND", "DD-HDND", "DD-MTTQ", "BTG", "BDV", "SLDTBXH", "SNGV"} <= before
    assert sum(c.startswith("H-") for c in before) == 9
    assert not any(c.startswith("X-") for c in before)
    assert old.lead_unit(date(2024, 12, 21)).code == "BCSD-UBND"

    assert {"DU-UBND", "DU-CQD", "DU-HDND", "DU-MTTQ", "BTGDV", "SNV", "VPUB"} <= after
    assert not {"BCSD-UBND", "DD-HDND", "DD-MTTQ", "BTG", "BDV", "SLDTBXH", "SNGV"} & after
    assert sum(c.startswith("X-") for c in after) == 92
    assert not any(c.startswith("H-") for c in after)
    assert new.lead_unit(date(2026, 12, 21)).code == "DU-UBND"

    # The old programme hands over on 31/10/2025: nothing is expected under it for 2025-Y,
    # everything is under 06-CTr/TU; its 2025-H1 still uses the (renamed) provincial bodies.
    assert old.expected_units(old.period("2025-Y")) == []
    assert len(new.expected_units(new.period("2025-Y"))) == len(new.units)
    h1 = {u.code for u in old.expected_units(old.period("2025-H1"))}
    assert {"DU-UBND", "DU-CQD", "BTGDV", "SNV", "VPUB"} <= h1
    assert sum(c.startswith("H-") for c in h1) == 9

    # The old districts' successors are communes of the merged province (same NSO codes).
    new_codes = {u.code for u in new.units}
    for district in (u for u in old.units if u.kind == "district"):
        assert set(district.successors) <= new_codes, district.code
