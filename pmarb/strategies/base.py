"""What every strategy shares: its inputs, sizing within a budget, and order planning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from pmarb.domain.bid import Bid, PlannedOrder
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityLeg
from pmarb.domain.orders import TimeInForce
from pmarb.domain.parity import Side
from pmarb.domain.risk import RiskLimits

SIZE_STEP = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class StrategyBudget:
    """Capital a strategy may still commit, from the tournament's current allocation."""

    strategy: str
    capital: Decimal
    active: bool = True


@dataclass(frozen=True, slots=True)
class SizingLimits:
    """What the risk profile lets one bid size up to. Sizing within it up front keeps bids the
    guardian would reject anyway from being made (the guardian still has the last word)."""

    market_cap: Decimal | None = None  # the per-market exposure limit
    bankroll: Decimal | None = None  # what fractional-Kelly stakes are a fraction of
    directional_loss_cap: Decimal | None = None  # most one directional bet may lose

    @classmethod
    def of(cls, limits: RiskLimits) -> SizingLimits:
        return cls(limits.per_market_limit, limits.bankroll, limits.max_directional_loss)


@dataclass(frozen=True, slots=True)
class BidContext:
    budget: Decimal
    now: datetime
    market_cap: Decimal | None = None
    bankroll: Decimal | None = None
    directional_loss_cap: Decimal | None = None

    @classmethod
    def within(cls, budget: Decimal, now: datetime, sizing: SizingLimits) -> BidContext:
        return cls(budget, now, sizing.market_cap, sizing.bankroll, sizing.directional_loss_cap)


StrategyFn = Callable[[Opportunity, BidContext], Bid | None]


def unit_cost(legs: tuple[OpportunityLeg, ...], size: Decimal) -> Decimal:
    """Cash per unit to buy every leg at its expected price, fees for ``size`` included."""
    if size <= ZERO:
        return ZERO
    total = ZERO
    for leg in legs:
        if leg.side is Side.BUY:
            total += leg.fill_price * size + leg.fees.fee(leg.fill_price, size)
    return total / size


def _leg_cost(leg: OpportunityLeg, size: Decimal) -> Decimal:
    if leg.side is not Side.BUY:
        return ZERO
    return leg.fill_price * size + leg.fees.fee(leg.fill_price, size)


def affordable_size(
    legs: tuple[OpportunityLeg, ...],
    available: Decimal,
    budget: Decimal,
    market_cap: Decimal | None = None,
) -> Decimal:
    """The largest size up to ``available`` whose cost fits ``budget``, each leg's cost fits
    ``market_cap``, and every leg's minimum is met."""
    if available <= ZERO or budget <= ZERO:
        return ZERO
    if market_cap is not None:
        for leg in legs:
            per_unit = _leg_cost(leg, available) / available
            if per_unit > ZERO:
                available = min(available, market_cap / per_unit)
        available = available.quantize(SIZE_STEP, rounding=ROUND_FLOOR)
        if available <= ZERO:
            return ZERO
    cost = unit_cost(legs, available)
    size = available if cost * available <= budget else budget / cost if cost > ZERO else available
    size = size.quantize(SIZE_STEP, rounding=ROUND_FLOOR)
    # Fees round up per fill, so a smaller size can cost more per unit: shrink until it fits.
    while size > ZERO and (
        unit_cost(legs, size) * size > budget
        or (market_cap is not None and any(_leg_cost(leg, size) > market_cap for leg in legs))
    ):
        size -= SIZE_STEP
    if any(size < leg.min_size for leg in legs):
        return ZERO
    return max(size, ZERO)


def plan_order(
    leg: OpportunityLeg,
    size: Decimal,
    time_in_force: TimeInForce,
    *,
    limit_price: Decimal | None = None,
    post_only: bool = False,
) -> PlannedOrder:
    limit = leg.limit_price if limit_price is None else limit_price
    return PlannedOrder(
        leg=leg.name,
        venue=leg.venue,
        market_id=leg.market_id,
        instrument_id=leg.instrument_id,
        outcome=leg.outcome,
        side=leg.side,
        limit_price=limit,
        size=size,
        time_in_force=time_in_force,
        expected_price=leg.fill_price if limit_price is None else limit,
        fees=leg.fees,
        post_only=post_only,
    )


def total_fees(orders: tuple[PlannedOrder, ...]) -> Decimal:
    return sum((order.expected_fee for order in orders), ZERO)
