"""One report context per programme and period, built from the warehouse read models only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine

from baocao.periods import Period
from baocao.programme import TOTAL, Programme, YearTransition
from baocao.series import Series, build_series, series_rows
from baocao.series import notes as series_notes
from baocao.timezone import to_local
from baocao.vn_numbers import format_vn_money, format_vn_number
from baocao.warehouse import readmodels as rm

N = format_vn_number
NO_TARGET = "chưa có chỉ tiêu"
NO_PLAN = "chưa có kế hoạch"
TOTAL_REFS = ("W_DEP.TOTAL.total",)


def vn_date_words(place: str, day: date) -> str:
    """'Lạng Sơn, ngày 06 tháng 5 năm 2023' (leading zero for days < 10 and months 1-2)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


@dataclass
class ReportData:
    """Numbers and texts of one report; ``context()`` shapes them for the templates."""

    prog: Programme
    period: Period
    report_date: date
    data_as_of: datetime | None
    totals: dict[rm.Key, float]
    previous_totals: dict[rm.Key, float]
    year_totals_by_year: dict[int, dict[rm.Key, float]]
    by_unit: list[dict[str, Any]]
    statuses: list[rm.UnitStatus]
    tasks: list[dict[str, Any]]
    narratives: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    series: dict[tuple[str, ...], Series] = field(default_factory=dict)
    generated_at: datetime | None = None  # when given, the empty-period text names it
    # former units' first-half figures entering this annual report (programme rule)
    carried: dict[rm.Key, float] = field(default_factory=dict)
    carried_units: tuple[int, int] = (0, 0)  # (former units that reported, expected)
    carried_by_year: dict[int, dict[rm.Key, float]] = field(default_factory=dict)
    # local units with departures figures / local units expected, now and a year earlier
    coverage: tuple[int, int] = (0, 0)
    previous_coverage: tuple[int, int] | None = None

    @property
    def transition(self) -> YearTransition | None:
        """The programme's rule for an annual report of a year in which units ended."""
        return self.prog.transition(self.period.year) if self.period.kind == "Y" else None

    @property
    def headline_totals(self) -> dict[rm.Key, float]:
        """The official totals of the period: the current units' primary figures, plus the
        former units' first-half flows when the programme's year rule adds them."""
        rule = self.transition
        if not self.carried or rule is None or rule.rule != "add_first_half":
            return self.totals
        out = dict(self.totals)
        for key, value in self.carried.items():
            out[key] = round(out.get(key, 0.0) + value, 3)
        return out

    def total(self, refs: list[str]) -> float:
        return rm.total_of(self.headline_totals, refs)

    @property
    def empty(self) -> bool:
        """No unit has an accepted report for the period."""
        return not any(s.status in ("on_time", "late") for s in self.statuses)

    def series_for(self, refs: list[str] | tuple[str, ...]) -> Series | None:
        return self.series.get(tuple(refs))


def series_refs(prog: Programme) -> list[tuple[str, ...]]:
    """Every reference set a report compares across periods (targets, growth, areas)."""
    out = [tuple(t.refs) for t in prog.targets]
    if prog.growth:
        out.append(tuple(prog.growth.refs))
    out.append(TOTAL_REFS)
    return list(dict.fromkeys(out))


def is_flow(prog: Programme, key: rm.Key) -> bool:
    """Whether a figure adds up over time (departures, disbursed) rather than being a stock
    (outstanding loans, plans, cumulative amounts)."""
    ind = prog.indicator(key[0])
    if ind.stock:
        return False
    if ind.cols and key[2]:
        try:
            return not prog.dimension(ind.cols).member(key[2]).stock
        except KeyError:
            return True
    return True


