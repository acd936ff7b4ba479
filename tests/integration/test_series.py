"""The series across the 2025 reorganisation (baocao.series) on SQLite and PostgreSQL.

Figures are seeded straight into the warehouse (one current accepted submission per unit and
period) so every expected number below is computed by hand from the seeds.
"""

from __future__ import annotations

import pytest
from support import seed_submission as seed

from baocao.programme import load_programme
from baocao.series import build_series, group_units, notes
from baocao.warehouse.db import get_engine
from baocao.warehouse.merge import sync_programme
from baocao.warehouse.readmodels import provincial_totals

TOTAL = ("W_DEP.TOTAL.total",)
# Former districts (until 30/6/2025) and communes that succeeded them (from 1/7/2025):
# H-180 Tràng Định -> X-06040 Thất Khê, X-06001 Đoàn Kết (and 5 more);
# H-178 TP Lạng Sơn, H-183 Cao Lộc, H-184 Văn Quan share successors (X-06316 Tân Đoàn
# succeeded both Văn Quan and Cao Lộc; X-06187, X-05977 both TP Lạng Sơn and Cao Lộc);
# H-189 Đình Lập -> X-06613.
WORKERS = {
    "2025-H1": {"H-180": 100, "H-178": 50, "H-183": 70, "H-184": 30, "H-189": 20,
                "SNV": 999},  # the lead's own provincial figure is not a primary source
    "2026-H1": {"X-06040": 60, "X-06001": 55, "X-06316": 40, "X-05986": 25, "X-06613": 12,
                "SNV": 888},
}
CHINA = {"2025-H1": {"H-180": 80}, "2026-H1": {"X-06040": 50, "X-06001": 40}}
NEWS = {  # C_NEWS counts from every unit (primary: all)
    "2024-H1": {"SLDTBXH": 5, "STTTT": 7, "DPTTH": 11, "H-180": 2},
    "2025-H1": {"SNV": 6, "SKHCN": 3, "SVHTTDL": 4, "DPTTH": 9, "BAOLS": 8, "H-180": 1},
    "2026-H1": {"SNV": 10, "SKHCN": 2, "SVHTTDL": 1, "BPTTH": 20, "X-06040": 3},
}


@pytest.fixture
def wh(warehouse_url):
    prog = load_programme("lang-son")
    engine = get_engine(warehouse_url)
    sync_programme(engine, prog)
    per_unit: dict[tuple[str, str], dict[tuple[str, str, str], float]] = {}
    for period, units in WORKERS.items():
        for unit, v in units.items():
            per_unit.setdefault((period, unit), {})[("W_DEP", "TOTAL", "total")] = v
    for period, units in CHINA.items():
        for unit, v in units.items():
            per_unit.setdefault((period, unit), {})[("W_DEP", "CN", "total")] = v
    for period, units in NEWS.items():
        for unit, v in units.items():
            per_unit.setdefault((period, unit), {})[("C_NEWS", "", "")] = v
    for (period, unit), values in per_unit.items():
        seed(engine, prog, period, unit, values)
    return engine, prog


def _by_label(series, period: str) -> dict[str, float]:
    return {r["label"]: r[period] for r in series.rows()}


def test_districts_roll_onto_groups_of_successor_communes(wh):
    engine, prog = wh
    now = prog.period("2026-H1")
    s = build_series(engine, prog, TOTAL, ["2025-H1", "2026-H1"], now.deadline,
                     prog.expected_units(now))
    tdinh = "Các xã, phường trên địa bàn huyện Tràng Định (cũ)"
    city = ("Các xã, phường trên địa bàn thành phố Lạng Sơn, huyện Cao Lộc, huyện Văn Quan "
            "(cũ)")
    dlap = "Các xã, phường trên địa bàn huyện Đình Lập (cũ)"
    assert _by_label(s, "2025-H1") == {tdinh: 100, city: 150, dlap: 20}
    assert _by_label(s, "2026-H1") == {tdinh: 115, city: 65, dlap: 12}
    # never double counted: each period's rows add up to the provincial total
    for code, expected in (("2025-H1", 270), ("2026-H1", 192)):
        assert s.total(code) == expected
        assert provincial_totals(engine, prog, prog.period(code))[
            ("W_DEP", "TOTAL", "total")] == expected
    # the straddling communes joined three former districts into one group of 14 units
    city_group = next(r["group"] for r in s.rows() if r["label"] == city)
    assert len(city_group.members) == 14
    assert {u.code for u in city_group.former} == {"H-178", "H-183", "H-184"}


def test_refs_select_cells(wh):
    engine, prog = wh
    now = prog.period("2026-H1")
    s = build_series(engine, prog, ["W_DEP.CN.total"], ["2025-H1", "2026-H1"], now.deadline)
    assert (s.total("2025-H1"), s.total("2026-H1")) == (80, 90)
    assert s.reported == {"2025-H1", "2026-H1"}


