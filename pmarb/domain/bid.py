"""A strategy's offer to take an opportunity: what to send, how, and what it expects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import TimeInForce
from pmarb.domain.parity import Outcome, Side


class ExecutionStyle(StrEnum):
    SINGLE = "single"  # one immediate order (FOK/FAK), held to resolution
    RESTING = "resting"  # one resting limit order until the opportunity expires
    ATOMIC = "atomic"  # every leg at once, FOK; any leg that fills alone is unwound
    LEG_AND_HEDGE = "leg_and_hedge"  # less liquid leg first, then the hedge within a window
    ROUND_TRIP = "round_trip"  # enter now; exit at a target or at a time stop


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    leg: str
    venue: VenueId
    market_id: str
    instrument_id: str
    outcome: Outcome
    side: Side
    limit_price: Decimal
    size: Decimal
    time_in_force: TimeInForce
    expected_price: Decimal
    fees: FeeSchedule = NO_FEES
    post_only: bool = False

    @property
    def notional(self) -> Decimal:
        return self.expected_price * self.size

    @property
    def expected_fee(self) -> Decimal:
        return self.fees.fee(self.expected_price, self.size, maker=self.post_only)

    @property
    def cash_needed(self) -> Decimal:
        """Cash a buy ties up (price plus fee); a sell of a held position needs none."""
        return self.notional + self.expected_fee if self.side is Side.BUY else ZERO


@dataclass(frozen=True, slots=True)
class Bid:
    strategy: str
    style: ExecutionStyle
    orders: tuple[PlannedOrder, ...]
    size: Decimal
    expected_profit: Decimal
    max_loss: Decimal
    valid_until: datetime
    hedge_window_seconds: float | None = None
    exit_price: Decimal | None = None
    time_stop_seconds: float | None = None
    # A resting bid is cancelled once the fair value of what it buys falls below this: the
    # price at which resting there stops paying.
    fair_value_floor: Decimal | None = None

    @property
    def capital(self) -> Decimal:
        return sum((order.cash_needed for order in self.orders), ZERO)

    @property
    def score(self) -> Decimal:
        """Expected profit per unit of risk: what the allocator ranks bids by."""
        if self.max_loss <= ZERO:
            return self.expected_profit
        return self.expected_profit / self.max_loss