def carried_totals(engine: Engine, prog: Programme, year: int,
                   rows: list[dict[str, Any]] | None = None
                   ) -> tuple[dict[rm.Key, float], tuple[int, int]]:
    """The first-half flows of ``year`` reported by the units that the year's transition rule
    names (e.g. the districts that ended on 30/6/2025), primary sources only; and how many of
    those units reported out of how many were expected."""
    rule = prog.transition(year)
    if rule is None or "H" not in prog.periods:
        return {}, (0, 0)
    half = prog.period(f"{year}-H1")
    lead = prog.find_lead(half.deadline)
    expected = [u for u in prog.expected_units(half) if u.kind in rule.kinds]
    kinds = {u.code for u in expected}
    out: dict[rm.Key, float] = defaultdict(float)
    seen: set[str] = set()
    if rows is None:
        rows = rm.query(engine, "current_values", programme=prog.code, period=half.code)
    for r in rows:
        if r["unit_code"] not in kinds:
            continue
        key = (r["indicator"], r["row_key"], r["col_key"])
        ind = prog.indicator(r["indicator"])
        if not is_flow(prog, key) or not rm.is_primary(prog, ind, r["unit_code"],
                                                       r["unit_kind"], lead.code if lead else ""):
            continue
        out[key] += r["value"]
        seen.add(r["unit_code"])
    return {k: round(v, 3) for k, v in out.items()}, (len(seen), len(expected))


def local_coverage(engine: Engine, prog: Programme, period: Period,
                   rows: list[dict[str, Any]] | None = None) -> tuple[int, int]:
    """(local units with departures figures, local units expected to report them)."""
    expected = {u.code for u in prog.expected_units(period)
                if prog.is_local(u) and "workers" in prog.unit_sheets(u)}
    if rows is None:
        rows = rm.query(engine, "current_values", programme=prog.code, period=period.code)
    seen = {r["unit_code"] for r in rows if r["indicator"] == "W_DEP"} & expected
    return len(seen), len(expected)


def series_periods(prog: Programme, period: Period) -> list[str]:
    """The current period, the same period a year earlier and every earlier year."""
    codes = [f"{y}-Y" for y in range(prog.first_year, period.year)]
    prev = period.previous_year()
    if int(prev[:4]) >= prog.first_year:
        codes.append(prev)
    return sorted({*codes, period.code})


def build_report_data(engine: Engine, prog: Programme, period: Period,
                      report_date: date | None = None,
                      generated_at: datetime | None = None) -> ReportData:
    """Read everything a report needs for ``period`` from the warehouse.

    Comparisons with earlier periods go through the series (``baocao.series``): figures of
    units that no longer exist are attributed to their successors among the period's units.
    """
    cache: dict[str, list[dict[str, Any]]] = {}

    def values(code: str) -> list[dict[str, Any]]:
        """A period's current values, read once per report."""
        if code not in cache:
            cache[code] = rm.query(engine, "current_values", programme=prog.code, period=code)
        return cache[code]

    prev_code = period.previous_year()
    has_prev = int(prev_code[:4]) >= prog.first_year
    previous = rm.provincial_totals(engine, prog, prog.period(prev_code), values(prev_code)) \
        if has_prev else {}
    years: dict[int, dict[rm.Key, float]] = {}
    for year in range(prog.first_year, period.year):
        years[year] = rm.provincial_totals(engine, prog, prog.period(f"{year}-Y"),
                                           values(f"{year}-Y"))
    from baocao.history import lead_local_gap

    statuses = rm.unit_statuses(engine, prog, period)
    warnings = rm.query(engine, "current_warnings", programme=prog.code, period=period.code)
    gap = lead_local_gap(engine, prog, period) if prog.find_lead(period.deadline) else None
    if gap:
        warnings = [gap, *warnings]
    received = [s.received_at for s in statuses if s.received_at]
    rows = rm.query(engine, "submission_status", programme=prog.code, period=period.code)
    processed = [r["received_at"] for r in rows]
    as_of = max((to_local(x) for x in processed), default=None) if processed else None
    by_unit = values(period.code)
    carried, carried_units = carried_totals(engine, prog, period.year,
                                            values(f"{period.year}-H1")) \
        if period.kind == "Y" and prog.transition(period.year) else ({}, (0, 0))
    carried_by_year = {}
    for year in range(prog.first_year, period.year):
        rule = prog.transition(year)
        if rule is not None and rule.rule == "add_first_half":
            carried_by_year[year] = carried_totals(engine, prog, year, values(f"{year}-H1"))[0]
    prev_cov = local_coverage(engine, prog, prog.period(prev_code), values(prev_code)) \
        if has_prev else None
    return ReportData(
        prog=prog, period=period, report_date=report_date or period.deadline,
        data_as_of=as_of or (max(received) if received else None),
        totals=rm.provincial_totals(engine, prog, period, by_unit), previous_totals=previous,
        year_totals_by_year=years, by_unit=by_unit,
        statuses=statuses,
        tasks=rm.query(engine, "current_tasks", programme=prog.code, period=period.code),
        narratives=rm.query(engine, "current_narratives", programme=prog.code,
                            period=period.code),
        warnings=warnings,
        series=_report_series(engine, prog, period),
        generated_at=generated_at, carried=carried, carried_units=carried_units,
        carried_by_year=carried_by_year, coverage=local_coverage(engine, prog, period, by_unit),
        previous_coverage=prev_cov)


