"""Polymarket fees from a market's Gamma ``feeSchedule`` (research/venues.md A.6).

Taker fee = ``shares × rate × (p(1 − p))^exponent``; makers pay nothing when ``takerOnly``
(they earn rebates instead, which pmarb does not count on). The venue rounds fees to five
decimals with 0.00001 as the smallest fee; pmarb rounds up at that step so it never
understates a fee. ``makerBaseFee``/``takerBaseFee`` are legacy V1 values and are ignored.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.money import ZERO

FEE_ROUNDING_STEP = Decimal("0.00001")
CRYPTO_TAKER_RATE = Decimal("0.07")


class GammaFeeSchedule(msgspec.Struct, rename="camel"):
    """``feeSchedule``; msgspec reads its JSON numbers straight into exact decimals."""

    rate: Decimal = ZERO
    exponent: Decimal = Decimal(1)
    taker_only: bool = True
    rebate_rate: Decimal | None = None


def schedule_from(rate: Decimal, exponent: int = 1, taker_only: bool = True) -> FeeSchedule:
    if rate == ZERO:
        return NO_FEES
    return FeeSchedule(
        taker_rate=rate,
        maker_rate=ZERO if taker_only else rate,
        exponent=exponent,
        rounding_step=FEE_ROUNDING_STEP,
    )


def fee_schedule(payload: GammaFeeSchedule | None, fees_enabled: bool | None = True) -> FeeSchedule:
    """No schedule, ``feesEnabled: false`` or a zero rate all mean a fee-free market."""
    if payload is None or fees_enabled is False:
        return NO_FEES
    if payload.exponent != payload.exponent.to_integral_value():
        raise ValueError(f"fee exponent must be whole, got {payload.exponent}")
    return schedule_from(payload.rate, int(payload.exponent), payload.taker_only)
