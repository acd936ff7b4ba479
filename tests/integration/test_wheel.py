"""The package as a wheel: built from the repository, installed (not editable) into a fresh
virtualenv, and run from a folder outside the repository, without Airflow.

Nothing is downloaded: the wheel is built without build isolation by this venv's setuptools
(the ``test`` extra) and installed with ``--no-deps --no-index``; its dependencies come from
this venv's site-packages, appended to the new venv's path by a ``.pth`` file (after the
venv's own site-packages, so the wheel's ``baocao`` and its metadata are found first).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from support import ROOT

from baocao.programme import load_programme_file

PROGRAMME, PERIOD = "lang-son", "2026-H1"

pytestmark = pytest.mark.slow

# Run by the new venv's python in a folder outside the repository. Airflow is made
# unimportable: what a clerk's or an operator's command needs must work without it.
CHECK = r"""
import json, sys
sys.modules["airflow"] = None
from pathlib import Path

import baocao
from baocao import config
from baocao.cli import main
from baocao.programme import load_programme

s = config.settings()
prog = load_programme(sys.argv[1])
unit = prog.expected_units(prog.period(sys.argv[2]))[0]
codes = {}
for args in (["migrate", "--programme", prog.code],
             ["template", "--programme", prog.code, "--unit", unit.code, "--period", sys.argv[2],
              "--out", "form.xlsx"],
             ["status", "--programme", prog.code, "--period", sys.argv[2]],
             ["report", "--programme", prog.code, "--period", sys.argv[2], "--out", "report"]):
    codes[args[0]] = main(args)
print("RESULT " + json.dumps({
    "module": baocao.__file__, "repo": str(config.REPO), "codes": codes,
    "found": str(config.installed_include_dir()),
    "unit": [unit.code, unit.name],
    **{k: str(v) for k, v in s.model_dump().items()},
}, ensure_ascii=False))
"""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """The wheel built from a copy of the sources, installed into a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "include", src / "include", ignore=junk)
    shutil.copytree(ROOT / "plugins" / "baocao", src / "plugins" / "baocao", ignore=junk)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--wheel-dir", str(tmp / "dist"), str(src)])
    (wheel,) = (tmp / "dist").glob("baocao-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                         "['purelib'])"]).stdout.strip())
    (purelib / "zz_project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    work = tmp / "work"
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "work": work}