def _report_series(engine: Engine, prog: Programme, period: Period
                   ) -> dict[tuple[str, ...], Series]:
    """Every series the report compares, from one read of the warehouse."""
    refsets = series_refs(prog)
    periods = series_periods(prog, period)
    rows = series_rows(engine, prog, [r.split(".")[0] for refs in refsets for r in refs],
                       periods)
    current = prog.expected_units(period)
    return {refs: build_series(engine, prog, refs, periods, period.deadline, current, rows)
            for refs in refsets}


# ---- figures -----------------------------------------------------------------------------

def pct_value(part: float, whole: float, decimals: int = 1) -> Decimal:
    """100 × part / whole, rounded half up (77/80 → 96,3)."""
    exact = Decimal(repr(float(part))) * 100 / Decimal(repr(float(whole)))
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def percent(part: float, whole: float, met: bool | None = None) -> str:
    """'96,3%' (half up); '-' without a base. An unmet target never shows '100,0%': more
    decimals are given until the figure is below 100 (2.499/2.500 → '99,96%')."""
    if not whole:
        return "-"
    value = pct_value(part, whole)
    if met is False:
        for decimals in (2, 3):
            if value < 100:
                break
            value = pct_value(part, whole, decimals)
        if value >= 100:
            value = Decimal("99.999")
    return format_vn_number(value, -value.as_tuple().exponent) + "%"


def _pct(part: float, whole: float) -> str:
    return percent(part, whole)


def series_total(data: ReportData, refs: list[str] | tuple[str, ...],
                  period: str) -> float | None:
    """A figure of an earlier period through the series (with the former units' first half
    when the programme's year rule adds it); None when nothing was reported."""
    series = data.series_for(refs)
    year = int(period[:4])
    carried = data.carried_by_year.get(year, {}) if period.endswith("-Y") else {}
    extra = rm.total_of(carried, list(refs)) if carried else 0.0
    if series is not None:
        if period in series.reported:
            return round(series.total(period) + extra, 3)
        return extra if carried else None
    totals = data.previous_totals if period == data.period.previous_year() else \
        data.year_totals_by_year.get(year, {})
    return round(rm.total_of(totals, list(refs)) + extra, 3) if totals or carried else None


def _default_targets(prog: Programme) -> list[tuple[str, tuple[str, ...], dict[int, float]]]:
    refs = tuple(prog.growth.refs) if prog.growth else TOTAL_REFS
    return [("Tổng số lao động đi làm việc ở nước ngoài theo hợp đồng", refs, {})]


def _years_label(years: list[int], period: Period) -> str:
    """'2023 – 6 tháng đầu năm 2026', 'các năm 2023, 2025 và năm 2026', 'năm 2026'."""
    current = period.title
    if not years:
        return current
    if years == list(range(years[0], period.year)):
        return f"{years[0]} – {current}" if period.kind == "H" else f"{years[0]} – {period.year}"
    return f"các năm {', '.join(str(y) for y in years)} và {current}"


