"""One report context per programme and period, built from the warehouse read models only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from baocao.periods import Period
from baocao.programme import TOTAL, Programme
from baocao.series import Series, build_series, series_rows
from baocao.series import notes as series_notes
from baocao.vn_numbers import format_vn_money, format_vn_number, format_vn_percent
from baocao.warehouse import readmodels as rm

N = format_vn_number
NO_TARGET = "chưa có chỉ tiêu"
NO_PLAN = "chưa có kế hoạch"
TOTAL_REFS = ("W_DEP.TOTAL.total",)
STATUS_TASK = {"done": "Đã hoàn thành", "in_progress": "Đang thực hiện",
               "not_started": "Chưa thực hiện", "": "Chưa báo cáo"}


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

    def total(self, refs: list[str]) -> float:
        return rm.total_of(self.totals, refs)

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
    prev_code = period.previous_year()
    previous = rm.provincial_totals(engine, prog, prog.period(prev_code)) \
        if int(prev_code[:4]) >= prog.first_year else {}
    years: dict[int, dict[rm.Key, float]] = {}
    for year in range(prog.first_year, period.year):
        years[year] = rm.provincial_totals(engine, prog, prog.period(f"{year}-Y"))
    from baocao.history import lead_local_gap

    statuses = rm.unit_statuses(engine, prog, period)
    warnings = rm.query(engine, "current_warnings", programme=prog.code, period=period.code)
    gap = lead_local_gap(engine, prog, period) if prog.find_lead(period.deadline) else None
    if gap:
        warnings = [gap, *warnings]
    received = [s.received_at for s in statuses if s.received_at]
    rows = rm.query(engine, "submission_status", programme=prog.code, period=period.code)
    processed = [r["received_at"] for r in rows]
    as_of = max((rm._aware(x) for x in processed), default=None) if processed else None
    return ReportData(
        prog=prog, period=period, report_date=report_date or period.deadline,
        data_as_of=as_of or (max(received) if received else None),
        totals=rm.provincial_totals(engine, prog, period), previous_totals=previous,
        year_totals_by_year=years, by_unit=rm.values_by_unit(engine, prog, period),
        statuses=statuses,
        tasks=rm.query(engine, "current_tasks", programme=prog.code, period=period.code),
        narratives=rm.query(engine, "current_narratives", programme=prog.code,
                            period=period.code),
        warnings=warnings,
        series=_report_series(engine, prog, period),
        generated_at=generated_at)


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


def _pct(part: float, whole: float) -> str:
    return format_vn_percent(100 * part / whole) if whole else "-"


def _series_total(data: ReportData, refs: list[str] | tuple[str, ...],
                  period: str) -> float | None:
    """A figure of an earlier period through the series; None when nothing was reported."""
    series = data.series_for(refs)
    if series is not None:
        return series.total(period) if period in series.reported else None
    totals = data.previous_totals if period == data.period.previous_year() else \
        data.year_totals_by_year.get(int(period[:4]), {})
    return rm.total_of(totals, list(refs)) if totals else None


def _default_targets(prog: Programme) -> list[tuple[str, tuple[str, ...], dict[int, float]]]:
    refs = tuple(prog.growth.refs) if prog.growth else TOTAL_REFS
    return [("Tổng số lao động đi làm việc ở nước ngoài theo hợp đồng", refs, {})]


def target_table(data: ReportData) -> list[dict[str, Any]]:
    """Biểu 01, every row: the period's target (half of the yearly one, indicative, for a
    half-year), the year's, cumulative since the first year, and growth on a year earlier.

    A row without a target for the year (or a programme without numeric targets) shows
    'chưa có chỉ tiêu' instead of a number.
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
        years = range(prog.first_year, period.year)
        earlier = [_series_total(data, refs, f"{y}-Y") for y in years]
        cumulative = sum(v or 0.0 for v in earlier) + achieved
        cum_target = None
        if target is not None and all(y in per_year for y in years):
            cum_target = sum(per_year[y] for y in years) + target
        prev = _series_total(data, refs, period.previous_year()) \
            if int(period.previous_year()[:4]) >= prog.first_year else None
        mark = "*" if half else ""
        out.append({
            "name": name, "refs": refs, "has_target": target is not None,
            "target": N(target) + mark if target is not None else NO_TARGET,
            "target_value": target,
            "yearly": N(yearly) if yearly is not None else NO_TARGET, "yearly_value": yearly,
            "achieved": N(achieved), "achieved_value": achieved,
            "pct": _pct(achieved, target) if target else "-",
            "pct_year": _pct(achieved, yearly) if yearly else "-",
            "met": ("Đạt" if achieved >= target else "Chưa đạt") if target is not None
            else "-",
            "cumulative": N(cumulative), "cumulative_value": cumulative,
            "cumulative_target": N(cum_target) + mark if cum_target is not None
            else NO_TARGET,
            "cumulative_target_value": cum_target,
            "cumulative_pct": _pct(cumulative, cum_target) if cum_target else "-",
            "missing_years": [y for y, v in zip(years, earlier, strict=True) if v is None],
            "previous": N(prev) if prev is not None else "-", "previous_value": prev,
            "growth": _pct(achieved - prev, prev) if prev else "-",
            "growth_value": round(100 * (achieved - prev) / prev, 1) if prev else None,
        })
    return out


