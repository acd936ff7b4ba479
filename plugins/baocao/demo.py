"""Demo submissions: plausible, rule-abiding filled forms, deterministic per unit and period.

Used by ``make run`` and the benchmarks. A few deliberate faults (one file with errors, one
late file, one unit missing) make the demo show every outcome.
"""

from __future__ import annotations

import logging
import os
import random
import time
import zlib
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from baocao import layout
from baocao.bucket import programme_root
from baocao.forms import TASK_STATUSES, build_form, save_stable, sheet_layout, workbook_layouts
from baocao.periods import Period
from baocao.programme import TOTAL, Programme, Unit, load_programme

log = logging.getLogger(__name__)


def _rng(*parts: str) -> random.Random:
    return random.Random(zlib.crc32("|".join(parts).encode()))


def demo_values(prog: Programme, unit: Unit, period: Period) -> dict[tuple[str, str, str], float]:
    """Values for every input cell of the unit's form, consistent with the common rules."""
    rng = _rng(prog.code, unit.code, period.code)
    scale = 1 if prog.is_local(unit) else 3
    out: dict[tuple[str, str, str], float] = {}
    sheets = prog.unit_sheets(unit)
    is_lead = unit.code in prog.lead and not prog.is_local(unit)
    if "workers" in sheets and is_lead:
        out.update(_lead_workers(prog, period, rng))
    elif "workers" in sheets:
        markets = prog.dimension("market").codes
        # per local unit and half-year; cross-border work in Sùng Tả dominates (DOMAIN §7)
        weights = {"CN": 80, "JP": 6, "KR": 2, "TW": 4}
        months = 1 if period.kind == "H" else 2
        totals = {m: rng.randint(0, weights.get(m, 1)) * months for m in markets}
        for m, t in totals.items():
            out[("W_DEP", m, "total")] = t
            out[("W_DEP", m, "women")] = rng.randint(0, t // 2)
            out[("W_DEP", m, "ethnic")] = rng.randint(0, t)
            out[("W_DEP", m, "demob")] = rng.randint(0, t // 10)
            poor = rng.randint(0, t // 4)
            out[("W_DEP", m, "poor")] = poor
            out[("W_DEP", m, "near_poor")] = rng.randint(0, t // 4)
        grand = sum(totals.values())
        channels = prog.dimension("channel").codes
        left = grand
        for c in channels[:-1]:
            share = rng.randint(0, left)
            out[("W_CHANNEL", c, "")] = share
            left -= share
        out[("W_CHANNEL", channels[-1], "")] = left
        out[("W_COUNSELLED", "", "")] = grand * 3 + rng.randint(0, 20)
        out[("W_TRAINED", "", "")] = grand + rng.randint(0, 10)
        returned = rng.randint(0, max(grand // 2, 1))
        out[("W_RETURNED", "", "")] = returned
        out[("W_RETURNED_EMPLOYED", "", "")] = rng.randint(0, returned)
        out[("W_OVERSTAY", "", "")] = rng.randint(0, 2)
    if "funds" in sheets:
        for s in prog.dimension("source").codes:
            plan = round(rng.uniform(0, 2000) * scale, 3)
            cumulative = round(rng.uniform(0, plan), 3)
            disbursed = round(rng.uniform(0, cumulative), 3)
            outstanding = round(rng.uniform(cumulative / 2, cumulative + 1), 3)
            out[("F_FUNDS", s, "plan")] = plan
            out[("F_FUNDS", s, "disbursed")] = disbursed
            out[("F_FUNDS", s, "cumulative")] = cumulative
            out[("F_FUNDS", s, "beneficiaries")] = rng.randint(1, 40) if disbursed > 0 else 0
            out[("F_FUNDS", s, "outstanding")] = outstanding
            out[("F_FUNDS", s, "overdue")] = round(rng.uniform(0, outstanding / 20), 3)
    for sheet in ("communication", "enforcement"):
        if sheet in sheets:
            for ind in prog.sheet_indicators(sheet):
                for row, col in prog.cells(ind, with_total=False):
                    out[(ind.code, row, col)] = rng.randint(0, 30)
    if "enforcement" in sheets:
        out[("E_FINES", "", "")] = round(rng.uniform(0, 50), 3) if out[("E_VIOLATIONS", "", "")] \
            else 0
        out[("E_UNFIT", "", "")] = rng.randint(0, int(out[("E_HEALTH_CHECKS", "", "")]))
    return out


def _lead_workers(prog: Programme, period: Period, rng: random.Random
                  ) -> dict[tuple[str, str, str], float]:
    """The lead department's provincial figures: the local units' sum, give or take a few
    (its own registers never match the communes' exactly)."""
    out: dict[tuple[str, str, str], float] = {}
    for unit in prog.expected_units(period):
        if prog.is_local(unit):
            for key, value in demo_values(prog, unit, period).items():
                if key[0].startswith("W_"):
                    out[key] = out.get(key, 0) + value
    for m in prog.dimension("market").codes:
        extra = rng.randint(0, 3)
        out[("W_DEP", m, "total")] += extra
        out[("W_CHANNEL", "enterprise", "")] = out.get(("W_CHANNEL", "enterprise", ""), 0) + extra
    return out


def fill_form(prog: Programme, unit: Unit, period: Period,
              values: dict[tuple[str, str, str], float | str] | None = None,
              overrides: dict[tuple[str, str], object] | None = None) -> bytes:
    """A unit's form filled with ``values`` (demo values by default); ``overrides`` maps
    (sheet code, cell address) to raw cell content, to inject faults."""
    values = demo_values(prog, unit, period) if values is None else values
    rng = _rng("tasks", prog.code, unit.code, period.code)
    wb = load_workbook(BytesIO(build_form(prog, unit, period)))
    layouts = workbook_layouts(prog, unit)
    for lay in layouts:
        ws = wb[lay.name]
        for spec in lay.cells:
            if spec.row == TOTAL:
                continue
            key = (spec.indicator, spec.row, spec.col)
            if key in values:
                ws[spec.address] = values[key]
        for t in lay.tasks:
            status = rng.choice(["done", "done", "in_progress", "not_started"])
            ws[t.status_cell] = TASK_STATUSES[status]
            if status != "not_started":
                ws[t.description_cell] = (f"{unit.name} đã triển khai: tổ chức "
                                          f"{rng.randint(1, 9)} hội nghị, hướng dẫn cơ sở "
                                          "thực hiện theo kế hoạch.")
        for key, addr in lay.narratives.items():
            ws[addr] = {
                "difficulties": f"Nguồn lao động có nhu cầu ở {unit.name.removeprefix('UBND ')} "
                                "còn hạn chế; chi phí ban đầu cao so với thu nhập của người dân.",
                "recommendations": "Đề nghị tăng nguồn vốn vay ưu đãi và hỗ trợ đào tạo "
                                   "ngoại ngữ cho người lao động.",
                "next_plan": "Tiếp tục tuyên truyền, tư vấn và phối hợp với doanh nghiệp "
                             "tuyển chọn lao động.",
            }[key]
        for (sheet, addr), raw in (overrides or {}).items():
            if sheet == lay.sheet:
                ws[addr] = raw
    return save_stable(wb, datetime(period.year, period.deadline.month, 1))


def seed_demo(programme: str, period: str) -> dict[str, Any]:
    """Drop a demo period's filled forms into the inbox, with realistic arrival times.

    Every expected unit but the last reports; one file has errors, one arrives after the
    deadline, one unit sends a corrected second version. Arrival times are set as the files'
    modification times, which a ``file://`` bucket keeps.
    """
    prog = load_programme(programme)
    per = prog.period(period)
    units = prog.expected_units(per)
    locals_ = [u for u in units if prog.is_local(u)]
    bad = locals_[1] if len(locals_) > 1 else units[1]
    late = locals_[2] if len(locals_) > 2 else units[2]
    twice = locals_[3] if len(locals_) > 3 else units[3]
    missing = units[-1]
    root = programme_root(prog.code)
    deadline = datetime.combine(per.deadline, datetime.min.time(), UTC) - timedelta(hours=7)
    dropped = []
    for n, unit in enumerate(units):
        if unit is missing:
            continue
        arrive = deadline - timedelta(days=1 + n % 5, hours=n % 9, minutes=7 * n % 60)
        files: list[tuple[str, bytes, datetime]] = []
        name = f"Báo cáo {per.title} - {unit.name}.xlsx"
        if unit is bad:
            ind_cell = first_cell(prog, unit, "W_DEP", "JP", "women")
            files.append((name, fill_form(prog, unit, per, overrides={
                ("workers", ind_cell): 999999, ("workers", first_cell(
                    prog, unit, "W_COUNSELLED", "", "")): "khoảng 50"}), arrive))
        elif unit is late:
            files.append((name, fill_form(prog, unit, per),
                          deadline + timedelta(days=3, hours=2)))
        elif unit is twice:
            wrong = demo_values(prog, unit, per)[("W_OVERSTAY", "", "")] + 5
            first = fill_form(prog, unit, per, overrides={
                ("workers", first_cell(prog, unit, "W_OVERSTAY", "", "")): wrong})
            files.append((f"Báo cáo {per.title} (lần 1).xlsx", first,
                          arrive - timedelta(days=2)))
            files.append((f"Báo cáo {per.title} (bổ sung).xlsx", fill_form(prog, unit, per),
                          arrive))
        else:
            files.append((name, fill_form(prog, unit, per), arrive))
        for fname, data, when in files:
            path = root / layout.unit_inbox(unit.code) / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if root.protocol == "file":
                os.utime(path.path, (when.timestamp(), when.timestamp()))
            elif len(files) > 1:  # an object store stamps the upload (1 s): keep the order
                time.sleep(1.1)
            dropped.append(str(path))
    log.info("demo: %d files for %d of %d expected units (missing: %s, with errors: %s, "
             "late: %s, resubmitted: %s)", len(dropped), len(units) - 1, len(units),
             missing.code, bad.code, late.code, twice.code)
    return {"files": len(dropped), "missing": missing.code, "bad": bad.code,
            "late": late.code, "resubmitted": twice.code}


def first_cell(prog: Programme, unit: Unit, indicator: str, row: str, col: str) -> str:
    """The address of the input cell of ``indicator`` at (``row``, ``col``) in the unit's form."""
    ind = prog.indicator(indicator)
    for spec in sheet_layout(prog, ind.sheet, unit).cells:
        if (spec.indicator, spec.row, spec.col) == (indicator, row, col):
            return spec.address
    raise KeyError(indicator)