def target_table(data: ReportData) -> list[dict[str, Any]]:
    """Biểu 01, every row: the period's target (half of the yearly one, indicative, for a
    half-year), the year's, cumulative over the years with figures, and growth on a year
    earlier. Achievement is judged on exact values; percentages round half up.

    A row without a target for the year (or a programme without numeric targets) shows
    'chưa có chỉ tiêu' instead of a number. The cumulative figure covers exactly the years
    its label names (``cumulative_label``); its target covers the same years.
    """
    prog, period = data.prog, data.period
    half = period.kind == "H"
    rows = [(t.name, tuple(t.refs), t.per_year) for t in prog.targets] or \
        _default_targets(prog)
    out = []
    for name, refs, per_year in rows:
        yearly = per_year.get(period.year)
        target = (yearly / 2 if half else yearly) if yearly is not None else None
        achieved = data.total(list(refs))
        years = list(range(prog.first_year, period.year))
        earlier = {y: series_total(data, refs, f"{y}-Y") for y in years}
        covered = [y for y in years if earlier[y] is not None]
        cumulative = round(sum(earlier[y] or 0.0 for y in covered) + achieved, 3)
        cum_target = None
        if target is not None and all(y in per_year for y in covered):
            cum_target = sum(per_year[y] for y in covered) + target
        prev = series_total(data, refs, period.previous_year()) \
            if int(period.previous_year()[:4]) >= prog.first_year else None
        mark = "*" if half else ""
        met = achieved >= target if target is not None else None
        year_met = achieved >= yearly if yearly is not None else None
        cum_met = cumulative >= cum_target if cum_target is not None else None
        out.append({
            "name": name, "refs": refs, "has_target": target is not None,
            "target": N(target) + mark if target is not None else NO_TARGET,
            "target_value": target,
            "yearly": N(yearly) if yearly is not None else NO_TARGET, "yearly_value": yearly,
            "achieved": N(achieved), "achieved_value": achieved,
            "pct": percent(achieved, target, met) if target else "-",
            "pct_year": percent(achieved, yearly, year_met) if yearly else "-",
            "met": ("Đạt" if met else "Chưa đạt") if met is not None else "-",
            "met_value": met,
            "cumulative": N(cumulative), "cumulative_value": cumulative,
            "cumulative_target": N(cum_target) + mark if cum_target is not None
            else NO_TARGET,
            "cumulative_target_value": cum_target,
            "cumulative_pct": percent(cumulative, cum_target, cum_met) if cum_target else "-",
            "covered_years": covered,
            "cumulative_label": _years_label(covered, period),
            "missing_years": [y for y in years if earlier[y] is None],
            "previous": N(prev) if prev is not None else "-", "previous_value": prev,
            "growth": percent(achieved - prev, prev) if prev else "-",
            "growth_value": float(pct_value(achieved - prev, prev)) if prev else None,
        })
    return out


def cumulative_label(data: ReportData) -> str:
    """The heading of the cumulative column: 'Lũy kế 2023 – 6 tháng đầu năm 2026'."""
    rows = target_table(data)
    return f"Lũy kế {rows[0]['cumulative_label']}" if rows else "Lũy kế"


def target_rows(data: ReportData) -> list[dict[str, Any]]:
    """The Biểu 01 rows that have a numeric target for the period (for the chart)."""
    return [r for r in target_table(data) if r["has_target"]]


def coverage_note(cov: tuple[int, int] | None) -> str:
    """'(9/11 đơn vị có số liệu)' when some expected local units had no figures; '' if all."""
    if not cov or not cov[1] or cov[0] >= cov[1]:
        return ""
    return f" ({cov[0]}/{cov[1]} địa phương có số liệu)"


def coverage_clause(cov: tuple[int, int] | None) -> str:
    """'; 9/11 địa phương có số liệu' inside a parenthesis, '' when all had figures."""
    note = coverage_note(cov)
    return f"; {note.strip()[1:-1]}" if note else ""


