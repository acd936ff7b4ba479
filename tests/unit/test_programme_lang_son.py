"""The Lạng Sơn programme (109/KH-UBND): units across the 2025 reorganisation, budget, periods."""

from __future__ import annotations

from datetime import date

import pytest

from baocao.programme import load_programme

BEFORE = date(2025, 6, 20)  # deadline of 2025-H1: districts still exist
AFTER = date(2026, 6, 20)  # deadline of 2026-H1: two-level local government


@pytest.fixture(scope="module")
def prog():
    return load_programme("lang-son")


def _active(prog, kind, day):
    return [u for u in prog.units if u.kind == kind and u.active_on(day)]


def test_65_communes_active_in_2026(prog):
    communes = _active(prog, "commune", AFTER)
    assert len(communes) == 65
    assert len({u.code for u in communes}) == 65
    assert all(u.code.startswith("X-") and len(u.code) == 7 for u in communes)


def test_11_districts_until_mid_2025(prog):
    assert len(_active(prog, "district", BEFORE)) == 11
    assert _active(prog, "district", AFTER) == []
    assert _active(prog, "commune", BEFORE) == []


def test_every_district_has_commune_successors(prog):
    districts = [u for u in prog.units if u.kind == "district"]
    assert len(districts) == 11
    covered = set()
    for d in districts:
        assert d.valid_to == date(2025, 6, 30)
        assert d.successors, d.code
        for code in d.successors:
            succ = prog.unit(code, AFTER)
            assert succ.kind == "commune"
            assert succ.valid_from == date(2025, 7, 1)
            covered.add(code)
    # every commune/ward took over territory of at least one district
    assert covered == {u.code for u in _active(prog, "commune", AFTER)}


def test_dolisa_chain_leads_to_home_affairs(prog):
    dolisa = prog.unit("SLDTBXH")
    assert dolisa.valid_to == date(2025, 2, 28)
    assert [u.code for u in prog.successors_on(dolisa, AFTER)] == ["SNV"]
    assert prog.lead_unit(BEFORE).code == "SNV"
    assert prog.lead_unit(date(2024, 6, 20)).code == "SLDTBXH"


def test_merged_departments(prog):
    old_finance = min(prog.units_by_code("STC"), key=lambda u: u.valid_from)
    new_finance = prog.unit("STC", AFTER)
    assert old_finance.valid_to == date(2025, 2, 28)
    assert new_finance.valid_from == date(2025, 3, 1)
    assert prog.successors_on(old_finance, AFTER) == [new_finance]
    assert prog.successors_on(prog.unit("SKHDT"), AFTER) == [new_finance]
    # the successor carries the tasks of both predecessors
    texts = {t.text for t in prog.unit_tasks(new_finance)}
    assert {t.text for t in prog.unit_tasks(old_finance)} <= texts
    assert {t.text for t in prog.unit_tasks(prog.unit("SKHDT"))} <= texts
    assert "SKHCN" in [u.code for u in prog.successors_on(prog.unit("STTTT"), AFTER)]


def test_budget_parts_sum(prog):
    assert prog.budget is not None
    assert sum(p.amount for p in prog.budget.parts) == 153459
    assert prog.budget.total == 153459


def test_expected_units_by_era(prog):
    central = {"department", "organisation"}
    h1_2025 = prog.expected_units(prog.period("2025-H1"))
    h1_2026 = prog.expected_units(prog.period("2026-H1"))
    assert {u.kind for u in h1_2025} == central | {"district"}
    assert {u.kind for u in h1_2026} == central | {"commune"}
    assert sum(u.kind == "district" for u in h1_2025) == 11
    assert sum(u.kind == "commune" for u in h1_2026) == 65
    assert "SLDTBXH" not in {u.code for u in h1_2025}
    assert "SNV" in {u.code for u in h1_2026}


def test_tasks_and_groups(prog):
    groups = {g.code for g in prog.task_groups}
    assert groups == {"1", "2", "3", "4", "5", "6"}
    for u in prog.units:
        tasks = prog.unit_tasks(u)
        assert tasks, u.code
        assert all(t.group in groups for t in tasks), u.code
        assert "tasks" in prog.unit_sheets(u)
