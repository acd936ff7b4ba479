"""Read models for reports and the status page, on the SQL of ``include/sql/``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, text

from baocao.periods import Period
from baocao.programme import Indicator, Programme, Unit
from baocao.timezone import VN_TZ

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
        return [dict(r._mapping) for r in conn.execute(stmt, params)]


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


def provincial_totals(engine: Engine, prog: Programme, period: Period) -> dict[Key, float]:
    """Provincial totals by (indicator, row member, column member), primary sources only."""
    lead_unit = prog.find_lead(period.deadline)
    lead = lead_unit.code if lead_unit else ""
    totals: dict[Key, float] = defaultdict(float)
    for r in query(engine, "current_values", programme=prog.code, period=period.code):
        ind = prog.indicator(r["indicator"])
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
    unit: Unit
    status: str  # on_time | late | missing | returned | rejected
    received_at: datetime | None
    version: int | None
    submission_id: int | None
    receipt_path: str
    files: int

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


STATUS_LABELS = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa báo cáo",
                 "returned": "Bị trả lại, chưa gửi lại", "rejected": "Bị từ chối, chưa gửi lại"}


def unit_statuses(engine: Engine, prog: Programme, period: Period) -> list[UnitStatus]:
    """Every expected unit with its status for the period (the regime's own measure)."""
    rows = query(engine, "submission_status", programme=prog.code, period=period.code)
    by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_unit[r["unit_code"]].append(r)
    out = []
    for unit in prog.expected_units(period):
        subs = by_unit.get(unit.code, [])
        current = next((s for s in subs if s["is_current"]), None)
        latest = subs[0] if subs else None
        if current:
            status = "late" if current["late"] else "on_time"
            chosen = current
        elif latest is None:
            status, chosen = "missing", None
        else:
            status, chosen = ("returned" if any(s["status"] == "returned" for s in subs)
                              else "rejected"), latest
        out.append(UnitStatus(
            unit=unit, status=status,
            received_at=_aware(chosen["received_at"]) if chosen else None,
            version=chosen["version"] if chosen else None,
            submission_id=chosen["id"] if chosen else None,
            receipt_path=chosen["receipt_path"] if chosen else "", files=len(subs)))
    return out


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(VN_TZ)


def completeness(statuses: list[UnitStatus]) -> dict[str, float | int]:
    """Expected, received (on time + late), on time, late, missing and the two ratios."""
    expected = len(statuses)
    on_time = sum(s.status == "on_time" for s in statuses)
    late = sum(s.status == "late" for s in statuses)
    received = on_time + late
    return {"expected": expected, "received": received, "on_time": on_time, "late": late,
            "missing": expected - received,
            "completeness": round(100 * received / expected, 1) if expected else 0.0,
            "timeliness": round(100 * on_time / expected, 1) if expected else 0.0}


def latest_submissions(engine: Engine, prog: Programme,
                       period: Period) -> dict[str, dict[str, Any]]:
    """Each unit's most recently received file for the period (any outcome), by unit code."""
    latest: dict[str, dict[str, Any]] = {}
    for r in query(engine, "submission_status", programme=prog.code, period=period.code):
        latest.setdefault(r["unit_code"], {**r, "received_at": _aware(r["received_at"])})
    return latest


def receipt_of(engine: Engine, submission_id: int) -> str | None:
    """The bucket path of one submission's receipt (None if unknown or never written)."""
    with engine.connect() as conn:
        path = conn.execute(text("SELECT receipt_path FROM submissions WHERE id = :id"),
                            {"id": submission_id}).scalar()
    return path or None
