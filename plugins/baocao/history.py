"""Checks that need the warehouse's history (DOMAIN.md section 6, warnings)."""

from __future__ import annotations

from sqlalchemy import Engine

from baocao.parsing import ParsedSubmission, Problem
from baocao.periods import Period
from baocao.programme import TOTAL, Programme
from baocao.vn_numbers import format_vn_number, format_vn_percent
from baocao.warehouse import readmodels as rm

RATIO = 3.0
FLOOR = 10.0
GAP_PCT = 10.0


def year_on_year_warnings(engine: Engine, prog: Programme, parsed: ParsedSubmission
                          ) -> list[Problem]:
    """A value above 3× or below 1/3 of the same unit's value a year earlier (both ≥ 10)."""
    if not parsed.readable or parsed.errors:
        return []
    previous = prog.period(parsed.period).previous_year()
    if int(previous[:4]) < prog.first_year:
        return []
    before = {(r["indicator"], r["row_key"], r["col_key"]): r["value"]
              for r in rm.query(engine, "unit_values", programme=prog.code, period=previous,
                                unit=parsed.unit)}
    out = []
    for v in parsed.values:
        old = before.get((v.indicator, v.row, v.col))
        if old is None or old < FLOOR or v.value < FLOOR:
            continue
        if v.value > RATIO * old or v.value < old / RATIO:
            out.append(Problem(
                message=f"Số liệu thay đổi bất thường so với cùng kỳ năm trước "
                        f"({format_vn_number(old, 3).rstrip('0').rstrip(',')} → "
                        f"{format_vn_number(v.value, 3).rstrip('0').rstrip(',')}); đề nghị "
                        "kiểm tra lại",
                sheet=v.sheet, cell=v.cell,
                value=format_vn_number(v.value, 3).rstrip("0").rstrip(","),
                rule="H-YEAR-ON-YEAR", severity="warning"))
    return out


def lead_local_gap(engine: Engine, prog: Programme, period: Period) -> dict | None:
    """The lead department's provincial workers total against the sum of local units;
    a warning dict when they are more than 10% apart (None when within or not reported)."""
    lead = prog.lead_unit(period.deadline).code
    lead_total, local_total, locals_seen = None, 0.0, 0
    for r in rm.values_by_unit(engine, prog, period):
        if (r["indicator"], r["row_key"], r["col_key"]) != ("W_DEP", TOTAL, "total"):
            continue
        if r["unit_code"] == lead:
            lead_total = r["value"]
        elif r["unit_kind"] in ("district", "commune"):
            local_total += r["value"]
            locals_seen += 1
    if lead_total is None or not locals_seen:
        return None
    base = max(lead_total, local_total)
    gap = abs(lead_total - local_total) / base * 100 if base else 0.0
    if gap <= GAP_PCT:
        return None
    return {"unit_code": lead, "rule": "H-LEAD-VS-LOCAL", "sheet": "", "cell": "",
            "value": format_vn_number(lead_total),
            "message": f"Tổng số lao động đi làm việc ở nước ngoài của cơ quan thường trực "
                       f"({format_vn_number(lead_total)}) chênh lệch "
                       f"{format_vn_percent(gap)} so với tổng của {locals_seen} địa phương "
                       f"({format_vn_number(local_total)})"}
