"""Venue fees as data, so scanners and strategies price fees without importing a venue.

Both venues charge takers ``count × rate × (p·(1−p))^exponent`` in 2026; they differ in the rate
source, the maker rate and rounding. Kalshi rounds each fill's fee up to the cent; Polymarket
settles in 6-decimal pUSD.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmarb.domain.money import ONE, ZERO, ceil_to


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    taker_rate: Decimal
    maker_rate: Decimal = ZERO
    exponent: int = 1
    rounding_step: Decimal | None = None

    def fee(self, price: Decimal, count: Decimal, *, maker: bool = False) -> Decimal:
        """Fee in dollars for one fill of ``count`` contracts at ``price``."""
        if count <= ZERO:
            return ZERO
        rate = self.maker_rate if maker else self.taker_rate
        if rate == ZERO:
            return ZERO
        raw = count * rate * (price * (ONE - price)) ** self.exponent
        return ceil_to(raw, self.rounding_step) if self.rounding_step is not None else raw


NO_FEES = FeeSchedule(taker_rate=ZERO)
