"""Grouping the units' texts: near-duplicates merged, own names neutral, each unit once."""

from __future__ import annotations

from baocao.reports.synthesis import clauses, group_texts, stated


def test_near_duplicates_are_one_idea_with_every_unit_that_raised_it():
    items = [
        ("UBND xã Thái Bình", "Nguồn lao động có nhu cầu ở xã Thái Bình còn hạn chế; chi phí "
                              "ban đầu cao so với thu nhập của người dân.", True),
        ("UBND xã Đình Lập", "- Nguồn lao động có nhu cầu ở xã Đình Lập còn hạn chế.\n- Chi "
                             "phí ban đầu cao so với thu nhập người dân", True),
        ("Sở Nội vụ", "Doanh nghiệp tuyển dụng ít; chi phí ban đầu còn cao so với thu nhập "
                      "của người dân.", False),
        ("UBND xã Đình Lập", "Nguồn lao động có nhu cầu ở xã Đình Lập còn hạn chế", True),
        ("UBND xã Kiên Mộc", "Không", True),
        ("UBND xã Châu Sơn", "", True),
    ]
    groups = group_texts(items)
    assert [g.count for g in groups] == [3, 2, 1]
    cost, supply, firms = groups
    assert cost.units == ["UBND xã Thái Bình", "UBND xã Đình Lập", "Sở Nội vụ"]
    assert supply.text == "Nguồn lao động có nhu cầu ở địa phương còn hạn chế"
    assert supply.units == ["UBND xã Thái Bình", "UBND xã Đình Lập"]  # Đình Lập once
    assert firms.text == "Doanh nghiệp tuyển dụng ít"
    assert not any("Kiên Mộc" in u or "Châu Sơn" in u for g in groups for u in g.units)
    assert stated(supply) == ("Nguồn lao động có nhu cầu ở địa phương còn hạn chế "
                              "(UBND xã Thái Bình và UBND xã Đình Lập nêu).")


def test_many_units_are_counted_and_a_few_named():
    items = [(f"UBND xã X{n}", f"Thiếu kinh phí tuyên truyền tại xã X{n}", True)
             for n in range(12)]
    [group] = group_texts(items)
    assert stated(group) == ("Thiếu kinh phí tuyên truyền tại địa phương (12 cơ quan, đơn vị "
                             "nêu, trong đó có UBND xã X0, UBND xã X1, UBND xã X2).")


def test_different_ideas_stay_apart_and_nothing_is_a_clause():
    groups = group_texts([("A", "Thiếu vốn vay ưu đãi cho người lao động", False),
                          ("B", "Doanh nghiệp tuyển dụng không ổn định", False)])
    assert len(groups) == 2
    assert clauses("Không có. - Không. ;") == []
