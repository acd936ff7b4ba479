from decimal import Decimal

import pytest

from baocao.vn_numbers import NotANumber, format_vn_number, format_vn_percent, parse_vn_number


@pytest.mark.parametrize("text, expected", [
    ("1.234", Decimal(1234)), ("1.234,5", Decimal("1234.5")), ("12,5", Decimal("12.5")),
    ("1234", Decimal(1234)), (" 1 234 ", Decimal(1234)), ("1.234.567", Decimal(1234567)),
    ("0", Decimal(0)), ("1\u00a0234", Decimal(1234)), ("-3", Decimal(-3)),
])
def test_parse_vietnamese_numbers(text, expected):
    assert parse_vn_number(text) == expected


@pytest.mark.parametrize("text", ["1.5", "abc", "1,2,3", "", "12.34.5", "1.234.", "5 người",
                                  "1e3", "0x10"])
def test_parse_rejects_non_numbers(text):
    with pytest.raises(NotANumber):
        parse_vn_number(text)


def test_format_vietnamese_style():
    assert format_vn_number(5432) == "5.432"
    assert format_vn_number(153.459, 3) == "153,459"
    assert format_vn_number(1234567.5, 1) == "1.234.567,5"
    assert format_vn_number(-1200) == "-1.200"
    assert format_vn_number(None) == "-"
    assert format_vn_percent(12.34) == "12,3%"