def growth_text(data: ReportData) -> str:
    """The growth target (if any) and the growth on the same period a year earlier, saying
    how many local units had figures a year earlier when some did not."""
    prog, period = data.prog, data.period
    refs = tuple(prog.growth.refs) if prog.growth else TOTAL_REFS
    now = data.total(list(refs))
    prev = series_total(data, refs, period.previous_year()) \
        if int(period.previous_year()[:4]) >= prog.first_year else None
    head = (f"Mục tiêu: số lao động đi làm việc ở nước ngoài tăng "
            f"{N(prog.growth.min_pct)}–{N(prog.growth.max_pct)}% mỗi năm. ") \
        if prog.growth else "Chương trình chưa giao chỉ tiêu tăng trưởng bằng số. "
    if not prev:
        return head + "Chưa có số liệu cùng kỳ năm trước để so sánh."
    change = pct_value(abs(now - prev), prev)
    rising = now >= prev
    text = (f"{period.title.capitalize()} đạt {N(now)} lao động, "
            f"{'tăng' if rising else 'giảm'} {format_vn_number(change, 1)}% so với cùng kỳ "
            f"năm trước ({N(prev)} lao động{coverage_clause(data.previous_coverage)})")
    if prog.growth:
        met = "đạt" if rising and change >= Decimal(repr(prog.growth.min_pct)) else "chưa đạt"
        text += f", {met} mục tiêu tăng trưởng"
        if period.kind == "H":
            text += " (so sánh 6 tháng, chỉ có tính chất tham khảo)"
    return head + text + "."


def area_rows(data: ReportData) -> list[dict[str, str]]:
    """Total departures by current unit or group of successors, now and a year earlier."""
    series = data.series_for(TOTAL_REFS)
    prev = data.period.previous_year()
    if series is None or prev not in series.reported:
        return []
    out = []
    for r in series.rows():
        before, now = r.get(prev, 0.0), r.get(data.period.code, 0.0)
        out.append({"name": r["label"], "previous": N(before), "current": N(now),
                    "previous_value": before, "current_value": now,
                    "growth": _pct(now - before, before) if before else "-",
                    "former": ", ".join(u.name for u in r["group"].former)})
    return out


def report_series_notes(data: ReportData) -> list[str]:
    """The mappings of former units onto the period's units that carried figures, and how
    the former units' first half enters an annual report."""
    out = series_notes(data.prog, list(data.series.values()))
    note = transition_note(data)
    return [*out, note] if note else out


def transition_note(data: ReportData) -> str:
    """How the units that ended during the report's year enter it (programme rule)."""
    rule = data.transition
    if rule is None:
        return ""
    kinds = {"district": "UBND các huyện, thành phố", "commune": "UBND các xã cũ",
             "department": "các sở, ngành cũ", "organisation": "các cơ quan, tổ chức cũ"}
    who = ", ".join(kinds[k] for k in rule.kinds)
    half = data.prog.period(f"{data.period.year}-H1")
    reported, expected = data.carried_units
    workers = rm.total_of(data.carried, list(TOTAL_REFS))
    got = (f"{reported}/{expected} đơn vị có báo cáo, {N(workers)} lao động đi làm việc ở "
           "nước ngoài") if expected else "không có đơn vị phải báo cáo"
    if rule.rule == "add_first_half":
        start = f"{rule.from_day:%d/%m/%Y}" if rule.from_day else "01/7"
        return (f"Số liệu {data.period.title} gồm số liệu 6 tháng đầu năm (đến ngày "
                f"{half.cutoff_end:%d/%m/%Y}) của {who} trước khi sắp xếp ({got}) cộng với "
                f"số liệu của các đơn vị hiện nay từ ngày {start} đến ngày "
                f"{data.period.cutoff_end:%d/%m/%Y}; các số liệu dư nợ, kế hoạch và lũy kế "
                "(số liệu thời điểm) chỉ lấy theo báo cáo của các đơn vị hiện nay.")
    return (f"Số liệu {data.period.title} do các đơn vị hiện nay báo cáo cho cả năm trên địa "
            f"bàn của mình; số liệu 6 tháng đầu năm của {who} trước khi sắp xếp ({got}) "
            "chỉ để đối chiếu, không cộng thêm để tránh tính trùng.")


