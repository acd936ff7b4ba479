"""The house rules that a reader of the code relies on, checked on the source itself."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from support import ROOT

from baocao.statuses import Outcome, SubmissionStatus, TaskStatus

SOURCES = sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").glob("*.py")])


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT / "plugins") if "plugins" in path.parts else path.relative_to(ROOT)
    return ".".join(rel.with_suffix("").parts).removesuffix(".__init__")


def private_imports(path: Path) -> list[str]:
    """``from baocao.x import _name`` and ``baocao.x._name`` uses in ``path`` where ``x`` is
    another module than the file's own."""
    own = _module_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("baocao"):
            if node.module != own:
                found += [f"{path.name}:{node.lineno} {node.module}.{a.name}"
                          for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_module_imports_another_modules_private_names():
    found = [hit for path in SOURCES for hit in private_imports(path)]
    assert found == []


def test_the_private_import_check_sees_an_offence(tmp_path):
    bad = tmp_path / "plugins" / "baocao" / "x.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from baocao.intake import _safe\nfrom baocao.x import _own\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert private_imports(bad) == ["x.py:1 baocao.intake._safe"]
    finally:
        ROOT = saved


def test_the_clock_is_read_only_in_the_timezone_module():
    out = subprocess.run(["git", "grep", "-n", r"ZoneInfo(\|date.today()\|datetime.now()",
                          "--", "plugins", "dags"], cwd=ROOT, capture_output=True, text=True)
    hits = [line for line in out.stdout.splitlines()
            if not line.startswith("plugins/baocao/timezone.py:")]
    assert hits == []


def test_nothing_points_outside_the_repository():
    out = subprocess.run(["git", "grep", "-n", "-E",
                          r"DOMAIN\.md|TOOLCHAIN\.md|ARCHITECTURE\.md|\.\./shared|/work[/]"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.splitlines() == []


def test_every_status_label_the_readme_names_is_the_code_s():
    """The README's "Statuses" section names each label in bold as the pages show it; each
    must be one of the enums' labels, and every unit status must be there."""
    labels = {s.label for s in SubmissionStatus} | {o.label for o in Outcome} \
        | {t.label for t in TaskStatus}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Statuses", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\*\*([^*]+)\*\*", section))
    assert named - labels == set()
    assert {s.label for s in SubmissionStatus} | {o.label for o in Outcome} <= named


def test_every_import_of_a_package_name_resolves():
    """Most imports of the package are inside functions (so DAG files parse cheaply): a name
    moved to another module would only fail when that task runs. Each must resolve now."""
    import importlib

    missing = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("baocao")):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{path.name}:{node.lineno} {node.module}.{alias.name}")
    assert missing == []
