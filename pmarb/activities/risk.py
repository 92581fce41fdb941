"""The pre-trade risk check, run as a local activity next to the workflow that asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from pmarb.domain.bid import Bid
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.parity import Side
from pmarb.domain.risk import RiskLimits
from pmarb.store.risk import LegExposure, QuoteCheck, RiskCheckRequest, check_and_reserve


@dataclass(frozen=True)
class RiskCheckInput:
    workflow_id: str
    opportunity: Opportunity
    bid: Bid


@dataclass(frozen=True)
class RiskCheckResult:
    approved: bool
    reason: str
    detail: str


def opportunity_record(opportunity: Opportunity) -> dict[str, Any]:
    """A JSON-ready copy of the opportunity for the audit trail."""
    return {
        "detected_at": opportunity.detected_at.isoformat(),
        "edge": str(opportunity.edge),
        "size": str(opportunity.size),
        "fair_value": None if opportunity.fair_value is None else str(opportunity.fair_value),
        "legs": [
            {
                "name": leg.name,
                "venue": leg.venue.value,
                "market_id": leg.market_id,
                "instrument_id": leg.instrument_id,
                "outcome": leg.outcome.value,
                "side": leg.side.value,
                "limit_price": str(leg.limit_price),
                "expected_price": str(leg.fill_price),
                "size": str(leg.size),
            }
            for leg in opportunity.legs
        ],
        "quotes": [
            {
                "venue": quote.venue.value,
                "instrument_id": quote.instrument_id,
                "price": str(quote.price),
                "size": str(quote.size),
                "observed_at": quote.observed_at.isoformat(),
            }
            for quote in opportunity.quotes
        ],
    }


def bid_record(bid: Bid) -> dict[str, Any]:
    return {
        "strategy": bid.strategy,
        "style": bid.style.value,
        "size": str(bid.size),
        "capital": str(bid.capital),
        "expected_profit": str(bid.expected_profit),
        "max_loss": str(bid.max_loss),
        "orders": [
            {
                "leg": order.leg,
                "venue": order.venue.value,
                "instrument_id": order.instrument_id,
                "outcome": order.outcome.value,
                "side": order.side.value,
                "limit_price": str(order.limit_price),
                "expected_price": str(order.expected_price),
                "size": str(order.size),
                "time_in_force": order.time_in_force.value,
            }
            for order in bid.orders
        ],
    }


def build_request(workflow_id: str, opportunity: Opportunity, bid: Bid) -> RiskCheckRequest:
    exposure: dict[tuple[str, str], Decimal] = {}
    for order in bid.orders:
        key = (order.venue.value, order.market_id)
        exposure[key] = exposure.get(key, ZERO) + order.cash_needed
    expected = {
        order.instrument_id: order.expected_price for order in bid.orders if order.side is Side.BUY
    }
    # Every quote the decision used must be fresh; slippage applies where we buy at a quote.
    checks = [
        QuoteCheck(
            quote.instrument_id,
            quote.observed_at,
            quote.price,
            expected.get(quote.instrument_id, quote.price),
        )
        for quote in opportunity.quotes
    ]
    return RiskCheckRequest(
        workflow_id=workflow_id,
        opportunity_id=opportunity.workflow_id,
        opportunity_kind=opportunity.kind.value,
        opportunity=opportunity_record(opportunity),
        strategy=bid.strategy,
        bid=bid_record(bid),
        capital=bid.capital,
        legs=tuple(
            LegExposure(venue, market, amount) for (venue, market), amount in exposure.items()
        ),
        quotes=tuple(checks),
        expires_at=bid.valid_until,
    )


class RiskActivities:
    def __init__(self, pool: AsyncConnectionPool[Any], default_limits: RiskLimits) -> None:
        self._pool = pool
        self._default_limits = default_limits

    @activity.defn(name="check_risk")
    async def check_risk(self, request: RiskCheckInput) -> RiskCheckResult:
        built = build_request(request.workflow_id, request.opportunity, request.bid)
        async with self._pool.connection() as conn:
            decision = await check_and_reserve(conn, built, self._default_limits, datetime.now(UTC))
        return RiskCheckResult(decision.approved, decision.reason.value, decision.detail)