def official_source(prog: Programme, indicator: str, on: date | None = None) -> str:
    """Which source is official for ``indicator`` (the programme's setting), in Vietnamese:
    'tổng hợp báo cáo của các địa phương', 'số liệu của Sở Nội vụ', …"""
    ind = prog.indicator(indicator)
    if ind.primary == "local":
        return "tổng hợp từ báo cáo của các địa phương"
    if ind.primary == "all":
        return "tổng hợp từ báo cáo của các cơ quan, đơn vị, địa phương"
    if ind.primary == "lead":
        lead = prog.find_lead(on) if on else None
        return f"số liệu của {lead.name if lead else 'cơ quan thường trực'}"
    names = []
    for code in ind.primary_units:
        found = prog.units_by_code(code)
        names.append(found[-1].name if found else KNOWN_SOURCES.get(code, code))
    return f"số liệu của {', '.join(names)}"


def headline(data: ReportData, refs: list[str] | tuple[str, ...]) -> float:
    """The one official figure of ``refs`` for the period (official sources, year rule)."""
    return data.total(list(refs))


def empty_text(data: ReportData) -> str:
    """The plain statement of a period without any accepted report ('' otherwise)."""
    if not data.empty:
        return ""
    # no clock reading by default: the same warehouse gives the same report (and digest)
    when = f"{to_local(data.generated_at):%H:%M ngày %d/%m/%Y}" \
        if data.generated_at else "lập báo cáo"
    files = sum(s.files for s in data.statuses)
    text = f"Đến thời điểm {when} chưa có đơn vị nào gửi báo cáo {data.period.title}"
    if files:
        text += (f" hợp lệ (đã nhận {files} tệp nhưng đều bị từ chối hoặc trả lại để "
                 "chỉnh sửa)")
    if not data.statuses:
        return text + (": chương trình không có đơn vị nào phải báo cáo kỳ này (các đơn vị "
                       "đã kết thúc hoạt động hoặc chưa được giao nhiệm vụ báo cáo).")
    return text + (f"; cả {len(data.statuses)} đơn vị phải báo cáo đều chưa báo cáo, vì vậy "
                   "báo cáo này chưa có số liệu tổng hợp. Danh sách các đơn vị phải báo cáo "
                   "và tình trạng của từng đơn vị xem tại Phụ lục I.")


def worker_rows(data: ReportData) -> list[dict[str, Any]]:
    """Departures by market (names of the period's era) and priority group, with the total."""
    prog = data.prog
    totals = data.headline_totals
    ind = prog.indicator("W_DEP")
    groups = prog.dimension("group").codes
    grand = totals.get((ind.code, TOTAL, "total"), 0.0)
    rows = []
    for member in [*prog.dimension("market").members, None]:
        code = member.code if member else TOTAL
        name = member.name_on(data.period.deadline) if member else "Tổng cộng"
        row: dict[str, Any] = {"name": name, "bold": member is None, "code": code}
        for g in groups:
            row[g] = N(totals.get((ind.code, code, g), 0))
        value = totals.get((ind.code, code, "total"), 0.0)
        row["total_value"] = value
        row["share"] = percent(value, grand) if grand else "-"
        rows.append(row)
    return rows


KNOWN_SOURCES = {"NHCSXH": "Chi nhánh Ngân hàng Chính sách xã hội tỉnh"}


def funds_source_note(data: ReportData) -> str:
    """Why the funds table has no figures ('' when its primary source reported)."""
    prog = data.prog
    ind = prog.indicator("F_FUNDS")
    if ind.primary != "units":
        return ""
    names = []
    for code in ind.primary_units:
        found = prog.units_by_code(code)
        names.append(found[-1].name if found else KNOWN_SOURCES.get(code, code))
    who = ", ".join(names) or "đơn vị cung cấp số liệu chính về nguồn vốn"
    expected = {s.unit.code: s for s in data.statuses}
    primary = [expected[c] for c in ind.primary_units if c in expected]
    if not primary:
        return (f"{who} không có trong danh sách đơn vị phải báo cáo {data.period.title} của "
                "chương trình nên chưa có số liệu tổng hợp về nguồn vốn; số liệu do các đơn "
                "vị tự báo cáo xem tại phụ lục tổng hợp theo đơn vị.")
    if not any(s.status in ("on_time", "late") for s in primary):
        return f"{who} chưa gửi báo cáo {data.period.title} nên chưa có số liệu về nguồn vốn."
    return ""