def test_wheel_carries_the_package_its_migrations_and_include(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    data = "baocao-0.1.0.data/data/share/baocao/include/"
    shipped = {n[len(data):] for n in names if n.startswith(data)}
    in_repo = {str(p.relative_to(ROOT / "include")) for p in (ROOT / "include").rglob("*")
               if p.is_file()}
    assert shipped == in_repo  # a new folder of include/ needs a line in pyproject.toml
    versions = {p.name for p in (ROOT / "plugins/baocao/warehouse/migrations/versions")
                .glob("*.py")}
    assert versions and {f"baocao/warehouse/migrations/versions/{v}" for v in versions} <= names
    assert "baocao/warehouse/migrations/env.py" in names
    assert not any(n.startswith(("tests/", "dags/", "baocao_status_plugin")) for n in names)


def test_installed_package_finds_its_data_and_works_outside_the_repository(installed):
    venv, work = installed["venv"], installed["work"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BAOCAO_", "PYTHON", "VIRTUAL_ENV"))}
    env["GX_ANALYTICS_ENABLED"] = "False"
    done = _run([str(installed["python"]), "-c", CHECK, PROGRAMME, PERIOD], cwd=work, env=env)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["codes"] == {"migrate": 0, "template": 0, "status": 0, "report": 0}, done.stderr

    # the installed copy, not the checkout: no REPO, module and data under the venv
    assert out["repo"] == "None"
    real = venv.resolve()
    assert Path(out["module"]).resolve().is_relative_to(real), out["module"]
    include = Path(out["include_dir"])
    assert include == real / "share" / "baocao" / "include"
    assert out["found"] == str(include)  # from the distribution's RECORD, not a guess
    for key, sub in (("programmes_dir", "programmes"), ("templates_dir", "templates"),
                     ("sql_dir", "sql")):
        assert Path(out[key]) == include / sub
    assert (include / "templates" / "report.docx").read_bytes() == \
        (ROOT / "include" / "templates" / "report.docx").read_bytes()
    # var/ of the current folder for an installed package
    assert out["warehouse_url"] == f"sqlite:///{work.resolve() / 'var' / 'warehouse.sqlite'}"
    assert (work / "var" / "warehouse.sqlite").stat().st_size > 0
    assert out["bucket_url"] == f"file://{work.resolve() / 'var' / 'bucket'}"

    # the migrations ran, the blank form and the (empty) report were rendered
    code, name = out["unit"]
    assert f"{code} " in done.stdout and "chưa báo cáo" in done.stdout
    wb = load_workbook(work / "form.xlsx")
    cells = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if c.value is not None}
    assert any(name in c for c in cells), name
    assert (work / "report" / f"bao-cao-{PROGRAMME}-{PERIOD}.docx").stat().st_size > 10_000
    assert (work / "report" / f"bao-cao-{PROGRAMME}-{PERIOD}.xlsx").stat().st_size > 0


def test_include_dir_setting_moves_every_data_folder(installed, tmp_path):
    """``BAOCAO_INCLUDE_DIR`` wins over the installed copy; a single folder can be moved."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BAOCAO_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(BAOCAO_INCLUDE_DIR=str(tmp_path / "inc"), BAOCAO_SQL_DIR=str(tmp_path / "sql"),
               BAOCAO_TEMPLATES_DIR="")  # empty: the default
    code = ("import json; from baocao.config import settings; s = settings(); "
            "print(json.dumps({k: str(getattr(s, k)) for k in "
            "('programmes_dir', 'templates_dir', 'sql_dir')}))")
    done = _run([str(installed["python"]), "-c", code], cwd=installed["work"], env=env)
    assert json.loads(done.stdout) == {"programmes_dir": str(tmp_path / "inc" / "programmes"),
                                       "templates_dir": str(tmp_path / "inc" / "templates"),
                                       "sql_dir": str(tmp_path / "sql")}


def test_installed_command_checks_a_programme_and_reports_the_demo_period(installed):
    """The console script of the wheel, as an operator runs it outside the repository:
    ``baocao programme check`` on the installed programme file, then the demo period dropped,
    taken in and reported (Airflow importable here: the bucket is an ObjectStoragePath)."""
    venv, work = installed["venv"], installed["work"] / "demo"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BAOCAO_", "PYTHON", "VIRTUAL_ENV", "AIRFLOW"))}
    env.update(GX_ANALYTICS_ENABLED="False", AIRFLOW_HOME=str(work / "airflow"))
    baocao = str(venv / "bin" / "baocao")
    include = venv.resolve() / "share" / "baocao" / "include"
    done = _run([baocao, "programme", "check", str(include / "programmes" / f"{PROGRAMME}.yaml")],
                cwd=work, env=env)
    assert done.stdout.startswith(f"{include / 'programmes' / PROGRAMME}.yaml: OK — {PROGRAMME},")
    for args in (["migrate", "--programme", PROGRAMME],
                 ["demo", "--programme", PROGRAMME, "--period", PERIOD],
                 ["intake", "--programme", PROGRAMME]):
        _run([baocao, *args], cwd=work, env=env)
    status = _run([baocao, "status", "--programme", PROGRAMME, "--period", PERIOD],
                  cwd=work, env=env).stdout.splitlines()
    prog = load_programme_file(include / "programmes" / f"{PROGRAMME}.yaml")
    expected = len(prog.expected_units(prog.period(PERIOD)))
    # the demo: every unit but one sends, one file of them is rejected
    assert status[-1].startswith(f"Phải báo cáo {expected}, đã báo cáo {expected - 2} ")
    _run([baocao, "report", "--programme", PROGRAMME, "--period", PERIOD, "--out", "report"],
         cwd=work, env=env)
    doc = Document(work / "report" / f"bao-cao-{PROGRAMME}-{PERIOD}.docx")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"trên cơ sở báo cáo của {expected - 2}/{expected} cơ quan, đơn vị" in text
