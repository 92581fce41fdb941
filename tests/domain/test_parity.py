from decimal import Decimal

import pytest

from pmarb.domain.parity import Outcome, Side, YesLeg, complement, from_yes_leg, to_yes_leg


def test_buying_no_is_selling_yes_at_the_complement() -> None:
    assert to_yes_leg(Outcome.NO, Side.BUY, Decimal("0.30")) == YesLeg(Side.SELL, Decimal("0.70"))


def test_selling_no_is_buying_yes_at_the_complement() -> None:
    assert to_yes_leg(Outcome.NO, Side.SELL, Decimal("0.42")) == YesLeg(Side.BUY, Decimal("0.58"))


def test_yes_orders_are_unchanged() -> None:
    assert to_yes_leg(Outcome.YES, Side.BUY, Decimal("0.55")) == YesLeg(Side.BUY, Decimal("0.55"))


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize("price", ["0", "0.01", "0.3333", "0.5", "0.99", "1"])
def test_round_trip_through_the_yes_leg(outcome: Outcome, side: Side, price: str) -> None:
    leg = to_yes_leg(outcome, side, Decimal(price))
    assert from_yes_leg(leg, outcome) == (side, Decimal(price))


@pytest.mark.parametrize("price", ["-0.01", "1.01"])
def test_prices_outside_the_unit_interval_are_rejected(price: str) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        complement(Decimal(price))
    with pytest.raises(ValueError):
        to_yes_leg(Outcome.YES, Side.BUY, Decimal(price))


def test_opposites() -> None:
    assert Outcome.YES.opposite is Outcome.NO and Outcome.NO.opposite is Outcome.YES
    assert Side.BUY.opposite is Side.SELL and Side.SELL.opposite is Side.BUY
