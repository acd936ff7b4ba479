"""Vietnamese number style: '.' groups thousands, ',' marks decimals ("1.234,5")."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_GROUPED = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_PLAIN = re.compile(r"^-?\d+(,\d+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


class NotANumber(ValueError):
    """Text that is not a number in Vietnamese (or plain) notation."""


def parse_vn_number(text: str) -> Decimal:
    """Parse '1.234', '1.234,5', '12,5', '1234' (spaces ignored); NotANumber otherwise.

    A lone dot with three digits after it is read as a thousands separator ("1.234" is
    one thousand two hundred thirty-four), as Vietnamese readers write it.
    """
    s = _SPACES.sub("", text)
    if _GROUPED.match(s):
        s = s.replace(".", "")
    elif not _PLAIN.match(s):
        raise NotANumber(text)
    try:
        return Decimal(s.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - regex guards this
        raise NotANumber(text) from exc


def format_vn_number(value: float | int | Decimal | None, decimals: int = 0) -> str:
    """Format as Vietnamese text: 5432 -> '5.432'; 153.459 (decimals=3) -> '153,459'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals)) if decimals else \
        Decimal(str(value)).quantize(Decimal(1))
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sign + ".".join(groups)
    return f"{out},{frac}" if frac else out


def format_vn_money(value: float | None) -> str:
    """Million VND with up to 3 decimals, trailing zeros dropped: 5459.0 -> '5.459'."""
    text = format_vn_number(value, 3)
    return text.rstrip("0").rstrip(",") if "," in text else text


def format_vn_percent(value: float | None, decimals: int = 1) -> str:
    """Format a percentage: 12.34 -> '12,3%'."""
    if value is None:
        return "-"
    return format_vn_number(value, decimals) + "%"
