"""Text normalisation: every user-facing string is stored and written NFC-normalised."""

from __future__ import annotations

import unicodedata
from typing import Any


def nfc(text: str) -> str:
    """``text`` NFC-normalised (a name typed on a Mac arrives decomposed, NFD)."""
    return unicodedata.normalize("NFC", text)


def clean(value: Any) -> str:
    """A cell's or field's value as NFC text without surrounding blanks."""
    return nfc(str(value)).strip()


def nfc_deep(obj: Any) -> Any:
    """Every string inside nested lists and dicts NFC-normalised (a template's context)."""
    if isinstance(obj, str):
        return nfc(obj)
    if isinstance(obj, list):
        return [nfc_deep(x) for x in obj]
    if isinstance(obj, dict):
        return {k: nfc_deep(v) for k, v in obj.items()}
    return obj
