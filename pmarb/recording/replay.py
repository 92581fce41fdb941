"""Running the real scanner over a recording: ``pmarb scan --replay PATH``.

:class:`ReplayBooks` is a :class:`~pmarb.scanner.scanner.BookView` over the recording's snapshot
rows: the book of an instrument at time t is its last row at or before t. A market whose NO side
was never recorded on its own (a Kalshi NO shares the YES ladder) is read as the complement of its
YES book, as the live book store does. A book whose last row is empty on both sides was invalid or
empty when recorded and is not usable; otherwise a quiet book stays usable (venues send nothing
for a book that does not change), exactly as live.

The scanner and the fair-value models run on the recording's clock: each event sets "now" to its
``ts_ns`` before it is applied, so quotes and oracle ages are judged as they were when recorded,
and nothing reads a row later than the event being replayed. Markets and pairs join the scanner
when their definition row's time is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from pmarb.domain.book import BookSnapshot, Level
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.recording.reader import Bound, Recording
from pmarb.recording.schema import (
    MICROS,
    BookUpdate,
    OracleUpdate,
    from_micros,
    from_ns,
)
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.workers.marketdata import FAIR_VALUE_PROXIES


class ReplayBooks:
    """One venue's books as of the replay clock, from top-N snapshot rows."""

    def __init__(self, venue: VenueId) -> None:
        self.venue = venue
        self.rows: dict[str, BookUpdate] = {}
        self._complement_of: dict[str, str] = {}  # NO instrument -> YES instrument
        self.complements: dict[str, str] = {}  # YES instrument -> NO instrument

    def add_market(self, market: Market) -> None:
        self._complement_of[market.no_instrument_id] = market.yes_instrument_id
        self.complements[market.yes_instrument_id] = market.no_instrument_id

    def apply(self, row: BookUpdate) -> None:
        self.rows[row.instrument_id] = row

    def _resolve(self, instrument_id: str) -> tuple[BookUpdate | None, bool]:
        row = self.rows.get(instrument_id)
        if row is not None:
            return row, False
        yes_id = self._complement_of.get(instrument_id)
        if yes_id is None:
            return None, False
        return self.rows.get(yes_id), True

    def best_ask_micros(self, instrument_id: str) -> int | None:
        row, flipped = self._resolve(instrument_id)
        if row is None:
            return None
        if flipped:
            return MICROS - row.bid_px[0] if row.bid_px else None
        return row.ask_px[0] if row.ask_px else None

    def snapshot(self, instrument_id: str, depth: int | None = 10) -> BookSnapshot:
        row, flipped = self._resolve(instrument_id)
        if row is None:
            raise KeyError(f"no book for {instrument_id}")
        bids = _levels(row.bid_px, row.bid_sz, depth)
        asks = _levels(row.ask_px, row.ask_sz, depth)
        snapshot = BookSnapshot(self.venue, row.instrument_id, bids, asks, from_ns(row.ts_ns))
        return snapshot.complement(instrument_id) if flipped else snapshot

    def is_usable(self, instrument_id: str, max_age: float) -> bool:
        row, _ = self._resolve(instrument_id)
        return row is not None and bool(row.bid_px or row.ask_px)


def _levels(prices: Sequence[int], sizes: Sequence[int], depth: int | None) -> tuple[Level, ...]:
    count = len(prices) if depth is None else min(depth, len(prices))
    return tuple(Level(from_micros(prices[i]), from_micros(sizes[i])) for i in range(count))


def oracle_tick(update: OracleUpdate) -> OracleTick:
    """The domain tick a recorded oracle row stands for."""
    source_ns = update.ts_ns if update.source_ts_ns is None else update.source_ts_ns
    return OracleTick(
        source=OracleSource(update.source),
        symbol=update.symbol,
        kind=TickKind(update.kind),
        value=from_micros(update.value_micros),
        source_time=from_ns(source_ns),
        received_at=from_ns(update.ts_ns),
        window_seconds=update.window_seconds,
    )


