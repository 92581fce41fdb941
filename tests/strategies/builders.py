"""Opportunities for strategy tests, built from explicit prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg, QuoteStamp
from pmarb.domain.parity import Outcome, Side

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KALSHI_FEES = FeeSchedule(taker_rate=D("0.07"), rounding_step=D("0.01"))
POLY_FEES = FeeSchedule(taker_rate=D("0.07"))


def leg(
    name: str,
    venue: VenueId,
    price: str,
    size: str,
    outcome: Outcome = Outcome.YES,
    fees: FeeSchedule = POLY_FEES,
) -> OpportunityLeg:
    return OpportunityLeg(
        name=name,
        venue=venue,
        market_id=f"{venue}-M",
        instrument_id=f"{venue}-{name}",
        outcome=outcome,
        side=Side.BUY,
        limit_price=D(price),
        size=D(size),
        expected_price=D(price),
        fees=fees,
    )


def bundle(
    yes: str, no: str, size: str = "100", depth_yes: str = "100", depth_no: str = "100"
) -> Opportunity:
    legs = (
        leg("yes", VenueId.POLYMARKET, yes, size),
        leg("no", VenueId.KALSHI, no, size, Outcome.NO, KALSHI_FEES),
    )
    return Opportunity(
        kind=OpportunityKind.CROSS_VENUE,
        business_key="pair-1",
        legs=legs,
        size=D(size),
        edge=D(1) - D(yes) - D(no),
        detected_at=NOW,
        expires_at=NOW + timedelta(seconds=10),
        quotes=(
            QuoteStamp(VenueId.POLYMARKET, "polymarket-yes", D(yes), D(depth_yes), NOW),
            QuoteStamp(VenueId.KALSHI, "kalshi-no", D(no), D(depth_no), NOW),
        ),
    )


def oracle(price: str, fair: str, stdev: str = "0.01", size: str = "50") -> Opportunity:
    return Opportunity(
        kind=OpportunityKind.ORACLE_LAG,
        business_key="lag-1",
        legs=(leg("yes", VenueId.KALSHI, price, size, fees=KALSHI_FEES),),
        size=D(size),
        edge=D(fair) - D(price),
        detected_at=NOW,
        expires_at=NOW + timedelta(seconds=30),
        quotes=(QuoteStamp(VenueId.KALSHI, "kalshi-yes", D(price), D(size), NOW),),
        fair_value=D(fair),
        fair_value_stdev=D(stdev),
    )
