"""Forms saved by LibreOffice Calc read exactly as the clerk typed them.

A small corpus is built here: blank forms filled with openpyxl (plausible figures; edge
values: three-decimal money, tiny and large amounts, numbers typed as Vietnamese text, blank
cells, long multi-line task reports, the sign-off block), then re-saved by Debian's
LibreOffice (``soffice --convert-to xlsx:"Calc MS Excel 2007 XML"``, its own profile), as a
clerk's Calc would write them. Each re-saved file must be accepted with the same values,
task reports and texts as the openpyxl original.
"""

from __future__ import annotations

import subprocess
import tempfile
from io import BytesIO
from pathlib import Path

from _print import need_libreoffice
from openpyxl import load_workbook

from baocao.demo import demo_values, fill_form
from baocao.forms import TASK_STATUSES, build_form, signoff_cells, workbook_layouts
from baocao.parsing import parse_submission
from baocao.programme import TOTAL, load_programme
from baocao.validation import Validator


def _lo_resave(files: list[Path], out_dir: Path) -> list[Path]:
    """Re-save ``files`` as LibreOffice Calc writes .xlsx (one run, a fresh profile)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        result = subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir),
             *map(str, files)], capture_output=True, text=True, timeout=300, check=False)
    saved = [out_dir / f.name for f in files]
    missing = [p for p in saved if not p.exists()]
    assert result.returncode == 0 and not missing, (result.stderr, missing)
    return saved


def _edge_form(prog, unit, period) -> bytes:
    """A form filled the way clerks fill it: odd but valid values, text, blanks, sign-off."""
    values = demo_values(prog, unit, period)
    money = sorted(k for k in values if k[0] == "F_FUNDS")
    if money:  # funds rows stay consistent with the rules (disbursed <= cumulative ...)
        src = money[0][1]
        values |= {("F_FUNDS", src, "plan"): 1234.567, ("F_FUNDS", src, "cumulative"): 0.003,
                   ("F_FUNDS", src, "disbursed"): 0.001, ("F_FUNDS", src, "beneficiaries"): 1,
                   ("F_FUNDS", src, "outstanding"): 0.002, ("F_FUNDS", src, "overdue"): 0}
        values[("F_FUNDS", money[-1][1], "plan")] = "1.234,5"  # typed as Vietnamese text
        values[("F_FUNDS", money[-1][1], "outstanding")] = 987654321.125
    for key in [k for k in values if k[0] == "E_PASSPORTS"]:
        values[key] = "2.345"
    for key in [k for k in values if k[0] == "C_JOB_FAIRS"]:
        del values[key]  # left blank: read as 0
    wb = load_workbook(BytesIO(fill_form(prog, unit, period, values=values)))
    layouts = workbook_layouts(prog, unit)
    for lay in layouts:
        ws = wb[lay.name]
        for n, t in enumerate(lay.tasks):
            ws[t.status_cell] = list(TASK_STATUSES.values())[n % 3]
            ws[t.description_cell] = (f"Đã tổ chức {n + 3} hội nghị tại các thôn, bản;\n"
                                      "phối hợp với doanh nghiệp tư vấn cho 120 lượt người "
                                      "(trong đó 45 lao động nữ)." if n % 3 != 2 else None)
    last = wb[layouts[-1].name]
    for key, value in zip(("preparer", "phone", "email"),
                          ("Nguyễn Thị Hoà", "0912 345 678", "vanthu@xa.example.vn"),
                          strict=True):
        last[signoff_cells(layouts[-1])[key]] = value
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _read(prog, unit, data: bytes):
    parsed = parse_submission(data, prog, unit.code)
    Validator(prog).validate(parsed, prog.unit_sheets(unit))
    values = {(v.sheet, v.cell, v.indicator, v.row, v.col): v.value for v in parsed.values}
    tasks = [(t.code, t.status, t.description, t.status_cell) for t in parsed.tasks]
    return parsed, values, tasks


def _corpus(tmp_path: Path) -> list[tuple[object, object, str, Path]]:
    out = []
    for code, period_code, pick in (("lang-son", "2026-H1", ("commune", "SNV", "STC")),
                                    ("ha-tinh", "2026-Y", ("commune",))):
        prog = load_programme(code)
        period = prog.period(period_code)
        units = prog.expected_units(period)
        for key in pick:
            unit = next(u for u in units if u.kind == key or u.code == key)
            for kind, data in (("demo", fill_form(prog, unit, period)),
                               ("edge", _edge_form(prog, unit, period)),
                               ("blank", build_form(prog, unit, period))):
                path = tmp_path / "filled" / f"{code}-{unit.code}-{kind}.xlsx"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                out.append((prog, unit, kind, path))
    return out


def test_forms_saved_by_libreoffice_read_the_same(tmp_path):
    need_libreoffice()
    corpus = _corpus(tmp_path)
    saved = _lo_resave([c[3] for c in corpus], tmp_path / "libreoffice")
    assert len(saved) == len(corpus) == 12
    for (prog, unit, kind, original), resaved in zip(corpus, saved, strict=True):
        assert resaved.read_bytes() != original.read_bytes()  # really rewritten by Calc
        a, values_a, tasks_a = _read(prog, unit, original.read_bytes())
        b, values_b, tasks_b = _read(prog, unit, resaved.read_bytes())
        name = f"{resaved.name}"
        assert [(p.cell, p.message) for p in b.problems] == \
            [(p.cell, p.message) for p in a.problems], name
        if kind != "blank":  # a blank form only lacks task statuses
            assert not b.errors, (name, [(p.sheet, p.cell, p.message) for p in b.errors])
        assert values_b == values_a, name
        assert tasks_b == tasks_a and b.narratives == a.narratives, name
        assert (b.unit, b.period, b.form_version) == (a.unit, a.period, a.form_version)
        if kind == "edge" and any(k[2] == "F_FUNDS" for k in values_a):
            got = {k[2:]: v for k, v in values_b.items()}
            money = {k: v for k, v in got.items() if k[0] == "F_FUNDS" and k[1] != TOTAL}
            assert 1234.567 in money.values() and 0.001 in money.values()
            assert 1234.5 in money.values() and 987654321.125 in money.values()
        if kind == "edge" and any(k[2] == "E_PASSPORTS" for k in values_a):
            assert {v for k, v in values_b.items() if k[2] == "E_PASSPORTS"} == {2345.0}
