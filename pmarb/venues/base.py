"""The contract every venue adapter satisfies (Polymarket, Kalshi, and paper on top of either).

Adapters parse venue payloads at the boundary into :mod:`pmarb.domain` types; nothing past this
interface knows a venue's wire format. Errors are classified here so that Temporal activities
can decide between retrying and compensating without knowing which venue raised them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from pmarb.domain.book import BookSnapshot
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import Fill, OrderRequest, OrderState
from pmarb.domain.positions import Position


class VenueError(Exception):
    """A venue refused or failed a request. ``retryable`` says whether trying again may help."""

    retryable: bool = False

    def __init__(self, venue: VenueId | str, code: str, message: str) -> None:
        super().__init__(f"{venue}: {code}: {message}")
        self.venue = str(venue)
        self.code = code


class RetryableVenueError(VenueError):
    """Throttled (429), restarting (425), 5xx, network: try again after a back-off."""

    retryable = True


class OrderRejectedError(VenueError):
    """Permanently refused: bad tick, insufficient balance, market closed, duplicate id."""


class StaleBookError(OrderRejectedError):
    """The instrument's feed is stale, so no price can be trusted (paper refuses to fill)."""


@dataclass(frozen=True, slots=True)
class MarketResolution:
    """Whether a market has resolved and what one YES contract pays (NO pays the rest).

    A void market (Polymarket "unknown", Kalshi voided) pays 0.5 to each side.
    """

    resolved: bool
    yes_payout: Decimal | None = None


@runtime_checkable
class Venue(Protocol):
    """What pmarb needs from a venue. All prices and sizes are Decimal."""

    @property
    def venue_id(self) -> VenueId: ...

    @property
    def paper(self) -> bool: ...

    async def discover_markets(self) -> list[Market]:
        """Open binary markets with their rules, outcomes and fee schedules."""
        ...

    async def get_book(self, instrument_id: str) -> BookSnapshot:
        """A REST snapshot of one outcome's book (for Kalshi's NO outcome, the complement of the
        YES ladder)."""
        ...

    async def place_order(self, order: OrderRequest) -> OrderState:
        """Send ``order``. Idempotent by ``order.client_order_id``: if an order with that id
        already exists, return its state instead of placing a second one."""
        ...

    async def cancel_order(self, client_order_id: str) -> OrderState:
        """Cancel what remains; cancelling a finished or unknown order is not an error."""
        ...

    async def get_order(self, client_order_id: str) -> OrderState | None:
        """The venue's view of the order with this client id, or None if it never arrived."""
        ...

    async def fills(self, *, since: datetime | None = None) -> Sequence[Fill]: ...

    async def positions(self) -> Sequence[Position]: ...

    async def balance(self) -> Decimal:
        """Free collateral in dollars."""
        ...

    async def market_resolution(self, market_id: str) -> MarketResolution:
        """Whether the market has resolved yet, and its payout if so."""
        ...

    async def aclose(self) -> None: ...
