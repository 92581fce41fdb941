"""The in-memory book store: every instrument's live book, for the scanner, paper and the CLI.

One store per venue feed, keyed by instrument id (a Polymarket token id, a Kalshi
``TICKER:yes``). Venue stream handlers write to it; everything else only reads.

Reading (all cheap, none allocate more than the answer):

- ``best_bid_ask(instrument_id) -> (bid, ask)``: best prices as Decimal or None per side;
  ``best_ask_micros`` gives the ask as integer micro-units without building a Decimal.
- ``top(instrument_id) -> Top | None``: best prices and their sizes.
- ``snapshot(instrument_id, depth=10) -> BookSnapshot``: the top ``depth`` levels as a domain
  snapshot (``depth=None`` for all). Raises KeyError for an instrument with no book.
- ``last_update(instrument_id) -> float | None``: monotonic time of the last applied update;
  ``last_update_wall`` gives the same as unix seconds, ``age`` the seconds since.
- ``valid_as_of(instrument_id) -> float | None``: monotonic time the book was last known valid,
  which is what a quote's age counts from. While a full snapshot stands un-invalidated (no
  tick-size change, sequence gap or reconnect since), the venue's own best bid/ask agrees with
  it, and its feed delivers data, the book is known current as of the feed's latest message
  even if its own price has not changed: venues send nothing for a book that does not change,
  so a quiet book on a live feed is fresh. Otherwise it is valid only as of its last update.
  Snapshots carry this moment as ``received_at``, so the scanner's quotes and the risk
  guardian's STALE_QUOTE rule age from it.
- ``is_usable(instrument_id, max_age) -> bool``: the book is valid (as above) and was last
  known valid within ``max_age`` seconds (:class:`~pmarb.feeds.health.FeedHealth`).
- ``add_listener(callback)`` / ``remove_listener``: ``callback(instrument_id)`` runs after every
  applied update (and after an invalidation) of that instrument, on the event-loop thread. It
  must be quick and must not raise; an exception is logged and the listener kept.
- ``add_trade_listener(callback)``: ``callback(VenueTrade)`` for every trade the venue prints on
  its public feed (Polymarket ``last_trade_price``, Kalshi ``trade``), under the same rules.

Both outcomes of a binary market are readable. Polymarket has a real book per outcome token.
Kalshi has one ladder per market; its NO instrument is registered with
``register_complement(no_id, yes_id)`` and every read of it is the YES book seen through
:meth:`~pmarb.domain.book.BookSnapshot.complement` (a YES bid at p is a NO ask at 1 − p), so
the two can never drift apart. Listeners hear both ids when the shared ladder changes.

Writing (stream handlers only): ``ensure``/``book`` to reach an :class:`OrderBook`,
``applied(instrument_id)`` after changing it, ``invalidate``/``invalidate_all`` when it can no
longer be trusted, ``attach(instrument_id, health)`` to say which feed carries it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pmarb.domain.book import BookSnapshot, Level
from pmarb.domain.market import VenueId
from pmarb.domain.parity import complement
from pmarb.feeds.health import FeedHealth
from pmarb.venues.book import OrderBook
from pmarb.venues.fixedpoint import to_decimal

log = logging.getLogger(__name__)

MICROS = 1_000_000
FEED_KEY = "*feed*"
"""FeedHealth key recording that the connection delivered data at all (any instrument)."""

Listener = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """A trade on the venue's public feed; price and size in micro-units.

    Polymarket prints the traded token at its own price; Kalshi prints the market's YES
    instrument at the YES price (a taker buying NO sold YES). ``taker_side`` is ``buy`` or
    ``sell`` of that instrument, empty when the venue does not say.
    """

    instrument_id: str
    price: int
    size: int
    taker_side: str


TradeListener = Callable[[VenueTrade], None]


@dataclass(frozen=True, slots=True)
class Top:
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None


class BookStore:
    def __init__(
        self,
        venue: VenueId,
        health: FeedHealth | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.venue = venue
        self.health = health or FeedHealth(f"{venue}-books", clock=clock)
        self.clock = clock
        self._wall_clock = wall_clock
        self._wall_offset = wall_clock() - clock()
        self.books: dict[str, OrderBook] = {}
        """Instrument id → book. Stream handlers read it directly on the hot path."""
        self._complement_of: dict[str, str] = {}  # NO instrument -> YES instrument
        self._complements: dict[str, str] = {}  # YES instrument -> NO instrument
        self._health_of: dict[str, FeedHealth] = {}
        self.listeners: list[Listener] = []
        """Read-only outside this class; use add_listener/remove_listener."""
        self.trade_listeners: list[TradeListener] = []
        """Read-only outside this class; stream handlers skip building prints when empty."""

    # ----------------------------------------------------------------------------- writing

    def ensure(self, instrument_id: str) -> OrderBook:
        book = self.books.get(instrument_id)
        if book is None:
            book = self.books[instrument_id] = OrderBook(instrument_id)
        return book

    def book(self, instrument_id: str) -> OrderBook | None:
        return self.books.get(instrument_id)

    def register_complement(self, no_instrument_id: str, yes_instrument_id: str) -> None:
        self._complement_of[no_instrument_id] = yes_instrument_id
        self._complements[yes_instrument_id] = no_instrument_id

    def attach(self, instrument_id: str, health: FeedHealth) -> None:
        self._health_of[instrument_id] = health

    def healths(self) -> list[FeedHealth]:
        """Every distinct feed that carries books of this store (one per connection)."""
        unique = {id(h): h for h in [self.health, *self._health_of.values()]}
        return list(unique.values())

    def feed_is_live(self, health: FeedHealth, max_age: float) -> bool:
        """Connected and delivering data within ``max_age`` (a quiet book is not a dead feed)."""
        return health.connected and health.is_fresh(FEED_KEY, max_age)

    def health_for(self, instrument_id: str) -> FeedHealth:
        primary = self._complement_of.get(instrument_id, instrument_id)
        return self._health_of.get(primary, self.health)

    def applied(self, book: OrderBook) -> None:
        """Record that ``book`` changed (an incremental update): timestamp, listeners."""
        book.updated_at = self.clock()
        if self.listeners:
            self.notify(book.instrument_id)

    def applied_snapshot(self, book: OrderBook) -> None:
        """Record that ``book`` was replaced by a full snapshot: it is known again."""
        now = self.clock()
        book.updated_at = now
        self._health_of.get(book.instrument_id, self.health).record_message(book.instrument_id, now)
        if self.listeners:
            self.notify(book.instrument_id)

    def invalidate(self, instrument_id: str, *, drop: bool = True) -> None:
        """The book can no longer be trusted; with ``drop`` its levels are forgotten too."""
        book = self.books.get(instrument_id)
        if book is not None:
            if drop:
                book.drop()
            else:
                book.valid = False
        self._health_of.get(instrument_id, self.health).invalidate(instrument_id)
        self.notify(instrument_id)

    def invalidate_all(self, instrument_ids: Iterator[str] | list[str] | None = None) -> None:
        for instrument_id in list(self.books if instrument_ids is None else instrument_ids):
            self.invalidate(instrument_id)

    def notify(self, instrument_id: str) -> None:
        if not self.listeners:
            return
        no_id = self._complements.get(instrument_id)
        for listener in self.listeners:
            try:
                listener(instrument_id)
                if no_id is not None:
                    listener(no_id)
            except Exception:
                log.exception("book listener failed for %s", instrument_id)

    def publish_trade(self, trade: VenueTrade) -> None:
        for listener in self.trade_listeners:
            try:
                listener(trade)
            except Exception:
                log.exception("trade listener failed for %s", trade.instrument_id)

    # ----------------------------------------------------------------------------- reading

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self.listeners.remove(listener)

    def add_trade_listener(self, listener: TradeListener) -> None:
        self.trade_listeners.append(listener)

    def remove_trade_listener(self, listener: TradeListener) -> None:
        self.trade_listeners.remove(listener)

    def instruments(self) -> list[str]:
        """Every instrument with a book, YES and NO alike."""
        return [*self.books, *(n for n, y in self._complement_of.items() if y in self.books)]

    def top_reader(self, instrument_id: str) -> tuple[OrderBook, bool]:
        """The live book object holding ``instrument_id`` (created empty if not yet known) and
        whether it is read flipped: hot-path readers keep it and read its ladders directly."""
        book_id, flipped = self.primary(instrument_id)
        return self.ensure(book_id), flipped

    def primary(self, instrument_id: str) -> tuple[str, bool]:
        """The id of the book that holds ``instrument_id`` and whether it is read flipped."""
        yes_id = self._complement_of.get(instrument_id)
        return (instrument_id, False) if yes_id is None else (yes_id, True)

    def _resolve(self, instrument_id: str) -> tuple[OrderBook | None, bool]:
        """The book holding ``instrument_id`` and whether it is read as its complement."""
        yes_id = self._complement_of.get(instrument_id)
        if yes_id is not None:
            return self.books.get(yes_id), True
        return self.books.get(instrument_id), False

    def best_ask_micros(self, instrument_id: str) -> int | None:
        """The best ask in micro-units, with no Decimal built: the scanner's first filter."""
        yes_id = self._complement_of.get(instrument_id)
        if yes_id is not None:
            book = self.books.get(yes_id)
            bid = None if book is None else book.bids.highest()
            return None if bid is None else MICROS - bid
        book = self.books.get(instrument_id)
        return None if book is None else book.asks.lowest()

    def best_bid_ask(self, instrument_id: str) -> tuple[Decimal | None, Decimal | None]:
        book, flipped = self._resolve(instrument_id)
        if book is None:
            return None, None
        bid, ask = book.bids.highest(), book.asks.lowest()
        bid_d = None if bid is None else to_decimal(bid)
        ask_d = None if ask is None else to_decimal(ask)
        if flipped:
            return (
                None if ask_d is None else complement(ask_d),
                None if bid_d is None else complement(bid_d),
            )
        return bid_d, ask_d

    def top(self, instrument_id: str) -> Top | None:
        book, flipped = self._resolve(instrument_id)
        if book is None:
            return None
        bid, ask = book.bids.highest(), book.asks.lowest()
        bid_size = None if bid is None else to_decimal(book.bids.sizes[bid])
        ask_size = None if ask is None else to_decimal(book.asks.sizes[ask])
        bid_d = None if bid is None else to_decimal(bid)
        ask_d = None if ask is None else to_decimal(ask)
        if flipped:
            return Top(
                bid=None if ask_d is None else complement(ask_d),
                bid_size=ask_size,
                ask=None if bid_d is None else complement(bid_d),
                ask_size=bid_size,
            )
        return Top(bid_d, bid_size, ask_d, ask_size)

    def snapshot(self, instrument_id: str, depth: int | None = 10) -> BookSnapshot:
        book, flipped = self._resolve(instrument_id)
        if book is None:
            raise KeyError(f"no book for {instrument_id}")
        received = datetime.fromtimestamp(self._as_of_wall(book), UTC)
        if flipped:
            # The NO book's bids are the YES asks and vice versa: same depth on each side.
            return book.snapshot(self.venue, received, depth).complement(instrument_id)
        return book.snapshot(self.venue, received, depth)

    def asks_snapshot(
        self, instrument_id: str, max_price_over_best: int, depth: int = 20
    ) -> BookSnapshot:
        """Only the asks a buyer could take within ``max_price_over_best`` micro-units of the
        best ask (bids left empty): all a bundle or oracle walk reads, at a fraction of the
        cost of a full snapshot."""
        book, flipped = self._resolve(instrument_id)
        if book is None:
            raise KeyError(f"no book for {instrument_id}")
        levels: list[tuple[int, int]] = []
        if flipped:
            bids = book.bids
            for bid in reversed(bids.prices):
                price = MICROS - bid
                if (levels and price > levels[0][0] + max_price_over_best) or len(levels) >= depth:
                    break
                levels.append((price, bids.sizes[bid]))
        else:
            asks = book.asks
            for price in asks.prices:
                if (levels and price > levels[0][0] + max_price_over_best) or len(levels) >= depth:
                    break
                levels.append((price, asks.sizes[price]))
        wall = self._as_of_wall(book)
        return BookSnapshot(
            venue=self.venue,
            instrument_id=instrument_id,
            bids=(),
            asks=tuple(Level(to_decimal(price), to_decimal(size)) for price, size in levels),
            received_at=datetime.fromtimestamp(wall, UTC),
        )

    def last_update(self, instrument_id: str) -> float | None:
        book, _ = self._resolve(instrument_id)
        return None if book is None else book.updated_at

    def last_update_wall(self, instrument_id: str) -> float | None:
        updated = self.last_update(instrument_id)
        return None if updated is None else updated + self._wall_offset

    def age(self, instrument_id: str) -> float | None:
        updated = self.last_update(instrument_id)
        return None if updated is None else self.clock() - updated

    def valid_as_of(self, instrument_id: str) -> float | None:
        """Monotonic time the book was last known valid (see the module docstring)."""
        book, _ = self._resolve(instrument_id)
        return None if book is None else self._valid_as_of(book)

    def _valid_as_of(self, book: OrderBook) -> float | None:
        health = self.health_for(book.instrument_id)
        valid_since = self._known_valid_since(book, health)
        if valid_since is None:
            return book.updated_at
        fed = health.last_seen(FEED_KEY)
        return valid_since if fed is None or fed < valid_since else fed

    def _known_valid_since(self, book: OrderBook, health: FeedHealth) -> float | None:
        """The book's last update when it is still valid now; None when it is not."""
        if not book.valid or book.suspect or book.updated_at is None:
            return None
        if not health.is_fresh(book.instrument_id, math.inf):
            return None  # reconnected since: only a fresh snapshot makes it valid again
        return book.updated_at

    def _as_of_wall(self, book: OrderBook) -> float:
        as_of = self._valid_as_of(book)
        return self._wall_clock() if as_of is None else as_of + self._wall_offset

    def feed_seen_wall(self) -> float | None:
        """Unix time any feed of this store last delivered data (None: never)."""
        seen = [t for h in self.healths() if (t := h.last_seen(FEED_KEY)) is not None]
        return max(seen) + self._wall_offset if seen else None

    def is_usable(self, instrument_id: str, max_age: float) -> bool:
        book, _ = self._resolve(instrument_id)
        if book is None:
            return False
        health = self.health_for(instrument_id)
        return self._known_valid_since(book, health) is not None and health.is_fresh(
            FEED_KEY, max_age
        )

    def unusable_reason(self, instrument_id: str, max_age: float) -> str | None:
        """Why ``is_usable`` is False (for error messages), or None when it is usable."""
        book, _ = self._resolve(instrument_id)
        if book is None:
            return "no book received"
        if not book.valid:
            return "book invalidated; waiting for a fresh snapshot"
        if book.suspect:
            return "book disagrees with the venue's best bid/ask; resyncing"
        health = self.health_for(instrument_id)
        if not health.is_fresh(book.instrument_id, math.inf):
            return "feed reconnected; waiting for a fresh snapshot"
        if not health.is_fresh(FEED_KEY, max_age):
            age = health.age(FEED_KEY)
            return f"feed stale ({'never received' if age is None else f'{age:.1f}s old'})"
        return None
