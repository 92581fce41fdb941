"""Orders as pmarb sends them and as venues report them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.parity import Outcome, Side


class TimeInForce(StrEnum):
    FOK = "fok"  # all or nothing, now
    FAK = "fak"  # fill what is there now, cancel the rest (IOC)
    GTC = "gtc"  # rest until cancelled
    GTD = "gtd"  # rest until a deadline


class OrderStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class OrderPurpose(StrEnum):
    OPEN = "open"  # takes new risk: blocked while halted
    HEDGE = "hedge"  # completes a position into a locked payout: blocked while halted
    UNWIND = "unwind"  # closes exposure: allowed while halted
    EXIT = "exit"  # planned exit of a round trip: allowed while halted

    @property
    def adds_risk(self) -> bool:
        return self in (OrderPurpose.OPEN, OrderPurpose.HEDGE)


def client_order_id(workflow_id: str, leg: str) -> str:
    """The idempotency key for one leg of one lifecycle: the same inputs, the same id."""
    if not workflow_id or not leg:
        raise ValueError("client order ids need both a workflow id and a leg name")
    return f"{workflow_id}:{leg}"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    venue: VenueId
    market_id: str
    instrument_id: str
    outcome: Outcome
    side: Side
    price: Decimal
    size: Decimal
    time_in_force: TimeInForce
    expires_at: datetime | None = None
    post_only: bool = False
    # When the caller first decided to send this order; reused on every retry so venues
    # without client order ids (Polymarket) can sign the identical order again.
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.size <= ZERO:
            raise ValueError(f"order size must be positive, got {self.size}")
        if not ZERO < self.price < 1:
            raise ValueError(f"order price must lie strictly between 0 and 1, got {self.price}")
        if self.time_in_force is TimeInForce.GTD and self.expires_at is None:
            raise ValueError("a GTD order needs expires_at")
        if self.post_only and self.time_in_force in (TimeInForce.FOK, TimeInForce.FAK):
            raise ValueError("post-only orders rest; they cannot be FOK or FAK")


@dataclass(frozen=True, slots=True)
class Fill:
    venue: VenueId
    fill_id: str
    venue_order_id: str
    client_order_id: str | None
    instrument_id: str
    outcome: Outcome
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    is_taker: bool
    filled_at: datetime


@dataclass(frozen=True, slots=True)
class OrderState:
    """A venue's view of one order."""

    client_order_id: str
    venue_order_id: str | None
    status: OrderStatus
    requested_size: Decimal
    filled_size: Decimal = ZERO
    average_price: Decimal | None = None
    fees: Decimal = ZERO
    reason: str | None = None
    # What the filled size cost or raised, exactly (Σ price × size over the fills), where the
    # venue knows it: an average price is a rounded quotient and cannot give it back.
    notional: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.requested_size - self.filled_size

    @property
    def filled_notional(self) -> Decimal:
        """The exact notional when known, else filled size × average price."""
        if self.notional is not None:
            return self.notional
        return self.filled_size * (self.average_price or ZERO)