def target_rows(data: ReportData) -> list[dict[str, Any]]:
    """The Biểu 01 rows that have a numeric target for the period (for the chart)."""
    return [r for r in target_table(data) if r["has_target"]]


def growth_text(data: ReportData) -> str:
    """The growth target (if any) and the growth on the same period a year earlier."""
    prog, period = data.prog, data.period
    refs = tuple(prog.growth.refs) if prog.growth else TOTAL_REFS
    now = data.total(list(refs))
    prev = _series_total(data, refs, period.previous_year()) \
        if int(period.previous_year()[:4]) >= prog.first_year else None
    head = (f"Mục tiêu: số lao động đi làm việc ở nước ngoài tăng "
            f"{N(prog.growth.min_pct)}–{N(prog.growth.max_pct)}% mỗi năm. ") \
        if prog.growth else "Chương trình chưa giao chỉ tiêu tăng trưởng bằng số. "
    if not prev:
        return head + "Chưa có số liệu cùng kỳ năm trước để so sánh."
    pct = 100 * (now - prev) / prev
    text = (f"{period.title.capitalize()} đạt {N(now)} lao động, "
            f"{'tăng' if pct >= 0 else 'giảm'} {format_vn_percent(abs(pct))} so với cùng kỳ "
            f"năm trước ({N(prev)} lao động)")
    if prog.growth:
        met = "đạt" if pct >= prog.growth.min_pct else "chưa đạt"
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
    """The mappings of former units onto the period's units that carried figures."""
    return series_notes(data.prog, list(data.series.values()))


def empty_text(data: ReportData) -> str:
    """The plain statement of a period without any accepted report ('' otherwise)."""
    if not data.empty:
        return ""
    # no clock reading by default: the same warehouse gives the same report (and digest)
    when = f"{data.generated_at.astimezone(rm.VN_TZ):%H:%M ngày %d/%m/%Y}" \
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
                   "báo cáo này chưa có số liệu tổng hợp. Danh sách các đơn vị chưa báo cáo "
                   "xem tại phần Tình hình gửi báo cáo của các cơ quan, đơn vị.")


