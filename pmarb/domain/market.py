"""Markets and their tradeable instruments, normalised across venues."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.parity import Outcome


class VenueId(StrEnum):
    POLYMARKET = "polymarket"
    KALSHI = "kalshi"


class MarketStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"
    SETTLED = "settled"


_WHITESPACE = re.compile(r"\s+")


def rules_hash(*texts: str | None) -> str:
    """A stable fingerprint of resolution rules; whitespace changes do not reopen a match."""
    normalised = "\n".join(_WHITESPACE.sub(" ", text or "").strip() for text in texts)
    return hashlib.sha256(normalised.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradeable outcome of a market (a Polymarket token, a side of a Kalshi ticker)."""

    venue: VenueId
    market_id: str
    outcome: Outcome
    instrument_id: str


@dataclass(frozen=True, slots=True)
class Market:
    """A binary market as pmarb sees it, whatever venue it came from."""

    venue: VenueId
    market_id: str
    title: str
    yes_instrument_id: str
    no_instrument_id: str
    status: MarketStatus = MarketStatus.OPEN
    subtitle: str = ""
    rules: str = ""
    outcome_names: tuple[str, str] = ("Yes", "No")
    close_time: datetime | None = None
    observation_time: datetime | None = None
    event_id: str | None = None
    series_id: str | None = None
    settlement_source: str | None = None
    category: str | None = None
    tick_size: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal("1")
    neg_risk: bool = False
    fees: FeeSchedule = NO_FEES
    rules_fingerprint: str = field(default="")
    # Structured strike facts where the venue publishes them (Kalshi ``strike_type``,
    # ``floor_strike``, ``cap_strike``); the matcher prefers them to parsing prose.
    strike_type: str | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    # How a settled market resolved, when known: a disagreement vetoes a match.
    settled_outcome: Outcome | None = None
    # A neg-risk event with an implicit "Other" outcome: its named YES prices may sum below 1
    # without any arbitrage, so bundle detection must skip it.
    neg_risk_augmented: bool = False
    # Seconds the venue holds an order that is marketable on arrival before matching it (see
    # :mod:`pmarb.domain.timing`); 0 where the venue documents no such delay. Older recordings
    # lack the field and decode with this default.
    taker_delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not self.taker_delay_seconds >= 0:  # also refuses NaN
            raise ValueError(f"taker delay must be >= 0 seconds, got {self.taker_delay_seconds}")
        if not self.rules_fingerprint:
            object.__setattr__(self, "rules_fingerprint", rules_hash(self.rules))

    def instrument(self, outcome: Outcome) -> Instrument:
        instrument_id = self.yes_instrument_id if outcome is Outcome.YES else self.no_instrument_id
        return Instrument(self.venue, self.market_id, outcome, instrument_id)