class ReplayScanner:
    """The live scanner and fair values driven by a recording's events and clock."""

    def __init__(
        self,
        recording: Recording,
        emit: Callable[[Opportunity], None],
        *,
        config: ScannerConfig | None = None,
    ) -> None:
        self.recording = recording
        self.config = config or ScannerConfig()
        self.now = datetime.fromtimestamp(0, UTC)
        self.books = {venue: ReplayBooks(venue) for venue in VenueId}
        self.fair_values = LiveFairValues(
            FAIR_VALUE_PROXIES,
            max_age_seconds=self.config.max_oracle_age_seconds,
            clock=self._clock,
        )
        self.scanner = Scanner(
            dict(self.books),
            emit,
            config=self.config,
            fair_values=self.fair_values,
            clock=self._clock,
        )
        self._markets = sorted(recording.market_history, key=lambda item: item[0])
        self._pairs = sorted(recording.pair_history, key=lambda item: item[0])
        self._known: set[tuple[VenueId, str]] = set()
        self._known_pairs: set[int] = set()
        self._events_registered: set[tuple[VenueId, str]] = set()
        self.events = 0

    def _clock(self) -> datetime:
        return self.now

    def _admit(self, ts_ns: int) -> None:
        """Register markets and pairs whose definition rows are due (at or before ``ts_ns``)."""
        batch: list[Market] = []
        while self._markets and self._markets[0][0] <= ts_ns:
            _, market = self._markets.pop(0)
            key = (market.venue, market.market_id)
            if key in self._known:
                continue
            self._known.add(key)
            batch.append(market)
        if batch:
            self._register_markets(batch)
        while self._pairs and self._pairs[0][0] <= ts_ns:
            _, pair = self._pairs.pop(0)
            if pair.match_id not in self._known_pairs:
                self._known_pairs.add(pair.match_id)
                self._register_pair(pair)

    def _register_markets(self, markets: list[Market]) -> None:
        # Mirrors the live service's registration: binary bundles, complete non-augmented
        # neg-risk events (a batch is one discovery, so an event's members arrive together),
        # oracle-priced markets.
        scanner = self.scanner
        events: dict[tuple[VenueId, str], list[Market]] = {}
        for market in markets:
            self.books[market.venue].add_market(market)
            scanner.add_binary_market(market)
            if market.neg_risk and market.event_id and not market.neg_risk_augmented:
                events.setdefault((market.venue, market.event_id), []).append(market)
            symbols = self.fair_values.series_for(market)
            if symbols:
                scanner.add_oracle_market(market, symbols)
        for key, members in events.items():
            if len(members) >= 2 and key not in self._events_registered:
                self._events_registered.add(key)
                scanner.add_neg_risk_event(members)

    def _register_pair(self, pair: MatchedPair) -> None:
        self.scanner.add_pair(pair)

    def run(self, start: Bound = None, end: Bound = None) -> None:
        # Book rows stamped with the same instant are one venue message (a Polymarket trade
        # moves both tokens' books): all are applied before the scanner looks at any of them,
        # or it would pair one token's new book with the other's old one.
        pending: list[BookUpdate] = []
        for event in self.recording.events(start, end):
            self.events += 1
            if pending and event.ts_ns != pending[0].ts_ns:
                self._apply_books(pending)
                pending = []
            self.now = from_ns(event.ts_ns)
            if self._markets or self._pairs:
                self._admit(event.ts_ns)
            if isinstance(event, BookUpdate):
                pending.append(event)
            elif isinstance(event, OracleUpdate):
                if pending:
                    self._apply_books(pending)
                    pending = []
                try:
                    tick = oracle_tick(event)
                except ValueError:
                    continue  # a source or kind this pmarb does not know: nothing prices on it
                self.fair_values.observe(tick)
                self.scanner.on_oracle_update(tick.series)
        if pending:
            self._apply_books(pending)

    def _apply_books(self, rows: list[BookUpdate]) -> None:
        for row in rows:
            self.books[row.venue].apply(row)
        scanner = self.scanner
        for row in rows:
            books = self.books[row.venue]
            scanner.on_book_update(row.venue, row.instrument_id)
            complement = books.complements.get(row.instrument_id)
            if complement is not None and complement not in books.rows:
                scanner.on_book_update(row.venue, complement)


def replay_opportunities(
    recording: Recording,
    start: Bound = None,
    end: Bound = None,
    *,
    config: ScannerConfig | None = None,
) -> Iterator[Opportunity]:
    """Every opportunity the scanner emits over the recording, in detection order."""
    found: list[Opportunity] = []
    ReplayScanner(recording, found.append, config=config).run(start, end)
    yield from found


def opportunity_json(opportunity: Opportunity) -> dict[str, Any]:
    """An opportunity as JSON-ready values: Decimals as strings, times in ISO 8601."""
    document: dict[str, Any] = msgspec.to_builtins(opportunity)
    return {"key": opportunity.business_key, **document}
