"""Synthetic national-scale period for the benchmarks: 34 provinces × ~120 units ≈ 4,000
workbooks, generated from the programme's own templates.

A national period is modelled as one programme with 4,080 commune-level units (codes
``X-B0001``…). ``BASES`` distinct filled forms are produced with openpyxl (values from
``baocao.demo``); every other unit's file is a copy of one of them with the unit code
patched in the shared strings, so files differ in content and checksum but cost no openpyxl.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from baocao.demo import fill_form
from baocao.programme import Programme, Unit, load_programme

PROVINCES, UNITS_PER_PROVINCE, BASES = 34, 120, 40
PERIOD = "2026-H1"


def national_programme(n_units: int = PROVINCES * UNITS_PER_PROVINCE) -> Programme:
    """Lạng Sơn's forms and rules with ``n_units`` synthetic communes (plus its departments)."""
    prog = load_programme("lang-son")
    departments = [u for u in prog.units if u.kind in ("department", "organisation")]
    units = [Unit(code=f"X-B{i:04d}", name=f"UBND xã Thử Nghiệm {i:04d}", kind="commune",
                  valid_from=date(2025, 7, 1)) for i in range(1, n_units + 1)]
    return prog.model_copy(update={"units": departments + units})


def _patch(data: bytes, old: str, new: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith(".xml"):
                body = body.replace(old.encode(), new.encode())
            dst.writestr(info, body)
    return out.getvalue()


def national_files(prog: Programme) -> list[tuple[str, bytes]]:
    """(unit code, workbook bytes) for every synthetic commune of ``prog``."""
    period = prog.period(PERIOD)
    communes = [u for u in prog.expected_units(period) if u.kind == "commune"]
    bases = {}
    for unit in communes[:BASES]:
        bases[unit.code] = fill_form(prog, unit, period)
    out = []
    for i, unit in enumerate(communes):
        base_unit = communes[i % BASES]
        data = bases[base_unit.code]
        if base_unit.code != unit.code:
            data = _patch(data, base_unit.code, unit.code)
            data = _patch(data, base_unit.name, unit.name)
        out.append((unit.code, data))
    return out
