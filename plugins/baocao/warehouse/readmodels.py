"""Read models for reports and the status page, on the SQL of ``include/sql/``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, text

from baocao.periods import Period
from baocao.programme import Indicator, Programme, Unit
from baocao.statuses import SubmissionStatus
from baocao.timezone import to_local

Key = tuple[str, str, str]


@lru_cache(maxsize=64)
def _sql(name: str) -> str:
    from baocao.config import settings

    return (Path(settings().sql_dir) / f"{name}.sql").read_text(encoding="utf-8")


def query(engine: Engine, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run ``include/sql/<name>.sql`` with bound parameters; rows as dicts.

    A list or tuple parameter is bound as an expanding ``IN :name`` list.
    """
    params.setdefault("true", True)
    stmt = text(_sql(name))
    lists = [k for k, v in params.items() if isinstance(v, list | tuple)]
    if lists:
        stmt = stmt.bindparams(*(bindparam(k, expanding=True) for k in lists))
    with engine.connect() as conn:
        result = conn.execute(stmt, params)
        keys = list(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result]


def is_primary(prog: Programme, ind: Indicator, unit_code: str, unit_kind: str,
               lead_code: str) -> bool:
    """Whether a unit's figure counts in the provincial total (one source per indicator)."""
    if ind.primary == "all":
        return True
    if ind.primary == "local":
        return unit_kind in ("district", "commune")
    if ind.primary == "lead":
        return unit_code == lead_code
    return unit_code in ind.primary_units


def provincial_totals(engine: Engine, prog: Programme, period: Period,
                      rows: list[dict[str, Any]] | None = None) -> dict[Key, float]:
    """Provincial totals by (indicator, row member, column member), primary sources only;
    ``rows`` may hold the period's ``current_values`` already read."""
    lead_unit = prog.find_lead(period.deadline)
    lead = lead_unit.code if lead_unit else ""
    totals: dict[Key, float] = defaultdict(float)
    if rows is None:
        rows = query(engine, "current_values", programme=prog.code, period=period.code)
    inds: dict[str, Indicator] = {}
    for r in rows:
        ind = inds.get(r["indicator"]) or inds.setdefault(r["indicator"],
                                                          prog.indicator(r["indicator"]))
        if is_primary(prog, ind, r["unit_code"], r["unit_kind"], lead):
            totals[(r["indicator"], r["row_key"], r["col_key"])] += r["value"]
    return {k: round(v, 3) for k, v in totals.items()}


def values_by_unit(engine: Engine, prog: Programme, period: Period) -> list[dict[str, Any]]:
    return query(engine, "current_values", programme=prog.code, period=period.code)


def total_of(totals: dict[Key, float], refs: list[str]) -> float:
    """Sum of ``refs`` (``IND``, ``IND.row``, ``IND.row.col``; ``*`` is a wildcard)."""
    out = 0.0
    for ref in refs:
        parts = ref.split(".")
        for key, value in totals.items():
            if key[0] == parts[0] and all(w == "*" or w == g
                                          for w, g in zip(parts[1:], key[1:], strict=False)):
                out += value
    return round(out, 3)


@dataclass
class UnitStatus:
    """One expected unit's standing for a period.

    ``received_at`` is when the report that decides the status arrived: for a unit whose
    accepted report arrived by the deadline, that report, even when a correction came later
    (``corrected_at``, ``correction_late``). ``version`` counts the unit's accepted versions
    (a returned one included); ``refused_before`` counts the files rejected before it.
    """

    unit: Unit
    status: str  # on_time | late | missing | returned | rejected
    received_at: datetime | None
    version: int | None
    submission_id: int | None
    receipt_path: str
    files: int
    refused_before: int = 0
    corrected_at: datetime | None = None
    correction_late: bool = False

    @property
    def label(self) -> str:
        """The Vietnamese status as the status page shows it ('Nộp muộn (ngày 23/06/2026)')."""
        return SubmissionStatus(self.status).label_on(self.received_at)

    @property
    def note(self) -> str:
        """What the status alone does not say: a later correction, files refused before."""
        parts = []
        if self.corrected_at:
            when = f"{to_local(self.corrected_at):%d/%m/%Y}"
            parts.append(f"bổ sung, thay thế ngày {when}"
                         + (" (sau hạn)" if self.correction_late else ""))
        if self.refused_before:
            parts.append(f"{self.refused_before} tệp bị từ chối"
                         + (" trước đó" if self.version else ""))
        return "; ".join(parts)


