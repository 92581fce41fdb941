"""Strategies for a venue lagging the data its contract settles on.

The opportunity carries one leg (buy the side the fair value says is cheap), the model's fair
value for that side and its standard deviation. The payout is uncertain, so the risk unit is the
cash put up: a directional position can lose all of it.

Stakes follow fractional Kelly on a cautious probability. Buying a binary that pays 1 at an
all-in cost ``c`` per unit with win probability ``p`` has the Kelly fraction
``f* = (p − c) / (1 − c)`` of the bankroll. The model's ``p`` is uncertain, so the stake is sized
on ``p − k·σ`` (``k`` = :attr:`KellySizing.confidence_stdevs`), scaled by
:attr:`KellySizing.fraction`, and capped so that losing the bet costs at most the risk profile's
``max_directional_loss_pct`` of the bankroll (2 % by default), then by the budget, the
per-market limit and the visible depth. For p = 0.62 ± 0.02 at c = 0.50 on a $500 bankroll:
f* on 0.60 is 0.20, a quarter of it is 5 % = $25, capped at $10 of stake: 20 contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from pmarb.domain.bid import Bid, ExecutionStyle
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg
from pmarb.domain.orders import TimeInForce
from pmarb.domain.parity import Side
from pmarb.domain.timing import min_gtd_lifetime
from pmarb.lifecycle.timing import DEFAULT_TIME_STOP
from pmarb.strategies.base import (
    SIZE_STEP,
    BidContext,
    affordable_size,
    plan_order,
    total_fees,
)


@dataclass(frozen=True, slots=True)
class KellySizing:
    fraction: Decimal = Decimal("0.25")  # quarter Kelly: a fraction of the growth, far less risk
    confidence_stdevs: Decimal = Decimal("1")  # size on p − this many model σ


@dataclass(frozen=True, slots=True)
class OracleSniperParams:
    min_edge: Decimal = Decimal("0.03")
    # Demand this many model standard deviations of edge before taking a view.
    min_edge_in_stdevs: Decimal = Decimal("1.0")
    min_profit: Decimal = Decimal("0.05")
    kelly: KellySizing = KellySizing()


@dataclass(frozen=True, slots=True)
class OraclePatientParams:
    min_edge: Decimal = Decimal("0.03")
    # Rest this far inside the quoted price; the fill is less likely but cheaper and fee-free
    # where makers pay nothing.
    improvement: Decimal = Decimal("0.02")
    fill_probability: Decimal = Decimal("0.4")
    min_profit: Decimal = Decimal("0.05")
    kelly: KellySizing = KellySizing()
    # How long the order rests (never less than the venue lets a GTD order live:
    # pmarb.domain.timing.min_gtd_lifetime), and how close to the market's resolution it may.
    rest_seconds: float = 180.0
    close_margin_seconds: float = 120.0
    # Cancelled once fair value falls below the limit plus the fee plus this: resting there
    # would no longer pay.
    cancel_below_edge: Decimal = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class MeanReversionParams:
    # Fade only a spike: a price this far from fair value.
    min_dislocation: Decimal = Decimal("0.08")
    # Exit when the price has come back this share of the way to fair value.
    exit_fraction: Decimal = Decimal("0.5")
    reversion_probability: Decimal = Decimal("0.6")
    time_stop_seconds: float = DEFAULT_TIME_STOP.total_seconds()
    min_profit: Decimal = Decimal("0.05")
    kelly: KellySizing = KellySizing()


def _single_buy_leg(opportunity: Opportunity) -> tuple[OpportunityLeg, Decimal] | None:
    if opportunity.kind is not OpportunityKind.ORACLE_LAG or opportunity.fair_value is None:
        return None
    if len(opportunity.legs) != 1 or opportunity.legs[0].side is not Side.BUY:
        return None
    return opportunity.legs[0], opportunity.fair_value


def _stdev(opportunity: Opportunity) -> Decimal:
    return opportunity.fair_value_stdev or ZERO


def _round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def directional_size(
    leg: OpportunityLeg,
    price: Decimal,
    probability: Decimal,
    stdev: Decimal,
    available: Decimal,
    context: BidContext,
    kelly: KellySizing,
    *,
    maker: bool = False,
) -> Decimal:
    """Contracts to buy at ``price``: fractional Kelly on ``probability − k·stdev``, its loss
    capped (module docstring), within ``available``; 0 when the cautious edge is not there."""
    if available <= ZERO or price <= ZERO:
        return ZERO
    cost = price + leg.fees.fee(price, available, maker=maker) / available
    cautious = probability - kelly.confidence_stdevs * stdev
    if cost >= ONE or cautious <= cost:
        return ZERO
    stakes = [available * cost]
    if context.bankroll is not None:
        kelly_fraction = (cautious - cost) / (ONE - cost)
        stakes.append(kelly.fraction * kelly_fraction * context.bankroll)
    if context.directional_loss_cap is not None:
        stakes.append(context.directional_loss_cap)
    size = min(stakes) / cost
    return min(available, size.quantize(SIZE_STEP, rounding=ROUND_FLOOR))


def _stake_budget(context: BidContext) -> Decimal:
    """The budget a directional bet may spend: the strategy's, and no more than it may lose."""
    cap = context.directional_loss_cap
    return context.budget if cap is None else min(context.budget, cap)


