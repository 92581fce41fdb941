from decimal import Decimal as D

import pytest

from pmarb.domain.fees import NO_FEES, FeeSchedule

KALSHI_TAKER = FeeSchedule(taker_rate=D("0.07"), rounding_step=D("0.01"))


@pytest.mark.parametrize(
    ("price", "count", "fee"),
    [("0.50", "100", "1.75"), ("0.50", "1", "0.02"), ("0.10", "10", "0.07"), ("0.99", "3", "0.01")],
)
def test_kalshi_style_taker_fee_rounds_up_to_the_cent(price: str, count: str, fee: str) -> None:
    assert KALSHI_TAKER.fee(D(price), D(count)) == D(fee)


def test_maker_rate_and_exponent() -> None:
    schedule = FeeSchedule(taker_rate=D("0.25"), maker_rate=D("0.0175"), exponent=2)
    assert schedule.fee(D("0.5"), D("10")) == D("10") * D("0.25") * D("0.0625")
    assert schedule.fee(D("0.5"), D("100"), maker=True) == D("100") * D("0.0175") * D("0.0625")


def test_no_fees() -> None:
    assert NO_FEES.fee(D("0.5"), D("1000")) == 0