def fund_rows(data: ReportData) -> list[dict[str, Any]]:
    """Biểu 02: each source's plan and figures; '-' for figures when the source is missing.
    Sources carry the name of the period's era (no district budget after 30/6/2025)."""
    prog = data.prog
    totals = data.headline_totals
    plan = {p.source: p.amount for p in prog.budget.parts} if prog.budget else {}
    available = not funds_source_note(data)
    rows = []
    for member in [*prog.dimension("source").members, None]:
        code = member.code if member else TOTAL
        vals = {m: totals.get(("F_FUNDS", code, m), 0.0) if available else None
                for m in prog.dimension("fund_measure").codes}
        budget = plan.get(code) if member else (prog.budget.total if prog.budget else None)
        rows.append({"name": member.name_on(data.period.deadline) if member else "Tổng cộng",
                     "bold": member is None,
                     "code": code, "budget_value": budget, "values": vals,
                     "budget": format_vn_money(budget) if budget is not None else NO_PLAN,
                     **{k: (N(v) if k == "beneficiaries" else format_vn_money(v))
                        if v is not None else "-" for k, v in vals.items()},
                     "pct": _pct(vals["cumulative"], budget)
                     if budget and vals["cumulative"] is not None else "-"})
    return rows


def scalar_rows(data: ReportData, sheet: str) -> list[dict[str, Any]]:
    """The sheet's single-figure indicators: this period and the same period a year earlier."""
    out = []
    totals = data.headline_totals
    for ind in data.prog.sheet_indicators(sheet):
        if ind.rows or ind.cols:
            continue
        value = totals.get((ind.code, "", ""), 0.0)
        prev = data.previous_totals.get((ind.code, "", ""))
        fmt = format_vn_money if ind.kind == "money" else N
        out.append({"code": ind.code, "name": ind.name, "value": fmt(value),
                    "value_raw": value, "previous_raw": prev,
                    "previous": fmt(prev) if prev is not None else "-"})
    return out


def lead_total(data: ReportData, refs: tuple[str, ...] = TOTAL_REFS) -> float | None:
    """The lead department's own figure of ``refs`` (its register), None if not reported."""
    unit = data.prog.find_lead(data.period.deadline)
    if unit is None:
        return None
    vals = {(r["indicator"], r["row_key"], r["col_key"]): r["value"] for r in data.by_unit
            if r["unit_code"] == unit.code}
    if not any(k[0] == refs[0].split(".")[0] for k in vals):
        return None
    return rm.total_of(vals, list(refs))


def _lead_total(data: ReportData) -> float | None:
    return lead_total(data)


# ---- the template context ---------------------------------------------------------------

def _rule_number(prog: Programme) -> str:
    """'Số:      /BC-UBND' (Decree 30) or 'Số      -BC/TU' (Hướng dẫn 36-HD/VPTW)."""
    symbol = prog.issuer.symbol
    return f"Số      -{symbol}" if prog.channel == "party" else f"Số:      /{symbol}"


def _annex_number(prog: Programme) -> str:
    """'số      /BC-UBND' as an appendix cites its report."""
    return _rule_number(prog).replace("Số:", "số").replace("Số", "số")


