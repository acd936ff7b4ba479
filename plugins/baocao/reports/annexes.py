"""Rows of the report's appendices (Phụ lục): what each unit sent, said and did.

The body synthesises; the appendices keep the per-unit detail as tables, in the .docx and
(``unit_detail_rows``) in the .xlsx annex workbook.
"""

from __future__ import annotations

from typing import Any

from baocao.programme import TOTAL
from baocao.reports.context import (
    N,
    ReportData,
    lead_total,
    official_source,
    percent,
)
from baocao.statuses import task_label
from baocao.timezone import to_local
from baocao.vn_numbers import format_vn_money

NARRATIVE_KEYS = ("difficulties", "recommendations", "next_plan")
TASK_CHARS = 110  # a task's wording is cut to this length in the appendix (.xlsx: in full)


def status_rows(data: ReportData) -> list[dict[str, str]]:
    """Phụ lục I: every expected unit, its status, when, which accepted version, and what
    the status alone does not say (a later correction, files refused before)."""
    out = []
    for i, s in enumerate(data.statuses, 1):
        out.append({"no": str(i), "unit": s.unit.name, "status": s.label,
                    "received": f"{to_local(s.received_at):%d/%m/%Y %H:%M}"
                    if s.received_at else "-",
                    "version": str(s.version) if s.version else "-",
                    "note": s.note or ""})
    return out


def short_task(text: str, limit: int = TASK_CHARS) -> str:
    """A task's wording, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def unit_detail_rows(data: ReportData) -> list[dict[str, Any]]:
    """Every task result of every unit that reported, in programme order: unit, task group,
    task, status, what was done (the .docx Phụ lục and the .xlsx sheet read this)."""
    order = {u.code: n for n, u in enumerate(data.prog.units)}
    names = {u.code: u.name for u in data.prog.units}
    rows = sorted(data.tasks, key=lambda t: (order.get(t["unit_code"], 1 << 30),
                                             t["task_code"]))
    return [{"unit": names.get(t["unit_code"], t["unit_code"]), "unit_code": t["unit_code"],
             "group": t["task_group"] or "", "task": short_task(t["task_text"] or ""),
             "task_full": t["task_text"] or "",
             "status": task_label(t["status"]),
             "result": (t["description"] or "").strip() or "-", "cell": t["cell"]}
            for t in rows]


def task_rows(data: ReportData) -> list[dict[str, str]]:
    """Phụ lục (task results) as table rows: the unit's name only on its first row."""
    out, last = [], None
    n = 0
    for r in unit_detail_rows(data):
        first = r["unit_code"] != last
        if first:
            n += 1
        out.append({"no": str(n) if first else "", "unit": r["unit"] if first else "",
                    "task": (f"Nhóm {r['group']}: " if r["group"] else "") + r["task"],
                    "status": r["status"], "result": r["result"]})
        last = r["unit_code"]
    return out


def text_rows(data: ReportData) -> list[dict[str, str]]:
    """Phụ lục (texts): each unit that wrote something, its difficulties, recommendations
    and plans as written."""
    order = {u.code: n for n, u in enumerate(data.prog.units)}
    names = {u.code: u.name for u in data.prog.units}
    by_unit: dict[str, dict[str, str]] = {}
    for n in data.narratives:
        text = (n["text"] or "").strip()
        if text:
            by_unit.setdefault(n["unit_code"], {})[n["key"]] = text
    out = []
    for i, code in enumerate(sorted(by_unit, key=lambda c: order.get(c, 1 << 30)), 1):
        texts = by_unit[code]
        out.append({"no": str(i), "unit": names.get(code, code),
                    **{k: texts.get(k, "-") for k in NARRATIVE_KEYS}})
    return out


def warning_rows(data: ReportData) -> list[dict[str, str]]:
    names = {u.code: u.name for u in data.prog.units}
    return [{"no": str(i), "unit": names.get(w["unit_code"], w["unit_code"]),
             "where": f"{w['sheet']} {w['cell']}".strip(), "message": w["message"]}
            for i, w in enumerate(data.warnings, 1)]


def reconciliation_rows(data: ReportData) -> list[dict[str, str]]:
    """Phụ lục III: each headline figure from its official source beside the other source
    that reports it, and the gap (the body gives only the official one)."""
    prog, period = data.prog, data.period
    out = []
    lead = prog.find_lead(period.deadline)
    official = data.total(["W_DEP.TOTAL.total"])
    register = lead_total(data)
    ind = prog.indicator("W_DEP")
    if register is not None:
        other = f"Báo cáo của {lead.name}" if ind.primary != "lead" and lead else \
            "Tổng hợp từ báo cáo của các địa phương"
        other_value = register if ind.primary != "lead" else _local_sum(data, "W_DEP",
                                                                          TOTAL, "total")
        out.append(_row("Tổng số lao động đi làm việc ở nước ngoài (người)",
                        official_source(prog, "W_DEP", period.deadline), official, other,
                        other_value, N))
    fund = prog.indicator("F_FUNDS")
    if fund.primary == "units":
        for col, label in (("disbursed", "Giải ngân trong kỳ (triệu đồng)"),
                           ("beneficiaries", "Số người được vay, hỗ trợ (người)")):
            local = _local_sum(data, "F_FUNDS", TOTAL, col)
            if local is None:
                continue
            fmt = N if col == "beneficiaries" else format_vn_money
            out.append(_row(f"Nguồn vốn: {label}", official_source(prog, "F_FUNDS",
                                                                     period.deadline),
                            data.headline_totals.get(("F_FUNDS", TOTAL, col), 0.0),
                            "Tổng hợp từ báo cáo của các địa phương", local, fmt))
    return out


def _local_sum(data: ReportData, ind: str, row: str, col: str) -> float | None:
    vals = [r["value"] for r in data.by_unit if r["indicator"] == ind and r["row_key"] == row
            and r["col_key"] == col and r["unit_kind"] in ("district", "commune")]
    return round(sum(vals), 3) if vals else None


def _row(name: str, source: str, value: float, other: str, other_value: float,
         fmt) -> dict[str, str]:
    gap = other_value - value
    return {"name": name, "source": source[0].upper() + source[1:], "value": fmt(value),
            "other": other, "other_value": fmt(other_value),
            "gap": ("+" if gap > 0 else "") + fmt(gap) if gap else "0",
            "gap_pct": percent(abs(gap), value) if value else "-"}
