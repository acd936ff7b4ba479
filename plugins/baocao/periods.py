"""Reporting periods: codes such as ``2026-H1`` (half-year) and ``2026-Y`` (year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baocao.programme import Programme

_CODE = re.compile(r"^(\d{4})-(H1|Y)$")


@dataclass(frozen=True)
class Period:
    """One reporting period of a programme, with its data cut-off and deadline."""

    code: str
    year: int
    kind: str  # "H" or "Y"
    name: str
    cutoff_start: date
    cutoff_end: date
    deadline: date
    grace_days: int = 10

    @property
    def title(self) -> str:
        """Vietnamese title, e.g. '6 tháng đầu năm 2026' or 'năm 2026'."""
        return f"{self.name} {self.year}"

    def previous_year(self) -> str:
        return f"{self.year - 1}-{'H1' if self.kind == 'H' else 'Y'}"

    @property
    def closes(self) -> date:
        """The last day files for this period are still being collected: the deadline plus
        the programme's grace days for late reports."""
        return self.deadline + timedelta(days=self.grace_days)


def _month_day(text: str, year: int) -> date:
    prev = text.startswith("-")
    month, day = (int(x) for x in text.lstrip("-").split("-"))
    return date(year - 1 if prev else year, month, day)


def parse_period(code: str, programme: Programme) -> Period:
    """Parse a period code against a programme's period rules; ValueError if invalid."""
    m = _CODE.match(code.strip())
    if not m:
        raise ValueError(f"period code '{code}' is not of the form 2026-H1 or 2026-Y")
    year, kind = int(m.group(1)), m.group(2)[0]
    if kind not in programme.periods:
        raise ValueError(f"programme {programme.code} has no period kind '{kind}'")
    rule = programme.periods[kind]  # type: ignore[index]
    period = Period(code=f"{year}-{m.group(2)}", year=year, kind=kind, name=rule.name,
                    cutoff_start=_month_day(rule.cutoff_start, year),
                    cutoff_end=_month_day(rule.cutoff_end, year),
                    deadline=_month_day(rule.deadline, year),
                    grace_days=rule.grace_days)
    if not period.cutoff_start < period.cutoff_end:
        raise ValueError(f"cut-off start {period.cutoff_start} is not before cut-off end")
    if period.deadline <= period.cutoff_end:
        raise ValueError(f"deadline {period.deadline} is not after the cut-off end "
                         f"{period.cutoff_end}")
    return period


def candidate_periods(programme: Programme, years: range) -> list[Period]:
    """Every period of ``programme`` in ``years`` (kinds the programme lacks are skipped),
    by deadline."""
    out = []
    for year in years:
        for kind in ("H1", "Y"):
            try:
                out.append(parse_period(f"{year}-{kind}", programme))
            except ValueError:
                continue
    return sorted(out, key=lambda p: (p.deadline, p.code))


def open_periods(day: date, programme: Programme) -> list[Period]:
    """The periods being collected on ``day`` (a Vietnam date): cut-off started and deadline
    plus grace not passed, nearest deadline first. On 04/12/2026 that is 2026-Y."""
    return [p for p in candidate_periods(programme, range(day.year - 1, day.year + 2))
            if p.cutoff_start <= day <= p.closes]


def collecting_period(day: date, programme: Programme) -> Period:
    """The period units are reporting for on ``day``: the open one with the nearest deadline;
    between periods (nothing open) the next one to open."""
    found = open_periods(day, programme)
    if found:
        return found[0]
    return period_due(day, programme)


def period_for(day: date, programme: Programme) -> Period:
    """The latest period whose cut-off has ended on or before ``day`` (what is being reported)."""
    ended = [p for p in candidate_periods(programme, range(day.year - 1, day.year + 1))
             if p.cutoff_end < day]
    return max(ended, key=lambda p: p.deadline)


def period_due(day: date, programme: Programme) -> Period:
    """The period being collected on ``day``: the one with the nearest deadline on or after it."""
    ahead = [p for p in candidate_periods(programme, range(day.year, day.year + 2))
             if p.deadline >= day]
    return min(ahead, key=lambda p: p.deadline)