def context(data: ReportData) -> dict[str, Any]:
    """Plain values (strings, lists, dicts) for the .docx template; no markup from units."""
    from baocao.reports import annexes, writing

    prog, period = data.prog, data.period
    party = prog.channel == "party"
    targets = target_table(data)
    comp = rm.completeness(data.statuses)
    tasks = writing.task_groups(data)
    as_of = data.data_as_of
    return {
        "draft": False,  # render_docx(draft=True) sets it: the marking in every page header
        "draft_text": "BẢN DỰ THẢO — " + (
            f"số liệu đến {to_local(as_of):%H:%M ngày %d/%m/%Y}" if as_of
            else "chưa có số liệu") + ", chưa phải báo cáo chính thức",
        "party": party,
        "issuer_parent": prog.issuer.parent.upper(),
        "has_parent": bool(prog.issuer.parent.strip()),
        "issuer_name": prog.issuer.name.upper(),
        "national_title": "ĐẢNG CỘNG SẢN VIỆT NAM" if party
        else "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "" if party else "Độc lập - Tự do - Hạnh phúc",
        "number": _rule_number(prog),
        "place_date": vn_date_words(prog.issuer.place, data.report_date),
        "subject": writing.subject(data),
        "period_title": period.title,
        "opening": writing.opening(data),
        "empty": data.empty,
        "empty_text": empty_text(data),
        # I.
        "leadership": writing.leadership(data),
        # II.
        "communication": writing.communication(data),
        "departures": writing.departures(data),
        "departures_other": writing.departures_other(data),
        "targets_text": writing.targets_text(data),
        "growth_text": growth_text(data),
        "market_rows": [r for r in worker_rows(data) if r["total_value"] or r["bold"]],
        "targets": targets,
        "has_targets": any(t["has_target"] for t in targets),
        "target_note": "* Mục tiêu 6 tháng bằng 1/2 mục tiêu năm, chỉ có tính chất tham khảo."
        if period.kind == "H" and any(t["has_target"] for t in targets) else "",
        "cumulative_label": cumulative_label(data),
        "training": writing.training(data),
        "funds": writing.funds(data),
        "fund_rows": fund_rows(data),
        "has_fund_figures": not funds_source_note(data),
        "enforcement": writing.enforcement(data),
        "task_groups": tasks,
        "task_total": {"total": str(sum(int(t["total"]) for t in tasks)),
                       "done": str(sum(int(t["done"]) for t in tasks)),
                       "in_progress": str(sum(int(t["in_progress"]) for t in tasks)),
                       "not_started": str(sum(int(t["not_started"]) for t in tasks))},
        # III.
        "strengths": writing.strengths(data),
        "shortcomings": writing.shortcomings(data),
        "difficulties": writing.ideas(data, "difficulties"),
        "subjective": writing.subjective_causes(data),
        # IV., V.
        "directions": writing.directions(data),
        "recommendations": writing.ideas(data, "recommendations"),
        "closing": writing.closing(data),
        "final_sentence": writing.final_sentence(data),
        "recipients": prog.recipients_on(data.report_date),
        "sign_authority": prog.signatory.authority,
        "sign_position": prog.signatory.position,
        "sign_name": prog.signatory.name,
        # appendices
        "annex_ref": f"(Kèm theo Báo cáo {_annex_number(prog)} ngày      /     /"
                     f"{data.report_date.year} của {prog.reporting_body})",
        "statuses": annexes.status_rows(data),
        "expected": str(comp["expected"]), "received": str(comp["received"]),
        "on_time": str(comp["on_time"]), "late": str(comp["late"]),
        "missing": str(comp["missing"]),
        "late_units": ", ".join(s.unit.name for s in data.statuses if s.status == "late")
        or "không có",
        "missing_units": ", ".join(s.unit.name for s in data.statuses
                                   if s.status not in ("on_time", "late")) or "không có",
        "completeness": percent(comp["received"], comp["expected"]),
        "timeliness": percent(comp["on_time"], comp["expected"]),
        "worker_rows": worker_rows(data),
        "worker_other": scalar_rows(data, "workers"),
        "area_rows": area_rows(data),
        "series_notes": report_series_notes(data),
        "reconciliation": annexes.reconciliation_rows(data),
        "task_rows": annexes.task_rows(data),
        "text_rows": annexes.text_rows(data),
        "warnings": annexes.warning_rows(data),
        "notes": data.notes,
    }