def test_department_mergers_map_onto_the_successor(wh):
    engine, prog = wh
    now = prog.period("2026-H1")
    periods = ["2024-H1", "2025-H1", "2026-H1"]
    s = build_series(engine, prog, ["C_NEWS"], periods, now.deadline,
                     prog.expected_units(now))
    press = "Báo và Phát thanh, Truyền hình Lạng Sơn"
    ict = "Sở Khoa học và Công nghệ; Sở Văn hóa, Thể thao và Du lịch"
    tdinh = "Các xã, phường trên địa bàn huyện Tràng Định (cũ)"
    assert _by_label(s, "2024-H1") == {"Sở Nội vụ": 5, ict: 7, press: 11, tdinh: 2}
    assert _by_label(s, "2025-H1") == {"Sở Nội vụ": 6, ict: 7, press: 17, tdinh: 1}
    assert _by_label(s, "2026-H1") == {"Sở Nội vụ": 10, ict: 3, press: 20, tdinh: 3}
    for code, expected in zip(periods, (25, 31, 36), strict=True):
        assert s.total(code) == expected == provincial_totals(
            engine, prog, prog.period(code))[("C_NEWS", "", "")]
    used = {(k[0].split("@")[0], sorted(p)[0]) for k, p in s.attributions.items()}
    assert used == {("SLDTBXH", "2024-H1"), ("STTTT", "2024-H1"), ("DPTTH", "2024-H1"),
                    ("BAOLS", "2025-H1"), ("H-180", "2024-H1")}


def test_notes_state_every_mapping_used(wh):
    engine, prog = wh
    now = prog.period("2026-H1")
    s = build_series(engine, prog, ["C_NEWS"], ["2024-H1", "2025-H1", "2026-H1"],
                     now.deadline, prog.expected_units(now))
    text = notes(prog, [s])
    assert ("Số liệu các kỳ trước ngày 01/3/2025 của Sở Lao động - Thương binh và Xã hội "
            "được cộng dồn vào Sở Nội vụ.") in text
    assert ("Số liệu các kỳ trước ngày 01/7/2025 của Đài Phát thanh và Truyền hình tỉnh, "
            "Báo Lạng Sơn được cộng dồn vào Báo và Phát thanh, Truyền hình Lạng Sơn.") in text
    tdinh = next(n for n in text if "UBND huyện Tràng Định" in n)
    assert tdinh.startswith("Số liệu các kỳ trước ngày 01/7/2025 của UBND huyện Tràng Định "
                            "được cộng dồn vào nhóm 7 đơn vị kế thừa (xã Thất Khê, xã Đoàn Kết")
    assert any("so sánh theo cả nhóm" in n for n in text)
    # no figures of a former unit in the period: nothing to state
    only_now = build_series(engine, prog, ["C_NEWS"], ["2026-H1"], now.deadline)
    assert notes(prog, [only_now]) == []


def test_units_outside_the_chosen_set_keep_their_own_rows(wh):
    engine, prog = wh
    now = prog.period("2026-H1")
    tdinh = [u for u in prog.expected_units(now) if "H-180" in
             [f.code for f in prog.units if u.code in f.successors]]
    assert len(tdinh) == 7
    s = build_series(engine, prog, TOTAL, ["2025-H1", "2026-H1"], now.deadline, tdinh)
    before = _by_label(s, "2025-H1")
    assert before["Các xã, phường trên địa bàn huyện Tràng Định (cũ)"] == 100
    assert before["UBND huyện Đình Lập (không có đơn vị kế thừa)"] == 20
    assert s.total("2025-H1") == 270 and s.total("2026-H1") == 192
    assert any("không có đơn vị kế thừa" in n for n in notes(prog, [s]))


def test_grouping_follows_chains_and_same_code_successors():
    prog = load_programme("lang-son")
    day = prog.period("2026-H1").deadline
    groups, group_of = group_units(prog, prog.expected_units(prog.period("2026-H1")), day,
                                   {"funds"})
    # the old Sở Tài chính (same code, earlier validity) maps onto the merged one
    assert group_of["STC@2023-01-01"] == "STC@2025-03-01"
    # Sở Kế hoạch và Đầu tư reports no funds sheet: it takes no part in a funds series
    assert "SKHDT@2023-01-01" not in group_of
    assert all(len(g.members) == 1 for g in groups
               if g.members and g.members[0].kind != "commune")
    ha_tinh = load_programme("ha-tinh")
    day = ha_tinh.period("2026-H1").deadline
    _, group_of = group_units(ha_tinh, ha_tinh.expected_units(ha_tinh.period("2026-H1")), day)
    old = [u for u in ha_tinh.units if u.code in ("H-448", "H-445")]
    assert len(old) == 3  # H-448 and H-445 merged into a new H-445 on 1/12/2024
    assert len({group_of[u.key] for u in old}) == 1
