"""The market-data recorder: what the live service hands to a :class:`RecordingWriter`.

A book-store listener turns each applied update into one row holding the instrument's top levels
per side read straight off the live ladders (integer micro-units, no Decimal, no snapshot). A
Kalshi NO instrument shares its YES ladder, so only the ladder's own id is recorded; a reader
rebuilds the NO book as the complement through the market definition. A book that is not valid
(dropped or waiting for a snapshot) is recorded with both sides empty: the reader treats that as
"no usable book", which is what the live scanner saw.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from pmarb.domain.market import Market, VenueId
from pmarb.domain.oracle import OracleTick
from pmarb.recording.schema import RecordingError
from pmarb.recording.writer import RecordingWriter
from pmarb.scanner.detectors import MatchedPair
from pmarb.venues.book import OrderBook
from pmarb.venues.store import BookStore, VenueTrade

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
"""How often the recorder notes each venue feed that delivered data since its last note: fine
enough that a replay judges a quiet book's freshness to within a second of live."""


Levels = tuple[int, ...]


def top_levels(book: OrderBook, depth: int) -> tuple[Levels, Levels, Levels, Levels]:
    """Bid prices, bid sizes, ask prices, ask sizes of the best ``depth`` levels, best first.

    Tuples of ints on purpose: the garbage collector stops tracking them, where buffered lists
    would make every collection walk the whole buffer (that tripled the cost per update)."""
    if not book.valid:
        return (), (), (), ()
    bids, asks = book.bids, book.asks
    bid_px = bids.prices[: -depth - 1 : -1]
    ask_px = asks.prices[:depth]
    return (
        tuple(bid_px),
        tuple(map(bids.sizes.__getitem__, bid_px)),
        tuple(ask_px),
        tuple(map(asks.sizes.__getitem__, ask_px)),
    )


class MarketDataRecorder:
    """Feeds one writer from book stores, oracle ticks, market discovery and matched pairs.

    Every method appends to the writer's buffer and returns; none raises into the caller (a
    recorder problem must not stop market data): failures are counted and logged once each.
    """

    def __init__(self, writer: RecordingWriter, *, clock_ns: Callable[[], int] = time.time_ns):
        self.writer = writer
        self.depth = writer.top_levels
        self._clock_ns = clock_ns
        self.errors = 0
        self._last_error: str | None = None
        self._beaten: dict[VenueId, int] = {}

    def _failed(self, what: str, error: Exception) -> None:
        self.errors += 1
        message = f"recorder: {what}: {error}"
        if message != self._last_error:
            log.warning("%s", message)
            self._last_error = message

    def book_listener(self, venue: VenueId, store: BookStore) -> Callable[[str], None]:
        writer, depth, clock_ns = self.writer, self.depth, self._clock_ns
        books = store.books
        venue_text = venue.value  # str(StrEnum) on every update costs more than the append

        def on_update(instrument_id: str) -> None:
            book = books.get(instrument_id)
            if book is None:  # a complement id: its ladder is recorded under the YES id
                return
            bid_px, bid_sz, ask_px, ask_sz = top_levels(book, depth)
            try:
                writer.book(clock_ns(), venue_text, instrument_id, bid_px, bid_sz, ask_px, ask_sz)
            except RecordingError as e:
                self._failed("book rows", e)

        return on_update

    def trade_listener(self, venue: VenueId) -> Callable[[VenueTrade], None]:
        writer, clock_ns, venue_text = self.writer, self._clock_ns, venue.value

        def on_trade(trade: VenueTrade) -> None:
            try:
                writer.trade(
                    clock_ns(),
                    venue_text,
                    trade.instrument_id,
                    trade.price,
                    trade.size,
                    trade.taker_side,
                )
            except RecordingError as e:
                self._failed("trade rows", e)

        return on_trade

    def heartbeat(self, venue: VenueId, store: BookStore) -> None:
        """Note the venue's feed alive as of its latest data, if it delivered any since the last
        note (a silent feed gets none, so its books age in a replay exactly as they did live)."""
        seen = store.feed_seen_wall()
        if seen is None:
            return
        ts_ns = int(seen * 1e9)
        if ts_ns <= self._beaten.get(venue, 0):
            return
        self._beaten[venue] = ts_ns
        try:
            self.writer.heartbeat(ts_ns, venue.value)
        except RecordingError as e:
            self._failed("feed heartbeats", e)

    def on_tick(self, tick: OracleTick) -> None:
        try:
            self.writer.oracle_tick(tick)
        except (RecordingError, ValueError) as e:
            self._failed(f"oracle tick {tick.series}", e)

    def on_markets(self, markets: Iterable[Market]) -> None:
        now = self._clock_ns()
        try:
            for market in markets:
                self.writer.market(now, market)
        except RecordingError as e:
            self._failed("market definitions", e)

    def on_pairs(self, pairs: Iterable[MatchedPair]) -> None:
        now = self._clock_ns()
        try:
            for pair in pairs:
                self.writer.pair(now, pair)
        except RecordingError as e:
            self._failed("matched pairs", e)

    def flush_if_due(self) -> None:
        try:
            self.writer.flush_if_due()
        except RecordingError as e:
            self._failed("flush", e)

    async def flush_in_background(self) -> None:
        """A due flush with the Parquet encoding on a worker thread: the event loop only swaps
        the buffers (the rows are then owned by that thread alone)."""
        try:
            batch = self.writer.take_if_due()
            if batch:
                await asyncio.to_thread(self.writer.write_batch, batch)
        except RecordingError as e:
            self._failed("flush", e)
