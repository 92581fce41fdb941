"""Strategies for locked-in payouts: YES+NO bundles on one venue, matched pairs across venues.

Every leg is a buy and the bundle pays exactly 1 per unit at resolution, so profit is
``size × (1 − Σ price) − fees``. What differs is execution risk, which sets ``max_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmarb.domain.bid import Bid, ExecutionStyle
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg
from pmarb.domain.orders import TimeInForce
from pmarb.domain.parity import Side
from pmarb.lifecycle.timing import DEFAULT_HEDGE_WINDOW
from pmarb.strategies.base import BidContext, affordable_size, plan_order, total_fees

_ARB_KINDS = (OpportunityKind.INTRA_VENUE, OpportunityKind.CROSS_VENUE)


@dataclass(frozen=True, slots=True)
class AtomicArbParams:
    min_profit: Decimal = Decimal("0.05")
    # If one FOK fills and another does not, the filled leg is sold back: assume it costs this
    # much per unit beyond fees (half-spread on the way out plus the spread we paid).
    unwind_cost_per_unit: Decimal = Decimal("0.04")


@dataclass(frozen=True, slots=True)
class LegAndHedgeParams:
    min_profit: Decimal = Decimal("0.05")
    hedge_window_seconds: float = DEFAULT_HEDGE_WINDOW.total_seconds()
    # The hedge may pay up to this much more than quoted to get done inside the window.
    hedge_slippage: Decimal = Decimal("0.01")
    # Exposure while the first leg is naked is larger than for simultaneous FOKs.
    unwind_cost_per_unit: Decimal = Decimal("0.08")


def _is_bundle(opportunity: Opportunity) -> bool:
    return (
        opportunity.kind in _ARB_KINDS
        and len(opportunity.legs) >= 2
        and all(leg.side is Side.BUY for leg in opportunity.legs)
    )


def _bundle_profit(opportunity: Opportunity, size: Decimal, orders_fees: Decimal) -> Decimal:
    paid = sum((leg.fill_price for leg in opportunity.legs), ZERO)
    return size * (ONE - paid) - orders_fees


def atomic_arb(
    opportunity: Opportunity, context: BidContext, params: AtomicArbParams = AtomicArbParams()
) -> Bid | None:
    """Both (all) legs FOK from one activity; if one fills alone it is unwound."""
    if not _is_bundle(opportunity):
        return None
    size = affordable_size(opportunity.legs, opportunity.size, context.budget, context.market_cap)
    if size <= ZERO:
        return None
    orders = tuple(plan_order(leg, size, TimeInForce.FOK) for leg in opportunity.legs)
    fees = total_fees(orders)
    profit = _bundle_profit(opportunity, size, fees)
    if profit < params.min_profit:
        return None
    return Bid(
        strategy="atomic-arb",
        style=ExecutionStyle.ATOMIC,
        orders=orders,
        size=size,
        expected_profit=profit,
        max_loss=size * params.unwind_cost_per_unit + fees,
        valid_until=opportunity.expires_at,
    )


def leg_and_hedge(
    opportunity: Opportunity, context: BidContext, params: LegAndHedgeParams = LegAndHedgeParams()
) -> Bid | None:
    """The less liquid leg first (FOK); the others as a hedge within a window, else unwind."""
    if not _is_bundle(opportunity):
        return None
    size = affordable_size(opportunity.legs, opportunity.size, context.budget, context.market_cap)
    if size <= ZERO:
        return None
    depth = {quote.instrument_id: quote.size for quote in opportunity.quotes}
    ordered = sorted(
        opportunity.legs, key=lambda leg: (depth.get(leg.instrument_id, ZERO), leg.name)
    )
    first, hedges = ordered[0], ordered[1:]
    hedge_orders = tuple(
        plan_order(leg, size, TimeInForce.FAK, limit_price=_hedge_limit(leg, params))
        for leg in hedges
    )
    orders = (plan_order(first, size, TimeInForce.FOK), *hedge_orders)
    fees = total_fees(orders)
    paid = sum((order.expected_price for order in orders), ZERO)
    profit = size * (ONE - paid) - fees
    if profit < params.min_profit:
        return None
    return Bid(
        strategy="leg-and-hedge",
        style=ExecutionStyle.LEG_AND_HEDGE,
        orders=orders,
        size=size,
        expected_profit=profit,
        max_loss=size * params.unwind_cost_per_unit + fees,
        valid_until=opportunity.expires_at,
        hedge_window_seconds=params.hedge_window_seconds,
    )


def _hedge_limit(leg: OpportunityLeg, params: LegAndHedgeParams) -> Decimal:
    return min(leg.limit_price + params.hedge_slippage, ONE - leg.tick_size)
