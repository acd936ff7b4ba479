"""Checks against the warehouse's history (docs/domain.md §5, warnings), on SQLite and
PostgreSQL: year-on-year jumps of a unit's values and the lead department's total against
the sum of the local units."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime

import pytest

from baocao.demo import fill_form
from baocao.forms import SHEET_TITLES, sheet_layout
from baocao.history import lead_local_gap, year_on_year_warnings
from baocao.parsing import Problem, parse_submission
from baocao.programme import TOTAL
from baocao.warehouse.merge import FileInfo, record_submission


def parsed_with(prog, unit_code: str, period_code: str, values: dict):
    """A unit's form for a period holding exactly ``values`` (blank cells read as 0)."""
    period = prog.period(period_code)
    unit = prog.unit(unit_code, period.deadline)
    data = fill_form(prog, unit, period, values=values)
    parsed = parse_submission(data, prog, unit_code)
    assert parsed.readable and not parsed.errors, parsed.errors
    return data, parsed


def record(engine, prog, unit_code: str, period_code: str, values: dict, name: str = "bc"):
    data, parsed = parsed_with(prog, unit_code, period_code, values)
    period = prog.period(period_code)
    when = datetime(period.deadline.year, period.deadline.month, 10, 3, tzinfo=UTC)
    info = FileInfo(f"{name}.xlsx", f"inbox/{unit_code}/{name}.xlsx",
                    hashlib.sha256(data).hexdigest(), len(data), when)
    return record_submission(engine, prog, parsed, info, accepted=True, late=False,
                             validation={})


def enforcement(**values: float) -> dict:
    return {(f"E_{k.upper()}", "", ""): v for k, v in values.items()}


def cell(prog, unit_code: str, period_code: str, indicator: str, row="", col="") -> str:
    unit = prog.unit(unit_code, prog.period(period_code).deadline)
    ind = prog.indicator(indicator)
    return next(s.address for s in sheet_layout(prog, ind.sheet, unit).cells
                if (s.indicator, s.row, s.col) == (indicator, row, col))


# (previous year, this year, warned?) per enforcement indicator of the police (CAT)
YOY_CASES = {
    "inspections": (10, 31, True),          # above 3x
    "enterprises": (10, 30, False),         # exactly 3x
    "records": (12, 37, True),              # 3x is 36
    "violations": (100, 9, False),          # this year below 10
    "criminal_cases": (9, 100, False),      # a year earlier below 10
    "criminal_persons": (30, 10, False),    # exactly 1/3
    "border_crossings": (31, 10, True),     # below 1/3 (10,33)
    "protection": (10, 10, False),
    "passports": (0, 50, False),
    "fines": (10.1, 30.3, False),           # exactly 3x in money (float trap)
    "health_checks": (20, 20, False),
    "unfit": (2, 2, False),
}


def test_year_on_year_boundaries(wh, programme):
    record(wh, programme, "CAT", "2025-H1", enforcement(**{k: a for k, (a, _b, _w)
                                                          in YOY_CASES.items()}))
    _, now = parsed_with(programme, "CAT", "2026-H1",
                         enforcement(**{k: b for k, (_a, b, _w) in YOY_CASES.items()}))
    warnings = year_on_year_warnings(wh, programme, now)
    got = {w.cell: w for w in warnings}
    expected = {cell(programme, "CAT", "2026-H1", f"E_{k.upper()}"): (a, b)
                for k, (a, b, warned) in YOY_CASES.items() if warned}
    assert set(got) == set(expected)
    assert len(warnings) == len(expected)
    for address, (before, after) in expected.items():
        w = got[address]
        assert (w.rule, w.severity) == ("H-YEAR-ON-YEAR", "warning")
        assert w.sheet == SHEET_TITLES["enforcement"][0]
        assert w.value == str(after)
        assert w.message == (f"Số liệu thay đổi bất thường so với cùng kỳ năm trước "
                             f"({before} → {after}); đề nghị kiểm tra lại")
        assert unicodedata.is_normalized("NFC", w.message)


def test_year_on_year_money_is_shown_the_vietnamese_way(wh, programme):
    record(wh, programme, "CAT", "2025-H1", enforcement(violations=3, fines=1234.5))
    _, now = parsed_with(programme, "CAT", "2026-H1", enforcement(violations=3, fines=12.25))
    [w] = year_on_year_warnings(wh, programme, now)
    assert w.cell == cell(programme, "CAT", "2026-H1", "E_FINES")
    assert w.value == "12,25"
    assert "(1.234,5 → 12,25)" in w.message


