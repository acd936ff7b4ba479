"""Look at documents as their recipients do: LibreOffice → PDF → PNG pages.

Used by ``make preview`` (``baocao preview``) and by the tests that check the printed layout
of the report, the annexes and the blank forms. Needs Debian's LibreOffice and poppler-utils
(``scripts/ensure-libreoffice.sh`` installs them).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CONVERT_TIMEOUT = 180  # seconds; the 30-page report converts in a few seconds


class PreviewToolMissing(RuntimeError):
    """LibreOffice or poppler-utils is not installed."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise PreviewToolMissing(f"{name} not found: run scripts/ensure-libreoffice.sh")
    return found


def to_pdf(src: Path, out_dir: Path) -> Path:
    """Convert a .docx/.xlsx to PDF with headless LibreOffice (own profile: runs in parallel)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        result = subprocess.run(
            [_tool("soffice"), f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", "pdf", "--outdir", str(out_dir), str(src)],
            capture_output=True, text=True, timeout=CONVERT_TIMEOUT, check=False)
    pdf = out_dir / f"{src.stem}.pdf"
    if result.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"LibreOffice could not convert {src}: {result.stderr.strip()}")
    return pdf


def page_count(pdf: Path) -> int:
    out = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return next(int(line.split()[-1]) for line in out.splitlines()
                if line.startswith("Pages:"))


def page_texts(pdf: Path, layout: bool = False) -> list[str]:
    """The text of each page (pdftotext; form feeds separate the pages)."""
    args = [_tool("pdftotext"), *(["-layout"] if layout else []), str(pdf), "-"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def to_png(pdf: Path, out_dir: Path, dpi: int = 60) -> list[Path]:
    """Every page as ``<stem>-<n>.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / pdf.stem
    subprocess.run([_tool("pdftoppm"), "-png", "-r", str(dpi), str(pdf), str(prefix)],
                   check=True, capture_output=True)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"))


def render_preview(programme: str, period: str, out_dir: Path, dpi: int = 60
                   ) -> dict[str, dict[str, object]]:
    """Render the period's draft report (.docx, .xlsx) from the warehouse and two blank forms
    (a local unit's and a department's: the lead one when it reports), convert each to PDF
    and PNG pages under ``out_dir``; per document its paths and pages."""
    from baocao.forms import build_form
    from baocao.pipeline import engine
    from baocao.programme import load_programme
    from baocao.reports.context import build_report_data
    from baocao.reports.docx_report import render_docx
    from baocao.reports.xlsx_report import render_xlsx

    prog = load_programme(programme)
    per = prog.period(period)
    data = build_report_data(engine(), prog, per)
    units = prog.expected_units(per)
    unit = next((u for u in units if prog.is_local(u)), units[0] if units else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bao-cao-{prog.code}-{per.code}"
    docs = {"report.docx": (out_dir / f"{stem}.docx", render_docx(data, draft=True)),
            "annex.xlsx": (out_dir / f"{stem}-bieu-tong-hop.xlsx",
                           render_xlsx(data, draft=True))}
    if unit is not None:
        docs["form.xlsx"] = (out_dir / f"bieu-mau-{per.code}-{unit.code}.xlsx",
                             build_form(prog, unit, per))
    lead = prog.find_lead(per.deadline)
    department = lead if lead in units else next(
        (u for u in units if not prog.is_local(u)), None)
    if department is not None and department is not unit:
        docs["form-department.xlsx"] = (
            out_dir / f"bieu-mau-{per.code}-{department.code}.xlsx",
            build_form(prog, department, per))
    out: dict[str, dict[str, object]] = {}
    for key, (path, data_bytes) in docs.items():
        path.write_bytes(data_bytes)
        pdf = to_pdf(path, out_dir)
        pngs = to_png(pdf, out_dir / "pages", dpi)
        out[key] = {"file": str(path), "pdf": str(pdf), "pages": page_count(pdf),
                    "png": [str(p) for p in pngs]}
    return out


def page_words(pdf: Path) -> list[dict[str, object]]:
    """Each page's size and words with their boxes (``pdftotext -bbox``, read with an XML
    parser), to check print: {'width', 'height', 'words': [(x0, y0, x1, y1, text), ...]}.
    A word's box is as tall as its font's ascent plus descent at the printed size."""
    from xml.etree import ElementTree

    out = subprocess.run([_tool("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True,
                         check=True).stdout
    ns = "{http://www.w3.org/1999/xhtml}"
    pages = []
    for page in ElementTree.fromstring(out).iter(f"{ns}page"):
        words = [(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")),
                  float(w.get("yMax")), w.text or "") for w in page.iter(f"{ns}word")]
        pages.append({"width": float(page.get("width")), "height": float(page.get("height")),
                      "words": words})
    return pages