def worker_rows(data: ReportData) -> list[dict[str, str]]:
    prog = data.prog
    ind = prog.indicator("W_DEP")
    groups = prog.dimension("group").codes
    rows = []
    for member in [*prog.dimension("market").members, None]:
        code = member.code if member else TOTAL
        name = member.name if member else "Tổng cộng"
        row = {"name": name, "bold": member is None}
        for g in groups:
            row[g] = N(data.totals.get((ind.code, code, g), 0))
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
    """Biểu 02: each source's plan and figures; '-' for figures when the source is missing."""
    prog = data.prog
    plan = {p.source: p.amount for p in prog.budget.parts} if prog.budget else {}
    available = not funds_source_note(data)
    rows = []
    for member in [*prog.dimension("source").members, None]:
        code = member.code if member else TOTAL
        vals = {m: data.totals.get(("F_FUNDS", code, m), 0.0) if available else None
                for m in prog.dimension("fund_measure").codes}
        budget = plan.get(code) if member else (prog.budget.total if prog.budget else None)
        rows.append({"name": member.name if member else "Tổng cộng", "bold": member is None,
                     "code": code, "budget_value": budget, "values": vals,
                     "budget": format_vn_money(budget) if budget is not None else NO_PLAN,
                     **{k: (N(v) if k == "beneficiaries" else format_vn_money(v))
                        if v is not None else "-" for k, v in vals.items()},
                     "pct": _pct(vals["cumulative"], budget)
                     if budget and vals["cumulative"] is not None else "-"})
    return rows


def scalar_rows(data: ReportData, sheet: str) -> list[dict[str, str]]:
    out = []
    for ind in data.prog.sheet_indicators(sheet):
        if ind.rows or ind.cols:
            continue
        value = data.totals.get((ind.code, "", ""), 0.0)
        prev = data.previous_totals.get((ind.code, "", ""))
        fmt = format_vn_money if ind.kind == "money" else N
        out.append({"name": ind.name, "value": fmt(value),
                    "previous": fmt(prev) if prev is not None else "-"})
    return out


