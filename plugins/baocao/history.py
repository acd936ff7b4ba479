"""Checks that need the warehouse's history (docs/domain.md §5, warnings)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from baocao.parsing import ParsedSubmission, Problem
from baocao.periods import Period
from baocao.programme import TOTAL, Programme
from baocao.vn_numbers import format_vn_money, format_vn_number, format_vn_percent
from baocao.warehouse import readmodels as rm
from baocao.warehouse.models import FactValue, Submission

RATIO = 3.0
FLOOR = 10.0
GAP_PCT = 10.0
EPS = 1e-6  # values carry at most 3 decimals: 3 × 10,1 is 30,3, not 30,299999999999997


def _previous_values(engine: Engine, prog: Programme, parsed: ParsedSubmission, period: str
                     ) -> dict[tuple[str, str, str], float]:
    """The current values of the same unit (code and validity: NSO codes are reused by
    other units across eras) for ``period``."""
    query = (select(FactValue.indicator, FactValue.row_key, FactValue.col_key, FactValue.value)
             .join(Submission, Submission.id == FactValue.submission_id)
             .where(Submission.programme == prog.code, Submission.period == period,
                    Submission.unit_code == parsed.unit,
                    Submission.unit_valid_from == parsed.unit_valid_from,
                    Submission.is_current.is_(True)))
    with engine.connect() as conn:
        return {(r.indicator, r.row_key, r.col_key): r.value for r in conn.execute(query)}


def year_on_year_warnings(engine: Engine, prog: Programme, parsed: ParsedSubmission
                          ) -> list[Problem]:
    """A value above 3× or below 1/3 of the same unit's value a year earlier (both ≥ 10)."""
    if not parsed.readable or parsed.errors:
        return []
    previous = prog.period(parsed.period).previous_year()
    if int(previous[:4]) < prog.first_year:
        return []
    return _changes(parsed, _previous_values(engine, prog, parsed, previous))


def year_on_year_many(engine: Engine, prog: Programme, subs: list[ParsedSubmission]
                      ) -> list[list[Problem]]:
    """``year_on_year_warnings`` of many submissions, with one query per previous period
    (the intake's chunks)."""
    wanted: dict[str, list[int]] = {}
    for i, parsed in enumerate(subs):
        if not parsed.readable or parsed.errors:
            continue
        previous = prog.period(parsed.period).previous_year()
        if int(previous[:4]) >= prog.first_year:
            wanted.setdefault(previous, []).append(i)
    out: list[list[Problem]] = [[] for _ in subs]
    for previous, members in wanted.items():
        units = sorted({subs[i].unit for i in members})
        before: dict[tuple, dict[tuple[str, str, str], float]] = {}
        with engine.connect() as conn:
            for start in range(0, len(units), 400):
                query = (select(Submission.unit_code, Submission.unit_valid_from,
                                FactValue.indicator, FactValue.row_key, FactValue.col_key,
                                FactValue.value)
                         .join(Submission, Submission.id == FactValue.submission_id)
                         .where(Submission.programme == prog.code,
                                Submission.period == previous,
                                Submission.unit_code.in_(units[start:start + 400]),
                                Submission.is_current.is_(True)))
                for r in conn.execute(query):
                    before.setdefault((r.unit_code, r.unit_valid_from), {})[
                        (r.indicator, r.row_key, r.col_key)] = r.value
        for i in members:
            found = before.get((subs[i].unit, subs[i].unit_valid_from))
            if found:
                out[i] = _changes(subs[i], found)
    return out


def _changes(parsed: ParsedSubmission, before: dict[tuple[str, str, str], float]
             ) -> list[Problem]:
    out = []
    for v in parsed.values:
        old = before.get((v.indicator, v.row, v.col))
        if old is None or old < FLOOR or v.value < FLOOR:
            continue
        if v.value - RATIO * old > EPS or old - RATIO * v.value > EPS:
            out.append(Problem(
                message=f"Số liệu thay đổi bất thường so với cùng kỳ năm trước "
                        f"({format_vn_money(old)} → {format_vn_money(v.value)}); đề nghị "
                        "kiểm tra lại",
                sheet=v.sheet, cell=v.cell, value=format_vn_money(v.value),
                rule="H-YEAR-ON-YEAR", severity="warning"))
    return out


def lead_local_gap(engine: Engine, prog: Programme, period: Period) -> dict | None:
    """The lead department's provincial workers total against the sum of local units;
    a warning dict when they are more than 10% apart (None when within or not reported).

    The gap is measured against the indicator's primary source (the figure the report
    publishes): the local units' sum unless ``W_DEP`` is declared ``primary: lead``.
    """
    lead_unit = prog.find_lead(period.deadline)
    if lead_unit is None:
        return None
    lead = lead_unit.code
    lead_total, local_total, locals_seen, where = None, 0.0, 0, ("", "")
    for r in rm.values_by_unit(engine, prog, period):
        if (r["indicator"], r["row_key"], r["col_key"]) != ("W_DEP", TOTAL, "total"):
            continue
        if r["unit_code"] == lead:
            lead_total, where = r["value"], (r["sheet"], r["cell"])
        elif r["unit_kind"] in ("district", "commune"):
            local_total += r["value"]
            locals_seen += 1
    if lead_total is None or not locals_seen:
        return None
    base = lead_total if prog.indicator("W_DEP").primary == "lead" else local_total
    diff = abs(lead_total - local_total)
    if diff * 100 - GAP_PCT * base <= EPS:
        return None
    gap = diff / base * 100 if base else 100.0
    return {"unit_code": lead, "rule": "H-LEAD-VS-LOCAL", "sheet": where[0], "cell": where[1],
            "value": format_vn_number(lead_total),
            "message": f"Tổng số lao động đi làm việc ở nước ngoài của cơ quan thường trực "
                       f"({format_vn_number(lead_total)}) chênh lệch "
                       f"{format_vn_percent(gap)} so với tổng của {locals_seen} địa phương "
                       f"({format_vn_number(local_total)})"}
