"""Print checks shared by the form and annex tests: LibreOffice → PDF, read back the text.

A word's box in ``pdftotext -bbox`` is as tall as its font's ascent plus descent at the size
it is printed, so dividing by that ratio (calibrated once on a cell of known size) gives the
printed font size, whatever scale LibreOffice applied to fit the page.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

from baocao.preview import PreviewToolMissing, page_words, to_pdf


def need_libreoffice() -> None:
    """Skip without LibreOffice and poppler (fail in CI, where they must be installed)."""
    import shutil

    if not (shutil.which("soffice") and shutil.which("pdftotext")):
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice and poppler-utils are needed: scripts/ensure-libreoffice.sh")
        pytest.skip("LibreOffice or poppler-utils not installed")


def pdf_of(xlsx: bytes, folder: Path, name: str) -> Path:
    path = folder / f"{name}.xlsx"
    path.write_bytes(xlsx)
    try:
        return to_pdf(path, folder)
    except PreviewToolMissing as exc:  # pragma: no cover - guarded by need_libreoffice
        pytest.skip(str(exc))


@lru_cache(maxsize=1)
def box_ratio(folder: str) -> float:
    """Height of a word's box per point of font size, measured on 10 pt Times New Roman."""
    from openpyxl.styles import Font

    from baocao.sheet_print import FONT, new_workbook

    wb = new_workbook()
    wb.active["A1"] = "Hệ số"
    wb.active["A1"].font = Font(name=FONT, size=10)
    from io import BytesIO

    buf = BytesIO()
    wb.save(buf)
    words = page_words(pdf_of(buf.getvalue(), Path(folder), "calibration"))[0]["words"]
    return (words[0][3] - words[0][1]) / 10


def printed_sizes(pdf: Path, folder: Path) -> list[float]:
    """The smallest printed font size (pt) on each page, headers and footers included."""
    ratio = box_ratio(str(folder))
    return [min((w[3] - w[1]) / ratio for w in page["words"]) if page["words"] else 99.0
            for page in page_words(pdf)]


def page_sheet(page: dict, sheet_names: list[str]) -> str:
    """The sheet a page belongs to: every page's header names its sheet (top right)."""
    top = " ".join(w[4] for w in page["words"] if w[1] < 45)
    return next((n for n in sorted(sheet_names, key=len, reverse=True) if n in top), "")


def page_text(page: dict) -> str:
    return " ".join(w[4] for w in page["words"])
