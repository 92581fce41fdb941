"""The Polymarket market channel: raw WebSocket frames in, books in the :class:`BookStore` out.

Used by the live feed and by ``pmarb book replay`` alike, so a replayed recording exercises
exactly the code that trades. Protocol rules (research/venues.md A.5):

- A frame is one event or a JSON array of events.
- ``book`` replaces that asset's book (levels sorted here; the venue sends the best level last).
- ``price_change`` sizes are ABSOLUTE (``"0"`` removes the level); BUY is a bid level, SELL an
  ask level. Three shapes exist: ``price_changes`` (each entry names its asset), the older
  ``changes`` list and the oldest flat form, both with one top-level ``asset_id``.
- A change for an asset without a snapshot is ignored: there is no book to change.
- ``tick_size_change`` drops the book until a fresh snapshot (and asks for one).
- ``best_bid``/``best_ask`` (on each ``price_change`` entry and in ``best_bid_ask``) are the
  venue's top of book; on disagreement the book is marked suspect (unusable) and a resync is
  asked for. The data is kept: during a trade the venue reports the final best prices before
  the level removals arrive, so a transient disagreement clears itself when they do.
- There are no sequence numbers; a reconnect invalidates everything until new snapshots.

A malformed frame or entry is counted in :class:`~pmarb.feeds.health.FeedHealth` and logged,
never raised; an unparseable entry drops the book it would have changed (it is now unknown).
"""

from __future__ import annotations

import logging
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.money import to_decimal
from pmarb.domain.orders import Fill, OrderState, OrderStatus
from pmarb.domain.parity import Outcome, Side
from pmarb.feeds.health import FeedHealth
from pmarb.venues.book import OrderBook
from pmarb.venues.fixedpoint import PARSED, SCALE, micros
from pmarb.venues.polymarket.messages import (
    MARKET_EVENT_TYPES,
    BestBidAskEvent,
    BookEvent,
    BookSide,
    LastTradePriceEvent,
    MarketEvent,
    PriceChangeEntry,
    PriceChangeEvent,
    PriceChangeFrame,
    PriceLevel,
    SidedPriceChange,
    TickSizeChangeEvent,
    UserOrderEvent,
    UserTradeEvent,
    frame_decoder,
    price_change_decoder,
)
from pmarb.venues.store import FEED_KEY, BookStore, VenueTrade

log = logging.getLogger(__name__)

ResyncRequest = Callable[[str, str], None]
"""``(asset_id, reason)``: the handler wants a fresh snapshot of that asset."""

_OBJECT_START = (ord("{"), "{")  # raw[0] of bytes or of a str
# Every price_change frame names its type; one without this text is not worth a decode attempt
# that would fail (a failed attempt costs about as much as the right decode).
_PRICE_CHANGE_BYTES = b"price_change"
_PRICE_CHANGE_TEXT = "price_change"
_BUY, _SELL = BookSide.BUY, BookSide.SELL
_NOT_DATA = frozenset({"PONG", b"PONG", "pong", b"pong", "", b""})


def _levels(levels: list[PriceLevel] | None) -> list[tuple[int, int]]:
    return [(micros(level.price), micros(level.size)) for level in levels or ()]


