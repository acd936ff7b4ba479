"""One report context per programme and period, built from the warehouse read models only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from baocao.periods import Period
from baocao.programme import TOTAL, Programme
from baocao.vn_numbers import format_vn_money, format_vn_number, format_vn_percent
from baocao.warehouse import readmodels as rm

N = format_vn_number
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

    def total(self, refs: list[str]) -> float:
        return rm.total_of(self.totals, refs)


def build_report_data(engine: Engine, prog: Programme, period: Period,
                      report_date: date | None = None) -> ReportData:
    """Read everything a report needs for ``period`` from the warehouse."""
    prev_code = period.previous_year()
    previous = rm.provincial_totals(engine, prog, prog.period(prev_code)) \
        if int(prev_code[:4]) >= prog.first_year else {}
    years: dict[int, dict[rm.Key, float]] = {}
    for year in range(prog.first_year, period.year):
        years[year] = rm.provincial_totals(engine, prog, prog.period(f"{year}-Y"))
    from baocao.history import lead_local_gap

    statuses = rm.unit_statuses(engine, prog, period)
    warnings = rm.query(engine, "current_warnings", programme=prog.code, period=period.code)
    gap = lead_local_gap(engine, prog, period)
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
        warnings=warnings)


def _pct(part: float, whole: float) -> str:
    return format_vn_percent(100 * part / whole) if whole else "-"


def target_rows(data: ReportData) -> list[dict[str, str]]:
    """Biểu 01: each target for the year and the half (indicative), and since the first year."""
    prog, period = data.prog, data.period
    out = []
    for t in prog.targets:
        yearly = t.per_year.get(period.year)
        if yearly is None:
            continue
        target = yearly / 2 if period.kind == "H" else yearly
        achieved = data.total(t.refs)
        cum_target = sum(v for y, v in t.per_year.items() if prog.first_year <= y < period.year)
        cum_achieved = sum(rm.total_of(data.year_totals_by_year.get(y, {}), t.refs)
                           for y in range(prog.first_year, period.year))
        prev = rm.total_of(data.previous_totals, t.refs) if data.previous_totals else None
        out.append({
            "name": t.name,
            "target": N(target) + ("*" if period.kind == "H" else ""),
            "target_value": target,
            "achieved": N(achieved), "achieved_value": achieved,
            "pct": _pct(achieved, target),
            "met": "Đạt" if achieved >= target else "Chưa đạt",
            "cumulative": N(cum_achieved + achieved),
            "cumulative_target": N(cum_target + (target if period.kind == "Y" else yearly)),
            "previous": N(prev) if prev is not None else "-",
            "growth": _pct(achieved - prev, prev) if prev else "-",
        })
    return out


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


def fund_rows(data: ReportData) -> list[dict[str, str]]:
    prog = data.prog
    plan = {p.source: p.amount for p in prog.budget.parts} if prog.budget else {}
    rows = []
    for member in [*prog.dimension("source").members, None]:
        code = member.code if member else TOTAL
        vals = {m: data.totals.get(("F_FUNDS", code, m), 0.0)
                for m in prog.dimension("fund_measure").codes}
        budget = plan.get(code) if member else (prog.budget.total if prog.budget else None)
        rows.append({"name": member.name if member else "Tổng cộng", "bold": member is None,
                     "budget": format_vn_money(budget) if budget is not None else "-",
                     **{k: N(v) if k == "beneficiaries" else format_vn_money(v)
                        for k, v in vals.items()},
                     "pct": _pct(vals["cumulative"], budget) if budget else "-"})
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
        "data_as_of": f"{data.data_as_of.astimezone(rm.VN_TZ):%H:%M ngày %d/%m/%Y}"
        if data.data_as_of else "chưa có số liệu",
        "w_total": N(w_total),
        "w_women": N(data.totals.get(("W_DEP", TOTAL, "women"), 0)),
        "w_ethnic": N(data.totals.get(("W_DEP", TOTAL, "ethnic"), 0)),
        "w_lead_total": N(lead_total) if lead_total is not None else "-",
        "w_lead_diff": _pct(abs(w_total - lead_total), lead_total)
        if lead_total else "-",
        "worker_rows": worker_rows(data),
        "worker_other": scalar_rows(data, "workers"),
        "targets": target_rows(data),
        "has_targets": bool(prog.targets),
        "growth_text": (f"Mục tiêu tăng {N(prog.growth.min_pct)}–{N(prog.growth.max_pct)}% "
                        "mỗi năm") if prog.growth else "",
        "fund_rows": fund_rows(data),
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
        "target_note": "* Mục tiêu 6 tháng bằng 1/2 mục tiêu năm, chỉ có tính chất tham khảo."
        if period.kind == "H" and prog.targets else "",
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


def _lead_total(data: ReportData) -> float | None:
    lead = data.prog.lead_unit(data.period.deadline).code
    vals = [r["value"] for r in data.by_unit if r["unit_code"] == lead
            and r["indicator"] == "W_DEP" and r["row_key"] == TOTAL and r["col_key"] == "total"]
    return vals[0] if vals else None
