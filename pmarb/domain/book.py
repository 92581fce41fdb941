"""Order-book snapshots and walking a book for a size.

Snapshots hold levels best-first. Walking consumes visible depth only, so the result never
promises more than the book shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pmarb.domain.market import VenueId
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.parity import Side


def crosses(side: Side, limit: Decimal, price: Decimal) -> bool:
    """Whether a level at ``price`` is within the limit of an order on ``side``."""
    return price <= limit if side is Side.BUY else price >= limit


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """One instrument's book at an instant: bids descending, asks ascending (best first)."""

    venue: VenueId
    instrument_id: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    received_at: datetime

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    def complement(self, instrument_id: str) -> BookSnapshot:
        """The other outcome's book: a YES bid at p is a NO ask at 1 − p, and vice versa."""
        return BookSnapshot(
            venue=self.venue,
            instrument_id=instrument_id,
            bids=tuple(Level(ONE - level.price, level.size) for level in self.asks),
            asks=tuple(Level(ONE - level.price, level.size) for level in self.bids),
            received_at=self.received_at,
        )

    def levels_for(self, side: Side) -> tuple[Level, ...]:
        """The levels an order on ``side`` would take: a buy lifts asks, a sell hits bids."""
        return self.asks if side is Side.BUY else self.bids


@dataclass(frozen=True, slots=True)
class Walk:
    """What an immediate order of ``requested`` would get from the visible book."""

    requested: Decimal
    filled: Decimal
    notional: Decimal
    worst_price: Decimal | None
    fills: tuple[Level, ...]

    @property
    def complete(self) -> bool:
        return self.filled == self.requested

    @property
    def vwap(self) -> Decimal | None:
        return self.notional / self.filled if self.filled > ZERO else None


def walk_book(
    levels: tuple[Level, ...], size: Decimal, side: Side, limit_price: Decimal | None = None
) -> Walk:
    """Consume ``levels`` (best first) for ``size``, stopping at ``limit_price`` if given."""
    if size <= ZERO:
        raise ValueError(f"walk size must be positive, got {size}")
    remaining = size
    notional = ZERO
    worst: Decimal | None = None
    taken: list[Level] = []
    for level in levels:
        if remaining <= ZERO:
            break
        if limit_price is not None and (
            (side is Side.BUY and level.price > limit_price)
            or (side is Side.SELL and level.price < limit_price)
        ):
            break
        take = min(remaining, level.size)
        if take <= ZERO:
            continue
        taken.append(Level(level.price, take))
        notional += take * level.price
        remaining -= take
        worst = level.price
    return Walk(
        requested=size,
        filled=size - remaining,
        notional=notional,
        worst_price=worst,
        fills=tuple(taken),
    )
