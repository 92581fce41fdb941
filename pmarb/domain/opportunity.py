"""What the scanner hands to Temporal: an opportunity with its legs and the quotes it used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
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
    """One order the opportunity needs. ``limit_price`` is the worst level walked for ``size``;
    ``expected_price`` the volume-weighted price of that walk; ``fees`` the market's schedule so a
    strategy can price fees for the size it actually chooses."""

    name: str
    venue: VenueId
    market_id: str
    instrument_id: str
    outcome: Outcome
    side: Side
    limit_price: Decimal
    size: Decimal
    expected_price: Decimal | None = None
    fees: FeeSchedule = NO_FEES
    min_size: Decimal = ZERO
    tick_size: Decimal = Decimal("0.01")

    @property
    def fill_price(self) -> Decimal:
        return self.limit_price if self.expected_price is None else self.expected_price


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
    resolves_at: datetime | None = None
    matched_pair_id: int | None = None

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