def oracle_sniper(
    opportunity: Opportunity,
    context: BidContext,
    params: OracleSniperParams = OracleSniperParams(),
) -> Bid | None:
    """Take the stale quote now (FOK) when the divergence clears its threshold."""
    found = _single_buy_leg(opportunity)
    if found is None:
        return None
    leg, fair = found
    staked = directional_size(
        leg, leg.fill_price, fair, _stdev(opportunity), opportunity.size, context, params.kelly
    )
    size = affordable_size((leg,), staked, _stake_budget(context), context.market_cap)
    if size <= ZERO:
        return None
    order = plan_order(leg, size, TimeInForce.FOK)
    fee = total_fees((order,))
    edge = fair - order.expected_price - fee / size
    if edge < params.min_edge or edge < params.min_edge_in_stdevs * _stdev(opportunity):
        return None

    profit = edge * size
    if profit < params.min_profit:
        return None
    return Bid(
        strategy="oracle-sniper",
        style=ExecutionStyle.SINGLE,
        orders=(order,),
        size=size,
        expected_profit=profit,
        max_loss=order.cash_needed,
        valid_until=opportunity.expires_at,
    )


def oracle_patient(
    opportunity: Opportunity,
    context: BidContext,
    params: OraclePatientParams = OraclePatientParams(),
) -> Bid | None:
    """Rest a post-only limit order inside the quote for a few minutes, cancelled early when
    fair value turns against it; never into the market's last minutes."""
    found = _single_buy_leg(opportunity)
    if found is None:
        return None
    leg, fair = found
    limit = _round_to_tick(leg.fill_price - params.improvement, leg.tick_size)
    if limit <= ZERO:
        return None
    staked = directional_size(
        leg, limit, fair, _stdev(opportunity), opportunity.size, context, params.kelly, maker=True
    )
    size = affordable_size((leg,), staked, _stake_budget(context), context.market_cap)
    if size <= ZERO:
        return None
    order = plan_order(leg, size, TimeInForce.GTD, limit_price=limit, post_only=True)
    fee = total_fees((order,))
    edge = fair - limit - fee / size
    if edge < params.min_edge:
        return None

    profit = edge * size * params.fill_probability
    if profit < params.min_profit:
        return None
    rest = max(timedelta(seconds=params.rest_seconds), min_gtd_lifetime(leg.venue))
    # From the detection, not the clock: the same bid whichever driver (and clock) decides it.
    until = opportunity.detected_at + rest
    resolves = opportunity.resolves_at
    if resolves is not None and until > resolves - timedelta(seconds=params.close_margin_seconds):
        return None
    return Bid(
        strategy="oracle-patient",
        style=ExecutionStyle.RESTING,
        orders=(order,),
        size=size,
        expected_profit=profit,
        max_loss=order.cash_needed,
        valid_until=until,
        fair_value_floor=limit + fee / size + params.cancel_below_edge,
    )


def mean_reversion(
    opportunity: Opportunity,
    context: BidContext,
    params: MeanReversionParams = MeanReversionParams(),
) -> Bid | None:
    """Fade a spike: buy the side pushed too cheap, sell back at a target or at a time stop."""
    found = _single_buy_leg(opportunity)
    if found is None:
        return None
    leg, fair = found
    dislocation = fair - leg.fill_price
    if dislocation < params.min_dislocation:
        return None
    staked = directional_size(
        leg, leg.fill_price, fair, _stdev(opportunity), opportunity.size, context, params.kelly
    )
    size = affordable_size((leg,), staked, _stake_budget(context), context.market_cap)
    if size <= ZERO:
        return None
    entry = plan_order(leg, size, TimeInForce.FAK)

    target = _round_to_tick(
        entry.expected_price + dislocation * params.exit_fraction, leg.tick_size
    )
    target = min(target, ONE - leg.tick_size)
    if target <= entry.expected_price:
        return None
    entry_fee = total_fees((entry,))
    exit_fee = leg.fees.fee(target, size, maker=True)
    gain = (target - entry.expected_price) * size - entry_fee - exit_fee
    profit = gain * params.reversion_probability
    if profit < params.min_profit:
        return None
    return Bid(
        strategy="mean-reversion",
        style=ExecutionStyle.ROUND_TRIP,
        orders=(entry,),
        size=size,
        expected_profit=profit,
        max_loss=entry.cash_needed,
        valid_until=opportunity.expires_at,
        exit_price=target,
        time_stop_seconds=params.time_stop_seconds,
    )
