"""The Kalshi WebSocket: raw frames in, YES books in the :class:`BookStore` out.

Used by the live feed and by ``pmarb book replay`` alike. Protocol rules (research/venues.md
B.4):

- ``orderbook_snapshot`` replaces the market's ladder; ``orderbook_delta`` adds a SIGNED
  ``delta_fp`` to one level (a level at or below zero disappears).
- The venue sends bids only: ``side: yes`` levels are YES bids; ``side: no`` levels are NO
  bids, i.e. YES asks at 1 − q (:func:`pmarb.domain.parity.complement`). With
  ``use_yes_price: true`` the venue already reports the NO side at YES-leg prices. The
  convention is per subscription (sid); the live feed always sets it explicitly.
- ``seq`` increases by one per sid across all its markets. A gap (or a repeat) makes every book
  of that sid unknowable: they are invalidated, ``on_gap(sid, tickers)`` asks for fresh
  snapshots, and deltas are discarded until each market's snapshot arrives.
- ``ticker``, ``trade`` and ``fill`` carry no seq. Fills go to ``on_fill`` as domain fills.

Malformed frames are counted in :class:`~pmarb.feeds.health.FeedHealth`, never raised.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, insort
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from pmarb.domain.market import VenueId
from pmarb.domain.orders import Fill
from pmarb.domain.parity import Outcome, Side, complement
from pmarb.feeds.health import FeedHealth
from pmarb.venues.book import Ladder as BookLadder
from pmarb.venues.book import OrderBook
from pmarb.venues.fixedpoint import PARSED, micros, micros_of
from pmarb.venues.kalshi.instruments import instrument_id, no_id, yes_id
from pmarb.venues.kalshi.messages import (
    STREAM_TYPES,
    DeltaBody,
    ErrorMessage,
    FillBody,
    FillMessage,
    Ladder,
    OrderbookDelta,
    OrderbookSnapshot,
    StreamMessage,
    SubscribedMessage,
    TickerBody,
    TickerMessage,
    TradeBody,
    TradeMessage,
    stream_decoder,
)
from pmarb.venues.store import FEED_KEY, BookStore, VenueTrade

log = logging.getLogger(__name__)

# The taker's outcome as a side of the YES instrument the trade is printed on.
_YES_TAKER_SIDE = {"yes": "buy", "no": "sell"}

GapHandler = Callable[[int, list[str]], None]


def fill_from_ws(body: FillBody) -> Fill:
    """A ``fill`` message as a domain fill (see :func:`fill_direction`)."""
    outcome, side, price = fill_direction(
        body.yes_price_dollars, body.outcome_side, body.book_side, body.side, body.action
    )
    at = body.ts_ms / 1000 if body.ts_ms is not None else (body.ts or 0)
    return Fill(
        venue=VenueId.KALSHI,
        fill_id=body.trade_id,
        venue_order_id=body.order_id,
        client_order_id=body.client_order_id,
        instrument_id=instrument_id(body.market_ticker, outcome),
        outcome=outcome,
        side=side,
        price=price,
        size=body.count_fp,
        fee=body.fee_cost,
        is_taker=body.is_taker,
        filled_at=datetime.fromtimestamp(at, UTC),
    )


def fill_direction(
    yes_price: Decimal,
    outcome_side: str | None,
    book_side: str | None,
    legacy_side: str | None,
    legacy_action: str | None,
) -> tuple[Outcome, Side, Decimal]:
    """Which outcome was bought or sold, and at what price on that outcome.

    The legacy ``side``/``action`` pair says it exactly (buy NO, sell YES, ...). Without it,
    only the YES-leg direction is known (``book_side`` bid = long YES, ask = long NO), which is
    reported as a YES buy or sell: economically the same trade.
    """
    if legacy_side in ("yes", "no") and legacy_action in ("buy", "sell"):
        outcome = Outcome(legacy_side)
        price = yes_price if outcome is Outcome.YES else complement(yes_price)
        return outcome, Side(legacy_action), price
    long_yes = book_side == "bid" if book_side else outcome_side == "yes"
    return Outcome.YES, Side.BUY if long_yes else Side.SELL, yes_price


SNAPSHOT_RETRY_SECONDS = 2.0


class KalshiStreamHandler:
    def __init__(
        self,
        store: BookStore,
        health: FeedHealth | None = None,
        *,
        use_yes_price: bool = True,
        on_gap: GapHandler | None = None,
        on_fill: Callable[[Fill], None] | None = None,
        audit: bool = False,
    ) -> None:
        self.store = store
        self.health = health or store.health
        self.default_use_yes_price = use_yes_price
        self._on_gap = on_gap
        self._on_fill = on_fill
        self._sid_yes_price: dict[int, bool] = {}
        self._command_yes_price: dict[int, bool] = {}
        self._last_seq: dict[int, int] = {}
        self._sid_markets: dict[int, set[str]] = {}
        self._no_to_yes: dict[str, int] = {}
        """NO-side price string → YES ask in micro-units (see _yes_ask)."""
        self._book_of_ticker: dict[str, OrderBook] = {}
        self.tickers: dict[str, TickerBody] = {}
        self.trades: dict[str, TradeBody] = {}
        self.gaps = 0
        self.deltas_applied = 0
        self.ignored_without_snapshot = 0
        self.snapshot_requests = 0
        self._snapshot_requested: dict[str, float] = {}
        # Diagnostics that tell the two NO-side price conventions apart in a recording
        # (kept per update only with ``audit``; replay uses them to infer the convention).
        self.audit = audit
        self.crossed_updates = 0
        self.spread_total = 0
        self.errors: list[str] = []

    # ------------------------------------------------------------------------- conventions

    def set_convention(self, sid: int, use_yes_price: bool) -> None:
        self._sid_yes_price[sid] = use_yes_price

    def expect_subscription(self, command_id: int, use_yes_price: bool) -> None:
        """A subscribe command was sent with this convention; its ack will name the sid."""
        self._command_yes_price[command_id] = use_yes_price

    def observe_command(self, command: dict[str, Any]) -> None:
        """A client→server command (as found in a recording)."""
        params = command.get("params")
        if command.get("cmd") != "subscribe" or not isinstance(params, dict):
            return
        flag = params.get("use_yes_price")
        if isinstance(flag, bool):
            command_id = command.get("id")
            if isinstance(command_id, int):
                self._command_yes_price[command_id] = flag
            # Without an ack (not recorded) the latest explicit subscription is the best guess.
            self.default_use_yes_price = flag

    def forget_subscriptions(self) -> None:
        """A new connection: sids and their sequences start afresh."""
        self._last_seq.clear()
        self._sid_markets.clear()
        self._sid_yes_price.clear()

    # ------------------------------------------------------------------------------ frames

    def on_message(self, raw: str | bytes) -> None:
        try:
            message = stream_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._on_irregular_frame(raw)
            return
        if type(message) is OrderbookDelta:
            now = self.store.clock()
            self.health.record_message(FEED_KEY, now)
            self._delta(message, now)
        else:
            self._dispatch(message, raw)

    def _on_irregular_frame(self, raw: str | bytes) -> None:
        try:
            generic: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError as e:
            self.health.record_malformed(f"not JSON: {e}", raw)
            return
        for element in generic if isinstance(generic, list) else [generic]:
            if not isinstance(element, dict):
                self.health.record_malformed("message is not an object", raw)
                continue
            if "cmd" in element:
                self.observe_command(element)
                continue
            kind = element.get("type")
            message_class = STREAM_TYPES.get(kind) if isinstance(kind, str) else None
            if message_class is None:
                log.debug("kalshi: ignoring message type %r", kind)
                continue
            try:
                message = msgspec.convert(element, message_class)
            except msgspec.ValidationError as e:
                self.health.record_malformed(f"{kind}: {e}", raw)
                continue
            self._dispatch(message, raw)

    def _dispatch(self, message: StreamMessage, raw: str | bytes) -> None:
        if type(message) is OrderbookDelta:
            now = self.store.clock()
            self.health.record_message(FEED_KEY, now)
            self._delta(message, now)
        elif type(message) is OrderbookSnapshot:
            self.health.record_message(FEED_KEY)
            self._snapshot(message)
        elif type(message) is TickerMessage:
            self.health.record_message(FEED_KEY)
            self.tickers[message.msg.market_ticker] = message.msg
        elif type(message) is TradeMessage:
            self.health.record_message(FEED_KEY)
            self.trades[message.msg.market_ticker] = message.msg
            if self.store.trade_listeners:
                self._print_trade(message.msg)
        elif type(message) is FillMessage:
            self.health.record_message(FEED_KEY)
            if self._on_fill is not None:
                self._on_fill(fill_from_ws(message.msg))
        elif type(message) is SubscribedMessage:
            self._subscribed(message)
        elif type(message) is ErrorMessage:
            reason = f"kalshi ws error {message.msg.code}: {message.msg.msg}"
            self.errors.append(reason)
            self.health.record_error(reason)
            log.warning("%s", reason)

    # ------------------------------------------------------------------------------ books

    def _subscribed(self, message: SubscribedMessage) -> None:
        sid = message.msg.sid
        self._last_seq.pop(sid, None)
        self._sid_markets.pop(sid, None)
        if message.id is not None and message.id in self._command_yes_price:
            self._sid_yes_price[sid] = self._command_yes_price[message.id]

    def _in_sequence(self, sid: int | None, seq: int | None, snapshot: bool) -> bool:
        """Track ``seq``; on a gap invalidate the sid's books. A snapshot always applies."""
        if sid is None or seq is None:
            return True
        last = self._last_seq.get(sid)
        self._last_seq[sid] = seq
        if last is None or seq == last + 1:
            return True
        self.gaps += 1
        tickers = sorted(self._sid_markets.get(sid, ()))
        log.warning("kalshi: seq gap on sid %s (%s → %s); resyncing %s", sid, last, seq, tickers)
        self.health.record_error(f"seq gap on sid {sid}")
        for ticker in tickers:
            self.store.invalidate(yes_id(ticker))
        if self._on_gap is not None:
            self._on_gap(sid, tickers)
        return snapshot

    def _ask_for_snapshot(self, sid: int | None, ticker: str, now: float) -> None:
        """Deltas keep coming for a book whose snapshot never arrived (lost while the socket
        was silent, say): ask for one again, at most every couple of seconds per market."""
        if sid is None or self._on_gap is None:
            return
        if now - self._snapshot_requested.get(ticker, float("-inf")) < SNAPSHOT_RETRY_SECONDS:
            return
        self._snapshot_requested[ticker] = now
        self.snapshot_requests += 1
        self._on_gap(sid, [ticker])

    def _yes_ask(self, price: str, use_yes_price: bool) -> int:
        """A NO-side level's price as a YES ask in micro-units."""
        if use_yes_price:
            return micros(price)
        cached = self._no_to_yes.get(price)
        if cached is None:
            cached = self._no_to_yes[price] = micros_of(complement(Decimal(price)))
        return cached

    def _uses_yes_price(self, sid: int | None) -> bool:
        if sid is None:
            return self.default_use_yes_price
        return self._sid_yes_price.get(sid, self.default_use_yes_price)

    def _print_trade(self, trade: TradeBody) -> None:
        yes_price = trade.yes_price_dollars
        if yes_price is None and trade.no_price_dollars is not None:
            yes_price = complement(trade.no_price_dollars)
        try:
            price = micros_of(yes_price) if yes_price is not None else None
            size = micros_of(trade.count_fp) if trade.count_fp is not None else 0
        except ValueError as e:
            self.health.record_malformed(f"trade: {e}")
            return
        if price is None:
            self.health.record_malformed("trade without a price")
            return
        taker = (trade.taker_outcome_side or trade.taker_side or "").lower()
        taker_side = _YES_TAKER_SIDE.get(taker, "")
        self.store.publish_trade(VenueTrade(yes_id(trade.market_ticker), price, size, taker_side))

    def _snapshot(self, message: OrderbookSnapshot) -> None:
        body = message.msg
        ticker = body.market_ticker
        if not self._in_sequence(message.sid, message.seq, snapshot=True):
            return
        book_id = yes_id(ticker)
        book = self.store.ensure(book_id)
        self.store.register_complement(no_id(ticker), book_id)
        if message.sid is not None:
            self._sid_markets.setdefault(message.sid, set()).add(ticker)
        yes_levels: Ladder = body.yes_dollars_fp or body.yes_dollars or []
        no_levels: Ladder = body.no_dollars_fp or body.no_dollars or []
        use_yes_price = self._uses_yes_price(message.sid)
        try:
            bids = [(micros(price), micros(count)) for price, count in yes_levels]
            asks = [
                (self._yes_ask(price, use_yes_price), micros(count)) for price, count in no_levels
            ]
        except (ValueError, ArithmeticError) as e:
            self.health.record_malformed(f"orderbook_snapshot {ticker}: {e}")
            self.store.invalidate(book_id)
            if self._on_gap is not None and message.sid is not None:
                self._on_gap(message.sid, [ticker])
            return
        book.bids.replace(bids)
        book.asks.replace(asks)
        book.valid = True
        book.suspect = False
        self._audit(book)
        self.store.applied_snapshot(book)

    def _audit(self, book: OrderBook) -> None:
        bid, ask = book.bids.highest(), book.asks.lowest()
        if bid is not None and ask is not None:
            if bid >= ask:
                self.crossed_updates += 1
            else:
                self.spread_total += ask - bid

    def _delta(self, message: OrderbookDelta, now: float) -> None:
        # The hot path: sequence check, lookups, parse caches and the ladder update are
        # inlined, and anything unusual leaves the loop for _read_delta, because each saved
        # bytecode is measurable at 10^5 deltas per second.
        body = message.msg
        sid = message.sid
        seq = message.seq
        if sid is not None and seq is not None:
            last_seq = self._last_seq
            last = last_seq.get(sid)
            if last is not None and seq != last + 1:
                self._in_sequence(sid, seq, snapshot=False)
                return
            last_seq[sid] = seq
        ticker = body.market_ticker
        # OrderBook objects live as long as the store, so each ticker's is looked up once.
        book = self._book_of_ticker.get(ticker)
        if book is None:
            book = self.store.books.get(yes_id(ticker))
            if book is not None:
                self._book_of_ticker[ticker] = book
        if book is None or not book.valid:
            self.ignored_without_snapshot += 1
            self._ask_for_snapshot(sid, ticker, now)
            return
        side = body.side
        delta = PARSED.get(body.delta_fp)
        if side == "yes":
            ladder = book.bids
            price = PARSED.get(body.price_dollars)
        elif side == "no":
            ladder = book.asks
            use_yes_price = (
                self.default_use_yes_price
                if sid is None
                else self._sid_yes_price.get(sid, self.default_use_yes_price)
            )
            price = (PARSED if use_yes_price else self._no_to_yes).get(body.price_dollars)
        else:
            price = None
        if price is None or delta is None:
            read = self._read_delta(book, body, sid)
            if read is None:
                return
            ladder, price, delta = read
        # Ladder.add, inlined.
        sizes = ladder.sizes
        size = sizes.get(price, 0) + delta
        if size > 0:
            if price not in sizes:
                insort(ladder.prices, price)
            sizes[price] = size
        elif sizes.pop(price, None) is not None:
            prices = ladder.prices
            del prices[bisect_left(prices, price)]
        self.deltas_applied += 1
        if self.audit:
            self._audit(book)
        book.updated_at = now
        store = self.store
        if store.listeners:
            store.notify(book.instrument_id)

    def _read_delta(
        self, book: OrderBook, body: DeltaBody, sid: int | None
    ) -> tuple[BookLadder, int, int] | None:
        """The ladder, price and delta of a delta the parse caches could not answer; None (the
        book dropped and a snapshot asked for) when it cannot be read at all."""
        try:
            delta = micros(body.delta_fp)
            side = body.side
            if side == "yes":
                return book.bids, micros(body.price_dollars), delta
            if side == "no":
                return (
                    book.asks,
                    self._yes_ask(body.price_dollars, self._uses_yes_price(sid)),
                    delta,
                )
            raise ValueError(f"unknown side {side!r}")
        except (ValueError, ArithmeticError) as e:
            self.health.record_malformed(f"orderbook_delta {body.market_ticker}: {e}")
            self.store.invalidate(book.instrument_id)
            if self._on_gap is not None and sid is not None:
                self._on_gap(sid, [body.market_ticker])
            return None