def test_year_on_year_uses_the_current_version_same_kind_of_period(wh, programme):
    record(wh, programme, "CAT", "2025-H1", enforcement(inspections=10), "v1")
    record(wh, programme, "CAT", "2025-H1", enforcement(inspections=20), "v2")  # replaces v1
    record(wh, programme, "CAT", "2024-Y", enforcement(inspections=1000))
    _, now = parsed_with(programme, "CAT", "2026-H1", enforcement(inspections=35))
    assert year_on_year_warnings(wh, programme, now) == []  # 35 <= 3 x 20
    _, now = parsed_with(programme, "CAT", "2026-H1", enforcement(inspections=61))
    assert [w.value for w in year_on_year_warnings(wh, programme, now)] == ["61"]
    # an annual report is compared with the previous annual one, never a half-year
    _, annual = parsed_with(programme, "CAT", "2026-Y", enforcement(inspections=500))
    assert year_on_year_warnings(wh, programme, annual) == []
    record(wh, programme, "CAT", "2025-Y", enforcement(inspections=100))
    assert [w.value for w in year_on_year_warnings(wh, programme, annual)] == ["500"]


def test_year_on_year_never_compares_a_different_unit_with_the_same_code(wh, programme):
    # STC before the 1/3/2025 merger and the merged STC share a code but are two units
    old, new = sorted(programme.units_by_code("STC"), key=lambda u: u.valid_from)
    assert old.valid_to and new.valid_from > old.valid_to
    key = ("F_FUNDS", "NEF", "plan")
    record(wh, programme, "STC", "2024-H1", {key: 100})
    _, merged = parsed_with(programme, "STC", "2025-H1", {key: 1000})
    assert merged.unit_valid_from == new.valid_from
    assert year_on_year_warnings(wh, programme, merged) == []
    record(wh, programme, "STC", "2025-H1", {key: 1000})
    _, later = parsed_with(programme, "STC", "2026-H1", {key: 4000})
    # the typed cell and the form's total row (computed) both jumped
    assert {w.cell for w in year_on_year_warnings(wh, programme, later)} == {
        cell(programme, "STC", "2026-H1", *key),
        cell(programme, "STC", "2026-H1", "F_FUNDS", TOTAL, "plan")}


def test_year_on_year_skips_rejected_files_and_the_first_year(wh, programme):
    record(wh, programme, "CAT", "2025-H1", enforcement(inspections=10))
    _, now = parsed_with(programme, "CAT", "2026-H1", enforcement(inspections=100))
    assert len(year_on_year_warnings(wh, programme, now)) == 1
    now.problems.append(Problem("Không phải là số"))
    assert year_on_year_warnings(wh, programme, now) == []  # rejected anyway
    _, first = parsed_with(programme, "CAT", f"{programme.first_year}-H1",
                           enforcement(inspections=100))
    assert year_on_year_warnings(wh, programme, first) == []


# ----- the lead department against the local units -----------------------------------

PERIOD = "2026-H1"


def workers(total: int) -> dict:
    """A workers sheet whose grand total is ``total`` (all to Sùng Tả, by enterprises)."""
    return {("W_DEP", "CN", "total"): total, ("W_CHANNEL", "enterprise", ""): total}


@pytest.fixture
def locals_(programme):
    return [u.code for u in programme.expected_units(programme.period(PERIOD))
            if u.kind == "commune"][:2]


@pytest.mark.parametrize("lead_total, warned, shown", [
    (110, False, ""),        # exactly 10% above the communes' 100
    (90, False, ""),         # exactly 10% below
    (111, True, "11,0%"),
    (89, True, "11,0%"),
    (100, False, ""),
])
def test_lead_local_gap_boundaries(wh, programme, locals_, lead_total, warned, shown):
    period = programme.period(PERIOD)
    lead = programme.lead_unit(period.deadline).code
    record(wh, programme, locals_[0], PERIOD, workers(60))
    record(wh, programme, locals_[1], PERIOD, workers(40))
    record(wh, programme, lead, PERIOD, workers(lead_total))
    gap = lead_local_gap(wh, programme, period)
    if not warned:
        assert gap is None
        return
    assert gap == {
        "unit_code": lead, "rule": "H-LEAD-VS-LOCAL",
        "sheet": SHEET_TITLES["workers"][0],
        "cell": cell(programme, lead, PERIOD, "W_DEP", TOTAL, "total"),
        "value": str(lead_total),
        "message": f"Tổng số lao động đi làm việc ở nước ngoài của cơ quan thường trực "
                   f"({lead_total}) chênh lệch {shown} so với tổng của 2 địa phương (100)"}


def test_lead_local_gap_needs_both_sources_and_uses_current_versions(wh, programme, locals_):
    period = programme.period(PERIOD)
    lead = programme.lead_unit(period.deadline).code
    assert lead_local_gap(wh, programme, period) is None
    record(wh, programme, lead, PERIOD, workers(5000), "v1")
    assert lead_local_gap(wh, programme, period) is None  # no local unit yet
    record(wh, programme, locals_[0], PERIOD, workers(1000))
    assert lead_local_gap(wh, programme, period)["value"] == "5.000"
    record(wh, programme, lead, PERIOD, workers(1050), "v2")  # the lead corrects its figure
    assert lead_local_gap(wh, programme, period) is None
    assert lead_local_gap(wh, programme, programme.period("2025-H1")) is None
