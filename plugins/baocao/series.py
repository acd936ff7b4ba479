"""A series across the 2025 reorganisation: figures of former units attributed to successors.

The rule (docs/domain.md §3):

* The series is built for a set of *current* units (by default the units expected in the
  report's period). Every earlier figure is attributed to the current unit(s) that succeeded
  the unit that reported it, following chains of successors (``Programme.successors_on``).
* A merger (many -> one: old departments -> merged department, two districts -> one) maps
  cleanly: the old units' figures are added to the successor.
* A split (one -> many: a district -> its communes and wards) cannot be divided honestly, so
  the successors are compared **as a group**: the communes that succeeded one former district
  form one row of the series. When a commune succeeded two districts, the groups of both
  districts are joined (union-find), so every former unit maps onto exactly one group.
* Only former units that report the series' sheets take part in the grouping, so a department
  split that concerns other sheets does not join groups needlessly.
* A former unit with no current successor keeps its own row (``unmapped``).

Hence each figure is counted in exactly one row, and for every period the rows add up to the
provincial total of the same primary sources (``readmodels.provincial_totals``). ``notes()``
states, in Vietnamese, every mapping that actually carried figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from baocao.programme import Programme, Unit
from baocao.warehouse import readmodels as rm


@dataclass(frozen=True)
class SeriesGroup:
    """One row of a series: current units compared together, and the former units behind them."""

    key: str
    members: tuple[Unit, ...]
    former: tuple[Unit, ...] = ()

    @property
    def unmapped(self) -> bool:
        return not self.members

    @property
    def label(self) -> str:
        """Vietnamese row label."""
        if self.unmapped:
            return f"{self.former[0].name} (không có đơn vị kế thừa)"
        if len(self.members) == 1:
            return self.members[0].name
        if all(u.kind == "commune" for u in self.members) and self.former:
            areas = ", ".join(short_name(u) for u in self.former if u.kind == "district")
            if areas:
                return f"Các xã, phường trên địa bàn {areas} (cũ)"
        return "; ".join(u.name for u in self.members)


def short_name(unit: Unit) -> str:
    """'UBND huyện Tràng Định' -> 'huyện Tràng Định' (local units are named by their UBND)."""
    return unit.name.removeprefix("UBND ").strip()


def _vn_day(day: date) -> str:
    return f"{day.day:02d}/{day.month}/{day.year}" if day.month > 2 \
        else f"{day.day:02d}/{day.month:02d}/{day.year}"


def ref_matches(ref: str, key: rm.Key) -> bool:
    """Whether a target reference (``IND``, ``IND.row``, ``IND.row.col``; ``*``) covers a key."""
    parts = ref.split(".")
    return key[0] == parts[0] and all(w == "*" or w == g
                                      for w, g in zip(parts[1:], key[1:], strict=False))


def _sheets_of(prog: Programme, refs: tuple[str, ...]) -> set[str]:
    return {prog.indicator(r.split(".")[0]).sheet for r in refs}


def group_units(prog: Programme, current: list[Unit], day: date,
                sheets: set[str] | None = None) -> tuple[list[SeriesGroup], dict[str, str]]:
    """Groups of ``current`` units and the group key of every unit of the programme.

    ``day`` is the day the current units are taken on (the report period's deadline).
    Former units that report none of ``sheets`` (when given) are left out of the grouping.
    Returns the groups (programme order) and ``{unit.key: group.key}``.
    """
    cur = {u.key: u for u in current}
    parent = {k: k for k in cur}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    mapped: dict[str, list[str]] = {}
    unmapped: list[Unit] = []
    for unit in prog.units:
        if unit.key in cur:
            continue
        if sheets is not None and not sheets & set(prog.unit_sheets(unit)):
            continue
        succ = [s.key for s in prog.successors_on(unit, day) if s.key in cur]
        if not succ:
            if unit.valid_from <= day:
                unmapped.append(unit)
            continue
        mapped[unit.key] = succ
        for other in succ[1:]:
            parent[find(other)] = find(succ[0])
    members: dict[str, list[Unit]] = defaultdict(list)
    for k, u in cur.items():
        members[find(k)].append(u)
    formers: dict[str, list[Unit]] = defaultdict(list)
    by_key = {u.key: u for u in prog.units}
    for k, succ in mapped.items():
        formers[find(succ[0])].append(by_key[k])
    groups: list[SeriesGroup] = []
    group_of: dict[str, str] = {}
    for root, units in members.items():
        key = "+".join(u.key for u in units)
        groups.append(SeriesGroup(key, tuple(units), tuple(formers.get(root, ()))))
        for u in units:
            group_of[u.key] = key
        for u in formers.get(root, ()):
            group_of[u.key] = key
    for u in unmapped:
        key = f"~{u.key}"
        groups.append(SeriesGroup(key, (), (u,)))
        group_of[u.key] = key
    return groups, group_of


@dataclass
class Series:
    """Values per period for groups of current units; former units rolled onto successors."""

    refs: tuple[str, ...]
    periods: tuple[str, ...]
    groups: list[SeriesGroup]
    values: dict[tuple[str, str], float]  # (group key, period) -> value
    reported: set[str]  # periods with at least one figure of the series' indicators
    attributions: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # (former unit key, group key) -> periods whose figures were carried over

    def total(self, period: str) -> float:
        return round(sum(v for (_g, p), v in self.values.items() if p == period), 3)

    def value(self, group: str, period: str) -> float:
        return self.values.get((group, period), 0.0)

    def group(self, key: str) -> SeriesGroup:
        return next(g for g in self.groups if g.key == key)

    def rows(self) -> list[dict[str, Any]]:
        """Groups with any figure in the series: label and value per period."""
        seen = {g for (g, _p) in self.values}
        return [{"key": g.key, "label": g.label, "group": g,
                 **{p: self.value(g.key, p) for p in self.periods}}
                for g in self.groups if g.key in seen]


def series_rows(engine: Engine, prog: Programme, indicators: list[str],
                periods: list[str]) -> list[dict[str, Any]]:
    """The reported values of ``indicators`` over ``periods`` (``series_values.sql``)."""
    if not periods or not indicators:
        return []
    return rm.query(engine, "series_values", programme=prog.code, periods=list(periods),
                    indicators=sorted(set(indicators)))


def build_series(engine: Engine, prog: Programme, refs: list[str] | tuple[str, ...],
                 periods: list[str], day: date, current: list[Unit] | None = None,
                 rows: list[dict[str, Any]] | None = None) -> Series:
    """The series of ``refs`` (summed, primary sources only) over ``periods``.

    ``current`` defaults to the units active on ``day`` that report at least one sheet;
    ``rows`` may hold ``series_rows`` fetched once for several series.
    """
    refs = tuple(refs)
    if current is None:
        current = [u for u in prog.units if u.active_on(day) and prog.unit_sheets(u)]
    groups, group_of = group_units(prog, current, day, _sheets_of(prog, refs))
    indicators = {r.split(".")[0] for r in refs}
    if rows is None:
        rows = series_rows(engine, prog, sorted(indicators), list(periods))
    leads = {}
    for code in periods:
        lead = prog.find_lead(prog.period(code).deadline)
        leads[code] = lead.code if lead else ""
    units = {u.key: u for u in prog.units}
    by_key = {g.key: g for g in groups}
    values: dict[tuple[str, str], float] = defaultdict(float)
    attributions: dict[tuple[str, str], set[str]] = defaultdict(set)
    reported: set[str] = set()
    extra: dict[str, SeriesGroup] = {}
    matches: dict[rm.Key, bool] = {}
    for r in rows:
        if r["indicator"] not in indicators or r["period"] not in leads:
            continue
        reported.add(r["period"])
        key = (r["indicator"], r["row_key"], r["col_key"])
        if key not in matches:
            matches[key] = any(ref_matches(ref, key) for ref in refs)
        if not matches[key]:
            continue
        ind = prog.indicator(r["indicator"])
        if not rm.is_primary(prog, ind, r["unit_code"], r["unit_kind"], leads[r["period"]]):
            continue
        ukey = f"{r['unit_code']}@{str(r['unit_valid_from'])[:10]}"
        gkey = group_of.get(ukey)
        if gkey is None:  # a unit no longer in the programme file: its own row
            gkey = f"~{ukey}"
            if gkey not in extra:
                unit = units.get(ukey) or Unit(
                    code=r["unit_code"], name=r["unit_name"], kind=r["unit_kind"],
                    valid_from=date.fromisoformat(str(r["unit_valid_from"])[:10]))
                extra[gkey] = SeriesGroup(gkey, (), (unit,))
        values[(gkey, r["period"])] += r["value"]
        group = by_key.get(gkey) or extra[gkey]
        if group.members and ukey not in {u.key for u in group.members}:
            attributions[(ukey, gkey)].add(r["period"])
    return Series(refs=refs, periods=tuple(periods), groups=[*groups, *extra.values()],
                  values={k: round(v, 3) for k, v in values.items()}, reported=reported,
                  attributions=dict(attributions))


def notes(prog: Programme, series: list[Series]) -> list[str]:
    """Vietnamese sentences stating every mapping that carried figures in ``series``."""
    by_group: dict[str, tuple[SeriesGroup, set[str]]] = {}
    for s in series:
        for (ukey, gkey) in s.attributions:
            group = s.group(gkey)
            by_group.setdefault(group.key, (group, set()))[1].add(ukey)
    units = {u.key: u for u in prog.units}
    out: list[str] = []
    split_days: set[date] = set()
    for group, former_keys in by_group.values():
        formers = sorted((units[k] for k in former_keys if k in units),
                         key=lambda u: (u.valid_to or date.max, prog.units.index(u)))
        if not formers:
            continue
        by_end: dict[date, list[str]] = defaultdict(list)
        for u in formers:
            end = (u.valid_to or u.valid_from) + timedelta(days=1)
            name = u.name if u.name not in {m.name for m in group.members} \
                else f"{u.name} (trước khi hợp nhất)"
            by_end[end].append(name)
        parts = [f"trước ngày {_vn_day(end)} của {', '.join(names)}"
                 for end, names in sorted(by_end.items())]
        if len(group.members) == 1:
            target = group.members[0].name
        else:
            split_days.update(by_end)
            target = (f"nhóm {len(group.members)} đơn vị kế thừa "
                      f"({', '.join(short_name(u) for u in group.members)})")
        out.append(f"Số liệu các kỳ {' và các kỳ '.join(parts)} được cộng dồn vào {target}.")
    if split_days:
        when = f"trước ngày {_vn_day(max(split_days))}" if len(split_days) == 1 \
            else "trước khi sắp xếp"
        out.append(f"Do một đơn vị cũ được chia cho nhiều đơn vị mới, số liệu {when} không "
                   "thể chia chính xác cho từng đơn vị kế thừa: các đơn vị kế thừa của cùng "
                   "một đơn vị cũ (hoặc của các đơn vị cũ có chung đơn vị kế thừa) được so "
                   "sánh theo cả nhóm. Mỗi số liệu chỉ được tính một lần; tổng các nhóm bằng "
                   "tổng toàn tỉnh của từng kỳ.")
    kept = sorted({g.former[0].name for s in series for g in s.groups
                   if g.unmapped and any(k[0] == g.key for k in s.values)})
    if kept:
        out.append(f"Số liệu của {', '.join(kept)} không có đơn vị kế thừa nên được giữ "
                   "riêng, vẫn được tính vào tổng toàn tỉnh.")
    return out
