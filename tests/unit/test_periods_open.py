"""Which periods are being collected on a given day (Vietnam dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from baocao.periods import collecting_period, open_periods
from baocao.timezone import local_date


@pytest.mark.parametrize(("day", "expected", "collecting"), [
    (date(2026, 12, 4), ["2026-Y"], "2026-Y"),  # H1 closed on 30/6 (deadline + 10 days)
    (date(2026, 6, 10), ["2026-H1", "2026-Y"], "2026-H1"),
    (date(2026, 6, 30), ["2026-H1", "2026-Y"], "2026-H1"),  # late files still collected
    (date(2026, 7, 1), ["2026-Y"], "2026-Y"),
    (date(2026, 12, 16), ["2026-Y", "2027-H1", "2027-Y"], "2026-Y"),
    (date(2026, 12, 31), ["2026-Y", "2027-H1", "2027-Y"], "2026-Y"),
    (date(2027, 1, 1), ["2027-H1", "2027-Y"], "2027-H1"),
])
def test_open_and_collecting(programme, day, expected, collecting):
    assert [p.code for p in open_periods(day, programme)] == expected
    assert collecting_period(day, programme).code == collecting


def test_local_date_is_vietnam_date():
    # 18:30 UTC on 19/6 is already 20/6 in Hà Nội
    assert local_date(datetime(2026, 6, 19, 18, 30, tzinfo=UTC)) == date(2026, 6, 20)
    assert local_date(datetime(2026, 6, 19, 16, 59)) == date(2026, 6, 19)  # naive = UTC
