"""Pure comparison of the ledger's positions and orders with a venue's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderState
from pmarb.domain.parity import Outcome
from pmarb.domain.positions import Position

PositionKey = tuple[str, Outcome]  # (market id, outcome) within one venue


@dataclass(frozen=True, slots=True)
class PositionDifference:
    market_id: str
    outcome: Outcome
    ledger_size: Decimal
    venue_size: Decimal
    venue_average_price: Decimal

    def describe(self) -> str:
        return (
            f"{self.market_id} {self.outcome.value}: ledger {self.ledger_size}, "
            f"venue {self.venue_size}"
        )


@dataclass(frozen=True, slots=True)
class OrderDifference:
    client_order_id: str
    ledger: OrderState
    venue: OrderState | None  # None: the venue has never seen the order

    def describe(self) -> str:
        seen = (
            "unknown at the venue"
            if self.venue is None
            else f"venue {self.venue.status.value} {self.venue.filled_size}"
        )
        return (
            f"order {self.client_order_id}: ledger {self.ledger.status.value} "
            f"{self.ledger.filled_size}, {seen}"
        )


def position_differences(
    ledger: Iterable[Position], venue: Iterable[Position]
) -> list[PositionDifference]:
    """Every (market, outcome) whose held size differs; sizes only, since a venue's average
    price is its own bookkeeping and realised P&L is the ledger's."""
    held: dict[PositionKey, Position] = {(p.market_id, p.outcome): p for p in ledger}
    reported: dict[PositionKey, Position] = {(p.market_id, p.outcome): p for p in venue}
    differences = []
    for key in sorted(held.keys() | reported.keys(), key=lambda k: (k[0], k[1].value)):
        ours, theirs = held.get(key), reported.get(key)
        ours_size = ZERO if ours is None else ours.size
        theirs_size = ZERO if theirs is None else theirs.size
        if ours_size != theirs_size:
            differences.append(
                PositionDifference(
                    market_id=key[0],
                    outcome=key[1],
                    ledger_size=ours_size,
                    venue_size=theirs_size,
                    venue_average_price=ZERO if theirs is None else theirs.average_price,
                )
            )
    return differences


def order_differs(ledger: OrderState, venue: OrderState | None) -> bool:
    """Whether the venue's view of an order is news to the ledger."""
    if venue is None:
        return True
    return venue.status is not ledger.status or venue.filled_size != ledger.filled_size


def order_differences(
    pairs: Sequence[tuple[OrderState, OrderState | None]],
) -> list[OrderDifference]:
    return [
        OrderDifference(ledger.client_order_id, ledger, venue)
        for ledger, venue in pairs
        if order_differs(ledger, venue)
    ]
