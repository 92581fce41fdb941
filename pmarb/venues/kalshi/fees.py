"""Kalshi fees from the series' ``fee_type`` and ``fee_multiplier`` (research/venues.md B.6).

Taker: ``ceil_to_cent(0.07 × multiplier × C × P × (1 − P))`` per fill. Maker: the same curve at
0.0175 × multiplier, but only on ``quadratic_with_maker_fees`` series; otherwise zero. Rounding
each fill up to the cent is what an ordinary member is charged for a single fill (Kalshi's
per-order accumulator only ever refunds, so this never understates the fee).
"""

from __future__ import annotations

from decimal import Decimal

from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.money import CENT, ZERO

TAKER_RATE = Decimal("0.07")
MAKER_RATE = Decimal("0.0175")
FEE_TYPES_WITH_MAKER_FEES = frozenset({"quadratic_with_maker_fees"})


def fee_schedule(fee_type: str | None, fee_multiplier: Decimal | None = None) -> FeeSchedule:
    """The schedule for a series (or an event's override). Unknown types charge like takers.

    ``flat`` has no published curve; it is priced like ``quadratic`` so that fees are never
    underestimated, and a zero multiplier means no fee at all.
    """
    multiplier = Decimal(1) if fee_multiplier is None else fee_multiplier
    if multiplier == ZERO:
        return NO_FEES
    maker = MAKER_RATE * multiplier if fee_type in FEE_TYPES_WITH_MAKER_FEES else ZERO
    return FeeSchedule(
        taker_rate=TAKER_RATE * multiplier, maker_rate=maker, exponent=1, rounding_step=CENT
    )
