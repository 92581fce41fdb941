from decimal import Decimal

import pytest

from pmarb.domain.money import CENT, ceil_to, floor_to, to_decimal


def test_strings_parse_exactly() -> None:
    assert to_decimal("0.5600") == Decimal("0.56")
    assert to_decimal(".48") == Decimal("0.48")
    assert to_decimal(3) == Decimal(3)


@pytest.mark.parametrize("bad", [0.1, True])
def test_floats_and_bools_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="refusing"):
        to_decimal(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity"])
def test_garbage_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="decimal"):
        to_decimal(bad)


def test_rounding_to_a_step() -> None:
    assert ceil_to(Decimal("1.7501"), CENT) == Decimal("1.76")
    assert ceil_to(Decimal("1.75"), CENT) == Decimal("1.75")
    assert floor_to(Decimal("1.759"), CENT) == Decimal("1.75")
