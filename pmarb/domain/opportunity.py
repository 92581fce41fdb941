"""What the scanner hands to Temporal: an opportunity with its legs and the quotes it used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.market import VenueId
from pmarb.domain.parity import Outcome, Side


class OpportunityKind(StrEnum):
    INTRA_VENUE = "intra_venue"
    CROSS_VENUE = "cross_venue"
    ORACLE_LAG = "oracle_lag"


@dataclass(frozen=True, slots=True)
class QuoteStamp:
    """The quote a decision used, and when it was seen, so staleness can be checked later."""

    venue: VenueId
    instrument_id: str
    price: Decimal
    size: Decimal
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class OpportunityLeg:
    name: str
    venue: VenueId
    market_id: str
    instrument_id: str
    outcome: Outcome
    side: Side
    limit_price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A priced, executable gap. ``edge`` is per unit after fees; ``size`` comes from the books."""

    kind: OpportunityKind
    business_key: str
    legs: tuple[OpportunityLeg, ...]
    size: Decimal
    edge: Decimal
    detected_at: datetime
    expires_at: datetime
    quotes: tuple[QuoteStamp, ...]
    fair_value: Decimal | None = None
    fair_value_stdev: Decimal | None = None

    @property
    def workflow_id(self) -> str:
        """Deterministic, so a duplicate detection maps onto the same lifecycle."""
        return f"opp-{self.business_key}"

    @property
    def expected_profit(self) -> Decimal:
        return self.edge * self.size

    @property
    def venues(self) -> tuple[VenueId, ...]:
        return tuple(dict.fromkeys(leg.venue for leg in self.legs))