def _status_of(subs: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None,
                                                     dict[str, Any] | None]:
    """(status, the submission that decides it, the current one) of one unit's files,
    newest first. A unit whose accepted report arrived by the deadline stays on time when
    it later sends a correction, even after the deadline; a returned report does not count."""
    current = next((s for s in subs if s["is_current"]), None)
    if current is None:
        if not subs:
            return "missing", None, None
        returned = any(s["status"] == "returned" for s in subs)
        return ("returned" if returned else "rejected"), subs[0], None
    if not current["late"]:
        return "on_time", current, current
    in_time = [s for s in subs if s["status"] == "accepted" and not s["late"]]
    if in_time:
        return "on_time", in_time[0], current  # what was current at the deadline decides
    return "late", current, current


def unit_statuses(engine: Engine, prog: Programme, period: Period) -> list[UnitStatus]:
    """Every expected unit with its status for the period (the regime's own measure)."""
    rows = query(engine, "submission_status", programme=prog.code, period=period.code)
    by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_unit[r["unit_code"]].append(r)
    out = []
    for unit in prog.expected_units(period):
        subs = by_unit.get(unit.code, [])
        status, chosen, current = _status_of(subs)
        shown = current or chosen
        corrected = current if current is not None and chosen is not current else None
        refused = 0
        if shown is not None:
            refused = sum(s["status"] == "rejected" and (s["received_at"], s["id"])
                          < (shown["received_at"], shown["id"]) for s in subs) \
                if current is not None else sum(s["status"] == "rejected" for s in subs)
        out.append(UnitStatus(
            unit=unit, status=status,
            received_at=to_local(chosen["received_at"]) if chosen else None,
            version=shown["version"] if shown else None,
            submission_id=shown["id"] if shown else None,
            receipt_path=shown["receipt_path"] if shown else "", files=len(subs),
            refused_before=refused,
            corrected_at=to_local(corrected["received_at"]) if corrected else None,
            correction_late=bool(corrected["late"]) if corrected else False))
    return out


def completeness(statuses: list[UnitStatus]) -> dict[str, float | int]:
    """Expected, received (on time + late), on time, late, missing and the two ratios."""
    expected = len(statuses)
    on_time = sum(s.status == "on_time" for s in statuses)
    late = sum(s.status == "late" for s in statuses)
    received = on_time + late
    return {"expected": expected, "received": received, "on_time": on_time, "late": late,
            "missing": expected - received,
            "completeness": half_up_pct(received, expected),
            "timeliness": half_up_pct(on_time, expected)}


def half_up_pct(part: float, whole: float, decimals: int = 1) -> float:
    """100 × part / whole rounded half up (77/80 → 96.3, not the float's 96.2); 0 for 0/0."""
    if not whole:
        return 0.0
    exact = Decimal(repr(float(part))) * 100 / Decimal(repr(float(whole)))
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def latest_submissions(engine: Engine, prog: Programme,
                       period: Period) -> dict[str, dict[str, Any]]:
    """Each unit's most recently received file for the period (any outcome), by unit code."""
    latest: dict[str, dict[str, Any]] = {}
    for r in query(engine, "submission_status", programme=prog.code, period=period.code):
        latest.setdefault(r["unit_code"], {**r, "received_at": to_local(r["received_at"])})
    return latest


def receipt_of(engine: Engine, submission_id: int) -> str | None:
    """The bucket path of one submission's receipt (None if unknown or never written)."""
    with engine.connect() as conn:
        path = conn.execute(text("SELECT receipt_path FROM submissions WHERE id = :id"),
                            {"id": submission_id}).scalar()
    return path or None
