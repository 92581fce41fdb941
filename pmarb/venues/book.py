"""One instrument's mutable order book in integer micro-units: the market-data hot path.

Each side is a :class:`Ladder`: a dict from price to size plus an ascending list of the prices
that exist, so an update to an existing level touches only the dict, a new or emptied level costs
one bisect, and the best level is an index away. Nothing is allocated per update except what
Python needs for a new level. Domain snapshots (:class:`~pmarb.domain.book.BookSnapshot`) are
built only when someone asks for one.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import datetime

from pmarb.domain.book import BookSnapshot, Level
from pmarb.domain.market import VenueId
from pmarb.venues.fixedpoint import to_decimal


class Ladder:
    """Price levels of one side. Prices and sizes are micro-units; a size ≤ 0 is no level."""

    __slots__ = ("prices", "sizes")

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.prices: list[int] = []
        """Ascending; read-only outside this class (hot paths index it directly)."""

    def __len__(self) -> int:
        return len(self.prices)

    def set(self, price: int, size: int) -> None:
        """Make the level at ``price`` exactly ``size`` (Polymarket: absolute sizes)."""
        sizes = self.sizes
        if size > 0:
            if price not in sizes:
                insort(self.prices, price)
            sizes[price] = size
        elif sizes.pop(price, None) is not None:
            prices = self.prices
            del prices[bisect_left(prices, price)]

    def add(self, price: int, delta: int) -> None:
        """Change the level at ``price`` by ``delta`` (Kalshi: signed changes)."""
        self.set(price, self.sizes.get(price, 0) + delta)

    def replace(self, levels: Iterable[tuple[int, int]]) -> None:
        """Forget every level and load ``levels``; later duplicates of a price win."""
        sizes: dict[int, int] = {}
        for price, size in levels:
            if size > 0:
                sizes[price] = size
            else:
                sizes.pop(price, None)
        self.sizes = sizes
        self.prices = sorted(sizes)

    def clear(self) -> None:
        self.sizes = {}
        self.prices = []

    def highest(self) -> int | None:
        prices = self.prices
        return prices[-1] if prices else None

    def lowest(self) -> int | None:
        prices = self.prices
        return prices[0] if prices else None

    def descending(self) -> list[tuple[int, int]]:
        sizes = self.sizes
        return [(price, sizes[price]) for price in reversed(self.prices)]

    def ascending(self) -> list[tuple[int, int]]:
        sizes = self.sizes
        return [(price, sizes[price]) for price in self.prices]


class OrderBook:
    """Bids and asks of one instrument, plus whether they can be trusted.

    ``valid`` is False until a full snapshot has been loaded, and again after anything that
    makes the book unknowable (tick-size change, sequence gap, reconnect); updates are not
    applied to an invalid book. ``suspect`` means the venue's own best bid/ask disagreed with
    this book: updates still apply, a resync has been asked for, and the book is not usable.
    """

    __slots__ = (
        "asks",
        "bids",
        "instrument_id",
        "suspect",
        "tick_size",
        "updated_at",
        "valid",
    )

    def __init__(self, instrument_id: str) -> None:
        self.instrument_id = instrument_id
        self.bids = Ladder()
        self.asks = Ladder()
        self.valid = False
        self.suspect = False
        self.tick_size: int | None = None
        self.updated_at: float | None = None  # monotonic seconds

    # Top-of-book readers may call these after every update (the book benchmark does): the
    # ladder's list is indexed here rather than through Ladder.highest/lowest, saving a call.
    def best_bid(self) -> int | None:
        prices = self.bids.prices
        return prices[-1] if prices else None

    def best_ask(self) -> int | None:
        prices = self.asks.prices
        return prices[0] if prices else None

    def crossed(self) -> bool:
        """Locked or crossed: impossible on a venue that matches, so a sign of a wrong book."""
        bid, ask = self.bids.highest(), self.asks.lowest()
        return bid is not None and ask is not None and bid >= ask

    def drop(self) -> None:
        """Forget the levels and wait for a fresh snapshot."""
        self.bids.clear()
        self.asks.clear()
        self.valid = False
        self.suspect = False

    def snapshot(
        self, venue: VenueId, received_at: datetime, depth: int | None = None
    ) -> BookSnapshot:
        bids = self.bids.descending()
        asks = self.asks.ascending()
        if depth is not None:
            bids, asks = bids[:depth], asks[:depth]
        return BookSnapshot(
            venue=venue,
            instrument_id=self.instrument_id,
            bids=tuple(Level(to_decimal(price), to_decimal(size)) for price, size in bids),
            asks=tuple(Level(to_decimal(price), to_decimal(size)) for price, size in asks),
            received_at=received_at,
        )
