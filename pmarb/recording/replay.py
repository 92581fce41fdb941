"""Running the real scanner over a recording: ``pmarb scan --replay PATH``.

Recorded book rows are loaded into the live :class:`~pmarb.venues.store.BookStore`, one store
per venue on the replay's clock (:func:`load_snapshot`, which the backtest's exchange uses too):
each row replaces its instrument's book, as a venue snapshot would, and counts as data from that
venue's feed, as does each recorded feed heartbeat, so feed staleness is judged exactly as live
(a quiet book on a live feed is fresh; a book whose feed fell silent goes stale). A Kalshi NO
instrument is read through its YES ladder, as live.

The scanner and the fair-value models run on the recording's clock: each event sets "now" to its
``ts_ns`` before it is applied, so quotes and oracle ages are judged as they were when recorded,
and nothing reads a row later than the event being replayed. Markets and pairs join the scanner
when their definition row's time is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.feeds.health import FeedHealth
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.recording.reader import Bound, Recording
from pmarb.recording.schema import (
    BookUpdate,
    FeedHeartbeat,
    OracleUpdate,
    from_micros,
    from_ns,
)
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.venues.store import FEED_KEY, BookStore
from pmarb.workers.marketdata import FAIR_VALUE_PROXIES


def load_snapshot(store: BookStore, row: BookUpdate) -> None:
    """Load one recorded top-N row as the instrument's whole book, as a venue snapshot would be
    applied live: the book is valid, its feed delivered data now, the store's listeners hear it.

    A Kalshi NO instrument shares its YES ladder (registered as a complement): its rows, if a
    recording has any, are carried by the YES rows and skipped here.
    """
    book_id, flipped = store.primary(row.instrument_id)
    if flipped:
        return
    book = store.ensure(book_id)
    book.bids.replace(zip(row.bid_px, row.bid_sz, strict=True))
    book.asks.replace(zip(row.ask_px, row.ask_sz, strict=True))
    book.valid = True
    book.suspect = False
    store.health.record_message(FEED_KEY)
    store.applied_snapshot(book)


def feed_alive(store: BookStore) -> None:
    """A recorded heartbeat: the venue's feed delivered data then, so its valid books are
    current then, however long since their prices changed."""
    store.health.record_message(FEED_KEY)


def replay_store(venue: VenueId, seconds: Callable[[], float]) -> BookStore:
    """A venue's book store on the replay's clock, its feed connected."""
    health = FeedHealth(f"{venue}-replay", clock=seconds)
    health.connected = True
    return BookStore(venue, health, clock=seconds, wall_clock=seconds)


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


def known_oracle_tick(update: OracleUpdate) -> OracleTick | None:
    """The domain tick of a recorded oracle row, or None for a source or kind this pmarb does
    not know (nothing prices on it)."""
    try:
        return oracle_tick(update)
    except ValueError:
        return None


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
        self._ns = 0
        self.stores = {venue: replay_store(venue, self._seconds) for venue in VenueId}
        # Updates are collected while a batch is loaded and scanned once it is complete.
        self._touched: list[tuple[VenueId, str]] = []
        for venue, store in self.stores.items():
            store.add_listener(self._toucher(venue))
        self.fair_values = LiveFairValues(
            FAIR_VALUE_PROXIES,
            max_age_seconds=self.config.max_oracle_age_seconds,
            clock=self._clock,
        )
        self.scanner = Scanner(
            dict(self.stores),
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

    def _seconds(self) -> float:
        return self._ns / 1e9

    def _toucher(self, venue: VenueId) -> Callable[[str], None]:
        touched = self._touched

        def touch(instrument_id: str) -> None:
            touched.append((venue, instrument_id))

        return touch

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
            if market.venue is VenueId.KALSHI:  # one ladder per market, NO read through it
                self.stores[market.venue].register_complement(
                    market.no_instrument_id, market.yes_instrument_id
                )
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
            self._ns = event.ts_ns
            if self._markets or self._pairs:
                self._admit(event.ts_ns)
            if isinstance(event, BookUpdate):
                pending.append(event)
            elif isinstance(event, FeedHeartbeat):
                feed_alive(self.stores[event.venue])
            elif isinstance(event, OracleUpdate):
                if pending:
                    self._apply_books(pending)
                    pending = []
                tick = known_oracle_tick(event)
                if tick is None:
                    continue
                self.fair_values.observe(tick)
                self.scanner.on_oracle_update(tick.series)
        if pending:
            self._apply_books(pending)

    def _apply_books(self, rows: list[BookUpdate]) -> None:
        for row in rows:
            load_snapshot(self.stores[row.venue], row)
        touched = list(self._touched)
        self._touched.clear()
        on_book_update = self.scanner.on_book_update
        for venue, instrument_id in touched:
            on_book_update(venue, instrument_id)


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
