"""Vietnamese number style: '.' groups thousands, ',' marks decimals ("1.234,5")."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal

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
    """Format as Vietnamese text (CLDR's "vi" symbols, through Babel): 5432 -> '5.432';
    153.459 (decimals=3) -> '153,459'. Rounded half up, as Vietnamese reports round; a value
    that rounds to zero is never shown as "-0"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(q, format=pattern, locale="vi")


def format_vn_money(value: float | None) -> str:
    """Million VND with up to 3 decimals, trailing zeros dropped: 5459.0 -> '5.459'."""
    text = format_vn_number(value, 3)
    return text.rstrip("0").rstrip(",") if "," in text else text


def format_vn_percent(value: float | None, decimals: int = 1) -> str:
    """Format a percentage: 12.34 -> '12,3%'."""
    if value is None:
        return "-"
    return format_vn_number(value, decimals) + "%"