def context(data: ReportData) -> dict[str, Any]:
    """Plain values (strings, lists, dicts) for the .docx template; no markup from units."""
    prog, period = data.prog, data.period
    party = prog.channel == "party"
    names = {u.code: u.name for u in prog.units}
    groups = {g.code: g.name for g in prog.task_groups}
    task_groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for t in data.tasks:
        task_groups[t["task_group"] or ""].append({
            "unit": names.get(t["unit_code"], t["unit_code"]),
            "status": STATUS_TASK.get(t["status"], t["status"]),
            "text": t["description"] or "(không ghi kết quả)"})
    narr: dict[str, list[dict[str, str]]] = defaultdict(list)
    for n in data.narratives:
        narr[n["key"]].append({"unit": names.get(n["unit_code"], n["unit_code"]),
                               "text": n["text"]})
    comp = rm.completeness(data.statuses)
    statuses = [{"no": str(i), "unit": s.unit.name, "status": s.label,
                 "received": f"{s.received_at:%d/%m/%Y}" if s.received_at else "-",
                 "version": str(s.version) if s.version else "-"}
                for i, s in enumerate(data.statuses, 1)]
    lead_total = _lead_total(data)
    targets = target_table(data)
    as_of = data.data_as_of or data.generated_at
    w_total = data.totals.get(("W_DEP", TOTAL, "total"), 0.0)
    symbol = prog.issuer.symbol
    return {
        "party": party,
        "issuer_parent": prog.issuer.parent.upper(),
        "issuer_name": prog.issuer.name.upper(),
        "national_title": "ĐẢNG CỘNG SẢN VIỆT NAM" if party
        else "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "" if party else "Độc lập - Tự do - Hạnh phúc",
        "number": f"Số      -{symbol}" if party else f"Số:      /{symbol}",
        "place_date": vn_date_words(prog.issuer.place, data.report_date),
        "subject": f"{prog.title} {period.title}",
        "period_title": period.title,
        "cutoff": f"từ ngày {period.cutoff_start:%d/%m/%Y} đến ngày {period.cutoff_end:%d/%m/%Y}",
        "data_as_of": f"{as_of.astimezone(rm.VN_TZ):%H:%M ngày %d/%m/%Y}" if as_of
        else "chưa có số liệu",
        "w_total": N(w_total),
        "w_women": N(data.totals.get(("W_DEP", TOTAL, "women"), 0)),
        "w_ethnic": N(data.totals.get(("W_DEP", TOTAL, "ethnic"), 0)),
        "w_lead_total": N(lead_total) if lead_total is not None else "-",
        "w_lead_diff": _pct(abs(w_total - lead_total), lead_total)
        if lead_total else "-",
        "worker_rows": worker_rows(data),
        "worker_other": scalar_rows(data, "workers"),
        "targets": targets,
        "has_targets": bool(prog.targets),
        "targets_intro": "Kết quả thực hiện so với mục tiêu của Kế hoạch (Biểu số 01)."
        if prog.targets else "Kết quả thực hiện (chương trình chưa giao chỉ tiêu bằng số).",
        "growth_text": growth_text(data),
        "first_year": str(prog.first_year),
        "cumulative_note": _cumulative_note(targets, prog.first_year),
        "area_rows": area_rows(data),
        "series_notes": report_series_notes(data),
        "empty": data.empty,
        "empty_text": empty_text(data),
        "fund_rows": fund_rows(data),
        "funds_note": funds_source_note(data)
        or ("" if prog.budget else "Chương trình chưa có kế hoạch vốn bằng số."),
        "has_budget": prog.budget is not None,
        "budget_total": N(prog.budget.total / 1000, 3) if prog.budget else "",
        "budget_years": prog.budget.years if prog.budget else "",
        "communication": scalar_rows(data, "communication"),
        "enforcement": scalar_rows(data, "enforcement"),
        "task_groups": [{"name": f"{code}. {groups.get(code, 'Nhiệm vụ khác')}"
                         if code else "Nhiệm vụ khác",
                         "entries": attributed(items, ("status", "text"))}
                        for code, items in sorted(task_groups.items())],
        "difficulties": attributed(narr.get("difficulties", []), ("text",)),
        "recommendations": attributed(narr.get("recommendations", []), ("text",)),
        "next_plan": attributed(narr.get("next_plan", []), ("text",)),
        "target_note": "* Mục tiêu 6 tháng (và phần của năm nay trong mục tiêu lũy kế) bằng "
        "1/2 mục tiêu năm, chỉ có tính chất tham khảo."
        if period.kind == "H" and any(t["has_target"] for t in targets) else "",
        "statuses": statuses,
        "expected": str(comp["expected"]), "received": str(comp["received"]),
        "on_time": str(comp["on_time"]), "late": str(comp["late"]),
        "missing": str(comp["missing"]),
        "completeness": format_vn_percent(comp["completeness"]),
        "timeliness": format_vn_percent(comp["timeliness"]),
        "late_units": ", ".join(s.unit.name for s in data.statuses if s.status == "late")
        or "không có",
        "missing_units": ", ".join(s.unit.name for s in data.statuses
                                   if s.status not in ("on_time", "late")) or "không có",
        "warnings": [{"unit": names.get(w["unit_code"], w["unit_code"]),
                      "message": w["message"], "where": f"{w['sheet']} {w['cell']}".strip()}
                     for w in data.warnings],
        "notes": data.notes,
        "recipients": prog.recipients,
        "sign_authority": prog.signatory.authority,
        "sign_position": prog.signatory.position,
        "sign_name": prog.signatory.name,
    }


def attributed(items: list[dict[str, str]], keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Merge identical texts, keeping every unit that wrote them: 'A, B: “text”'."""
    merged: dict[tuple[str, ...], list[str]] = {}
    for item in items:
        merged.setdefault(tuple(item[k] for k in keys), []).append(item["unit"])
    return [{**dict(zip(keys, key, strict=True)), "units": ", ".join(units)}
            for key, units in merged.items()]


def _cumulative_note(targets: list[dict[str, Any]], first_year: int) -> str:
    missing = sorted({y for t in targets for y in t["missing_years"]})
    if not missing:
        return ""
    return (f"Số liệu lũy kế từ năm {first_year} chưa gồm năm "
            f"{', '.join(str(y) for y in missing)} (chưa có báo cáo năm trong hệ thống).")


def _lead_total(data: ReportData) -> float | None:
    unit = data.prog.find_lead(data.period.deadline)
    if unit is None:
        return None
    lead = unit.code
    vals = [r["value"] for r in data.by_unit if r["unit_code"] == lead
            and r["indicator"] == "W_DEP" and r["row_key"] == TOTAL and r["col_key"] == "total"]
    return vals[0] if vals else None
