from decimal import Decimal

import pytest

from pmarb.venues.fixedpoint import format_decimal, format_micros, micros, micros_of, to_decimal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.301", 301_000),
        (".48", 480_000),
        ("1", 1_000_000),
        ("3149725.72", 3_149_725_720_000),
        ("-54.00", -54_000_000),
        ("0.5600", 560_000),
        ("0.000001", 1),
        ("0.10000000", 100_000),
        ("1e1", 10_000_000),
        ("2.5E-2", 25_000),
    ],
)
def test_parses_venue_decimal_strings_exactly(text: str, value: int) -> None:
    assert micros(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1e-7", "0.0000001", "1.2.3", "--1", ".", "nan", "e5"])
def test_refuses_what_is_not_a_plain_decimal(text: str) -> None:
    with pytest.raises(ValueError):
        micros(text)


def test_round_trips_to_normalised_decimal_strings() -> None:
    assert to_decimal(301_000) == Decimal("0.301")
    assert format_micros(1_000_000_000) == "1000"
    assert format_micros(45_830_000) == "45.83"
    assert format_micros(0) == "0"
    assert format_decimal(Decimal("1E+3")) == "1000"
    assert micros_of(Decimal("0.53")) == 530_000
    with pytest.raises(ValueError):
        micros_of(Decimal("0.0000001"))