class MarketChannelHandler:
    def __init__(
        self,
        store: BookStore,
        health: FeedHealth | None = None,
        *,
        on_resync: ResyncRequest | None = None,
        on_market_event: Callable[[MarketEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.health = health or store.health
        self._on_resync = on_resync
        self._on_market_event = on_market_event
        self.last_trades: dict[str, LastTradePriceEvent] = {}
        self.changes_applied = 0
        self.ignored_without_snapshot = 0
        self.best_mismatches = 0
        self.tick_size_changes = 0
        self.unknown_events = 0

    # ------------------------------------------------------------------------------ frames

    def on_message(self, raw: str | bytes) -> None:
        if len(raw) <= 4 and raw in _NOT_DATA:  # no hashing of every data frame
            return
        if raw[0] in _OBJECT_START and (
            _PRICE_CHANGE_BYTES in raw if type(raw) is bytes else _PRICE_CHANGE_TEXT in raw
        ):
            try:
                change = price_change_decoder.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass  # another event type (or a bad frame): the general path decides
            else:
                now = self.store.clock()
                self.health.record_message(FEED_KEY, now)
                self._price_change(change, now)
                return
        try:
            decoded = frame_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._on_irregular_frame(raw)
            return
        now = self.store.clock()
        self.health.record_message(FEED_KEY, now)
        if type(decoded) is PriceChangeEvent:
            self._price_change(decoded, now)
        elif isinstance(decoded, list):
            for event in decoded:
                self._dispatch(event)
        else:
            self._dispatch(decoded)

    def _on_irregular_frame(self, raw: str | bytes) -> None:
        """An unknown event type or a bad element: handle what can be handled, one by one."""
        try:
            generic: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError as e:
            self.health.record_malformed(f"not JSON: {e}", raw)
            return
        elements = generic if isinstance(generic, list) else [generic]
        data_seen = False
        for element in elements:
            if not isinstance(element, dict):
                self.health.record_malformed("event is not an object", raw)
                continue
            event_type = element.get("event_type")
            event_class = (
                MARKET_EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
            )
            if event_class is None:
                self.unknown_events += 1
                log.debug("polymarket: ignoring event type %r", event_type)
                continue
            try:
                event = msgspec.convert(element, event_class)
            except msgspec.ValidationError as e:
                self.health.record_malformed(f"{event_type}: {e}", raw)
                continue
            if not data_seen:
                self.health.record_message(FEED_KEY)
                data_seen = True
            self._dispatch(event)

    def apply(self, event: MarketEvent) -> None:
        """Apply one decoded event (a REST resync arrives this way, as a ``book``)."""
        self._dispatch(event)

    def _dispatch(self, event: MarketEvent) -> None:
        if type(event) is PriceChangeEvent:
            self._price_change(event, self.store.clock())
        elif type(event) is BookEvent:
            self._book(event)
        elif type(event) is TickSizeChangeEvent:
            self._tick_size_change(event)
        elif type(event) is BestBidAskEvent:
            self._best_bid_ask(event)
        elif type(event) is LastTradePriceEvent:
            self.last_trades[event.asset_id] = event
            if self.store.trade_listeners:
                self._print_trade(event)
        elif self._on_market_event is not None:
            self._on_market_event(event)

    # ------------------------------------------------------------------------------ events

    def _book(self, event: BookEvent) -> None:
        book = self.store.ensure(event.asset_id)
        try:
            bids = _levels(event.bids if event.bids is not None else event.buys)
            asks = _levels(event.asks if event.asks is not None else event.sells)
            tick = micros(event.tick_size) if event.tick_size else None
        except ValueError as e:
            self._unknowable(book, f"book: {e}")
            return
        book.bids.replace(bids)
        book.asks.replace(asks)
        if tick is not None:
            book.tick_size = tick
        book.valid = True
        book.suspect = False
        self.store.applied_snapshot(book)

    def _price_change(self, event: PriceChangeEvent | PriceChangeFrame, now: float) -> None:
        # The hot path: locals, the parse cache and the ladder update are inlined, and the
        # rare cases (older shapes, unparsed strings, lowercase sides) leave the loop early,
        # because every bytecode per entry is measurable at 10^5 changes per second.
        entries: Sequence[PriceChangeEntry | SidedPriceChange] | None = event.price_changes
        if entries is None or event.asset_id is not None:
            entries = self._older_entries(event)
            if entries is None:
                return
        store = self.store
        books = store.books
        listeners = store.listeners
        parsed = PARSED.get
        last = len(entries) - 1
        skipped = 0
        for index, entry in enumerate(entries):
            asset = entry.asset_id
            book = books.get(asset) if asset is not None else None
            if book is None or not book.valid:
                self.ignored_without_snapshot += 1
                skipped += 1
                continue
            price = parsed(entry.price)
            size = parsed(entry.size)
            side = entry.side
            if price is None or size is None or (side is not _BUY and side is not _SELL):
                parsed_change = self._parse_change(book, entry)
                if parsed_change is None:
                    skipped += 1
                    continue
                price, size, side = parsed_change
            ladder = book.bids if side is _BUY else book.asks
            # Ladder.set, inlined.
            sizes = ladder.sizes
            if size > 0:
                if price not in sizes:
                    insort(ladder.prices, price)
                sizes[price] = size
            elif sizes.pop(price, None) is not None:
                prices = ladder.prices
                del prices[bisect_left(prices, price)]
            # Check and publish once per asset, after its last change in this message.
            if index < last and entries[index + 1].asset_id == asset:
                continue
            # The common case inline: the venue's best prices are both given and equal ours.
            # An absent or not yet parsed best price is None here and takes the full check.
            bids = book.bids.prices
            asks = book.asks.prices
            if (
                bids
                and asks
                and parsed(entry.best_bid) == bids[-1]  # type: ignore[arg-type]
                and parsed(entry.best_ask) == asks[0]  # type: ignore[arg-type]
            ):
                book.suspect = False
            elif entry.best_bid or entry.best_ask:
                self._check_best(book, entry.best_bid, entry.best_ask)
            book.updated_at = now
            if listeners:
                store.notify(book.instrument_id)
        self.changes_applied += len(entries) - skipped

    def _older_entries(
        self, event: PriceChangeEvent | PriceChangeFrame
    ) -> list[PriceChangeEntry] | None:
        """The entries of the older shapes (one top-level ``asset_id``, a ``changes`` list or a
        single flat change), each naming its asset, or None for a frame without changes."""
        default_asset = event.asset_id
        entries: Sequence[PriceChangeEntry | SidedPriceChange] | None = (
            event.price_changes if event.price_changes is not None else event.changes
        )
        if entries is None:
            if event.price is None or event.size is None or event.side is None:
                self.health.record_malformed("price_change without changes")
                return None
            return [PriceChangeEntry(event.price, event.size, event.side, default_asset)]
        return [
            PriceChangeEntry(
                e.price,
                e.size,
                e.side.value if isinstance(e.side, BookSide) else e.side,
                e.asset_id or default_asset,
                e.best_bid,
                e.best_ask,
            )
            for e in entries
        ]

    def _parse_change(
        self, book: OrderBook, entry: PriceChangeEntry | SidedPriceChange
    ) -> tuple[int, int, BookSide] | None:
        """Price, size and side of an entry the hot path could not read from the parse cache
        (or whose side is a string, from the general path); None (and the book dropped) when it
        cannot be read at all."""
        try:
            price = micros(entry.price)
            size = micros(entry.size)
        except ValueError as e:
            self._unknowable(book, f"price_change: {e}")
            return None
        side = entry.side
        if isinstance(side, BookSide):
            return price, size, side
        upper = side.upper()
        if upper not in ("BUY", "SELL"):
            self._unknowable(book, f"price_change: unknown side {side!r}")
            return None
        return price, size, BookSide(upper)

    def _print_trade(self, event: LastTradePriceEvent) -> None:
        try:
            price = micros(event.price)
            size = micros(event.size) if event.size else 0
        except ValueError as e:
            self.health.record_malformed(f"last_trade_price: {e}")
            return
        side = (event.side or "").lower()
        taker_side = side if side in ("buy", "sell") else ""
        self.store.publish_trade(VenueTrade(event.asset_id, price, size, taker_side))

    def _tick_size_change(self, event: TickSizeChangeEvent) -> None:
        self.tick_size_changes += 1
        book = self.store.book(event.asset_id)
        self.store.invalidate(event.asset_id)
        if book is not None:
            try:
                book.tick_size = micros(event.new_tick_size)
            except ValueError as e:
                self.health.record_malformed(f"tick_size_change: {e}")
        self._resync(event.asset_id, "tick size changed")

    def _best_bid_ask(self, event: BestBidAskEvent) -> None:
        book = self.store.book(event.asset_id)
        if book is not None and book.valid:
            self._check_best(book, event.best_bid, event.best_ask)

    # ------------------------------------------------------------------------------ checks

    def _check_best(self, book: OrderBook, best_bid: str | None, best_ask: str | None) -> None:
        """Compare with the venue's top of book; a missing or empty field is not compared."""
        try:
            bid = (PARSED.get(best_bid) or micros(best_bid)) if best_bid else None
            ask = (PARSED.get(best_ask) or micros(best_ask)) if best_ask else None
        except ValueError as e:
            self.health.record_malformed(f"best bid/ask: {e}")
            return
        agrees = True
        if bid is not None:
            # The venue reports an empty bid side as 0.
            agrees = (book.bids.highest() or 0) == bid
        if agrees and ask is not None:
            ours_ask = book.asks.lowest()
            # ... and an empty ask side as 0 or 1.
            agrees = ours_ask == ask if ours_ask is not None else ask in (0, SCALE)
        if agrees:
            book.suspect = False
        elif not book.suspect:
            book.suspect = True
            self.best_mismatches += 1
            self._resync(book.instrument_id, "best bid/ask disagrees with the venue")

    def _unknowable(self, book: OrderBook, reason: str) -> None:
        self.health.record_malformed(reason)
        self.store.invalidate(book.instrument_id)
        self._resync(book.instrument_id, reason)

    def _resync(self, asset_id: str, reason: str) -> None:
        if self._on_resync is not None:
            self._on_resync(asset_id, reason)


def order_state_from_user_event(event: UserOrderEvent, client_order_id: str) -> OrderState:
    """A user-channel ``order`` event as the venue's view of that order."""
    matched = to_decimal(event.size_matched)
    size = to_decimal(event.original_size)
    status = event.status.upper()
    if status.startswith("CANCEL"):
        state = OrderStatus.CANCELLED
    elif status == "MATCHED" or (size > 0 and matched >= size):
        state = OrderStatus.FILLED
    elif matched > 0:
        state = OrderStatus.PARTIALLY_FILLED
    else:
        state = OrderStatus.OPEN
    return OrderState(
        client_order_id=client_order_id,
        venue_order_id=event.id,
        status=state,
        requested_size=size,
        filled_size=matched,
        average_price=to_decimal(event.price) if matched > 0 else None,
        reason=event.status if state is OrderStatus.CANCELLED else None,
    )


def taker_fill_from_user_trade(
    event: UserTradeEvent, outcome: Outcome, fees: FeeSchedule
) -> Fill | None:
    """The taker side of a user-channel ``trade``, or None until it is CONFIRMED (final)."""
    if event.status.upper() != "CONFIRMED":
        return None
    price, size = to_decimal(event.price), to_decimal(event.size)
    at = int(str(event.match_time or event.timestamp or 0))
    return Fill(
        venue=VenueId.POLYMARKET,
        fill_id=event.id,
        venue_order_id=event.taker_order_id or "",
        client_order_id=None,
        instrument_id=event.asset_id,
        outcome=outcome,
        side=Side.BUY if event.side.upper() == "BUY" else Side.SELL,
        price=price,
        size=size,
        fee=fees.fee(price, size),
        is_taker=True,
        filled_at=datetime.fromtimestamp(at / 1000 if at > 10**11 else at, UTC),
    )
