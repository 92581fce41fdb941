"""The incremental scanner: an update re-evaluates only the detectors that touch it.

Books are read through :class:`BookView` (the venue book store satisfies it); fair values through
:class:`FairValueSource`. The common case — an update that changes nothing worth trading — must be
cheap, so each detector carries a top-of-book check compiled at registration: it reads the live
ladders' best prices in integer micro-units directly, with no Decimal, no snapshot and no clock.
Only when that check passes does the detector take snapshots and walk depth. A detector that has
just emitted is not walked again until its dedupe period ends; the workflow id derived from the
business key makes any duplicate start a no-op anyway.

Cheaper still is not running the check at all. Each notified book has a :class:`_Watch` that
remembers the best prices its detectors last read from it, and each detector whose check reads
only live best prices remembers the check's last answer (kept current because every change of
any of its legs' best prices reaches it through that leg's watch). An update that leaves this
book's relevant best prices where they were, while none of its detectors may pay, therefore
cannot change any answer and costs one comparison. Anything else re-checks exactly the detectors
the update touches, as if nothing were cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pmarb.domain.book import BookSnapshot
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.parity import Outcome
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import (
    CROSS_DIRECTIONS,
    FairValueQuote,
    MatchedPair,
    better,
    cross_direction,
    cross_outcomes,
    cross_venue,
    intra_venue,
    neg_risk,
    oracle_lag,
)

log = logging.getLogger(__name__)

MICROS = 1_000_000


class PriceLadder(Protocol):
    prices: list[int]  # ascending micro-units


class LadderBook(Protocol):
    bids: PriceLadder
    asks: PriceLadder


class BookView(Protocol):
    def best_ask_micros(self, instrument_id: str) -> int | None: ...

    def snapshot(self, instrument_id: str, depth: int | None = 10) -> BookSnapshot: ...

    def is_usable(self, instrument_id: str, max_age: float) -> bool: ...


class FastBookView(BookView, Protocol):
    """A view whose live ladders may be read directly (the venue book store)."""

    def top_reader(self, instrument_id: str) -> tuple[LadderBook, bool]: ...

    def primary(self, instrument_id: str) -> tuple[str, bool]: ...


class FairValueSource(Protocol):
    def fair_value(self, market: Market) -> FairValueQuote | None:
        """The model's current view, or None when its inputs are missing or stale."""
        ...


Key = tuple[VenueId, str]  # (venue, instrument id)
AskReader = Callable[[], int | None]


_UNSEEN = -1
"""A watch's remembered best price before it has read one (real prices are never negative)."""


class _NoLadder:
    """Stands in for the ladders of a view without live ones (its watches never read them)."""

    def __init__(self) -> None:
        self.prices: list[int] = []


_NO_LADDER = _NoLadder()


class _Detector:
    __slots__ = (
        "emitted_at",
        "evaluate",
        "instruments",
        "kind",
        "may_pay",
        "paying",
        "reads",
        "watches",
    )

    def __init__(
        self,
        kind: str,
        instruments: tuple[Key, ...],
        may_pay: Callable[[], bool],
        evaluate: Callable[[datetime, str], Opportunity | None],
        reads: list[tuple[PriceLadder, bool]] | None = None,
    ) -> None:
        self.kind = kind
        self.instruments = instruments
        self.may_pay = may_pay
        self.evaluate = evaluate
        self.emitted_at: datetime | None = None
        self.reads = reads
        """The live ladders ``may_pay`` reads (flipped: a bid ladder read as asks), when it
        reads nothing else; None when its answer can change without a book update (fair
        values) or the books have no live ladders. Only these detectors cache ``paying``."""
        self.paying = False
        """``may_pay()`` as of the last change of any of its legs' best prices."""
        self.watches: list[_Watch] = []


# Which best prices of its book a watch compares (see Scanner.listener_for).
_READS_NOTHING = 0  # some detector has no cacheable check: every update re-checks
_READS_ASK = 1
_READS_BID = 2  # a flipped ladder: a Kalshi NO ask is one minus the YES book's best bid
_READS_BOTH = 3


class _Watch:
    """One notified book's hot-path state: the best prices its detectors last read from it, how
    many of them may pay now, and whether any of them has no cacheable check."""

    __slots__ = (
        "ask",
        "asks",
        "bid",
        "bids",
        "book",
        "checks",
        "count",
        "detectors",
        "paying",
        "reads",
        "uncached",
    )

    def __init__(self, book: LadderBook | None) -> None:
        self.book = book
        """The live book notified under this id; None when the view has no live ladders."""
        self.asks: PriceLadder = _NO_LADDER if book is None else book.asks
        self.bids: PriceLadder = _NO_LADDER if book is None else book.bids
        self.detectors: list[_Detector] = []
        self.count = 0
        self.ask: int | None = _UNSEEN
        self.bid: int | None = _UNSEEN
        self.paying = 0
        self.uncached = book is None
        self.reads = _READS_NOTHING
        self.checks = 0

    def remember_tops(self) -> None:
        book = self.book
        if book is not None:
            asks, bids = book.asks.prices, book.bids.prices
            self.ask = asks[0] if asks else None
            self.bid = bids[-1] if bids else None


@dataclass
class ScannerStats:
    suppressed_stale: int = 0
    emitted: int = 0
    stale_instruments: set[Key] = field(default_factory=set)
    oracle_checks: int = 0
    watches: list[_Watch] = field(default_factory=list, repr=False)
    forgotten_checks: int = 0

    @property
    def evaluations(self) -> int:
        """Detector checks asked for: each book update counts the detectors that touch its
        instrument (whether or not the cached answer spared running them), each oracle tick
        the detectors priced on it."""
        return self.forgotten_checks + self.oracle_checks + sum(w.checks for w in self.watches)


class Scanner:
    def __init__(
        self,
        books: Mapping[VenueId, BookView],
        emit: Callable[[Opportunity], None],
        *,
        config: ScannerConfig | None = None,
        fair_values: FairValueSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._books = books
        self._emit = emit
        self.config = config or ScannerConfig()
        self._fair_values = fair_values
        self._clock = clock
        self._by_venue: dict[VenueId, dict[str, list[_Detector]]] = {v: {} for v in books}
        self._watches: dict[VenueId, dict[str, _Watch]] = {v: {} for v in books}
        self._listeners: dict[VenueId, Callable[[str], None]] = {}
        self._by_symbol: dict[str, list[_Detector]] = {}
        self._fair: dict[tuple[VenueId, str], FairValueQuote | None] = {}
        self._oracle_markets: dict[int, Market] = {}
        self._emitted: dict[str, datetime] = {}
        self.stats = ScannerStats()
        self.enabled = True
        self._arb_limit = MICROS - int(self.config.min_arb_edge * MICROS)
        self._oracle_edge = int(self.config.min_oracle_edge * MICROS)
        slippage = self.config.max_slippage
        self._slippage_micros = None if slippage is None else int(slippage * MICROS)

    # -- reading top of book -----------------------------------------------------------------

    def _ask_reader(self, key: Key) -> AskReader:
        view = self._books[key[0]]
        top_reader = getattr(view, "top_reader", None)
        if top_reader is None:  # a view without live ladders: ask it each time
            instrument = key[1]
            return lambda: view.best_ask_micros(instrument)
        book, flipped = top_reader(key[1])
        if flipped:
            bids = book.bids

            def flipped_ask() -> int | None:
                prices = bids.prices
                return MICROS - prices[-1] if prices else None

            return flipped_ask
        asks = book.asks

        def ask() -> int | None:
            prices = asks.prices
            return prices[0] if prices else None

        return ask

    def _ladder_parts(self, keys: Sequence[Key]) -> list[tuple[PriceLadder, bool]] | None:
        """For each key, the live ladder holding its best ask and whether it is a flipped bid
        ladder; None when some view has no live ladders."""
        parts: list[tuple[PriceLadder, bool]] = []
        for venue, instrument in keys:
            top_reader = getattr(self._books[venue], "top_reader", None)
            if top_reader is None:
                return None
            book, flipped = top_reader(instrument)
            parts.append((book.bids, True) if flipped else (book.asks, False))
        return parts

    def _bundle_check(
        self, *directions: Sequence[Key]
    ) -> tuple[Callable[[], bool], list[tuple[PriceLadder, bool]] | None]:
        """A check that is true when some direction's best asks sum to at most one minus the
        minimum edge, and the live ladders it reads (None when it reads through the view).

        The check runs whenever a leg's best price moves, so it reads the ladders inline: one
        call, no Decimal.
        """
        compiled = [self._ladder_parts(keys) for keys in directions]
        check = self._compile_check(directions, compiled)
        if any(parts is None for parts in compiled):
            return check, None
        return check, [part for parts in compiled if parts is not None for part in parts]

    def _bundle_check_only(self, *directions: Sequence[Key]) -> Callable[[], bool]:
        return self._bundle_check(*directions)[0]

    def _compile_check(
        self,
        directions: Sequence[Sequence[Key]],
        compiled: list[list[tuple[PriceLadder, bool]] | None],
    ) -> Callable[[], bool]:
        limit = self._arb_limit
        if any(parts is None for parts in compiled):
            readers = [[self._ask_reader(key) for key in keys] for keys in directions]

            def may_pay_slow() -> bool:
                for direction in readers:
                    prices = [read() for read in direction]
                    if None not in prices and sum(p for p in prices if p is not None) <= limit:
                        return True
                return False

            return may_pay_slow
        fast = [parts for parts in compiled if parts is not None]
        if all(len(parts) == 2 for parts in fast) and len(fast) in (1, 2):
            return _two_leg_check(fast, limit)

        def may_pay() -> bool:
            for parts in fast:
                total = 0
                for ladder, flipped in parts:
                    prices = ladder.prices
                    if not prices:
                        break
                    total += MICROS - prices[-1] if flipped else prices[0]
                else:
                    if total <= limit:
                        return True
            return False

        return may_pay

    def _notify_key(self, key: Key) -> str:
        """The id the book store notifies under (a Kalshi NO book is its YES ladder's)."""
        primary = getattr(self._books[key[0]], "primary", None)
        return key[1] if primary is None else str(primary(key[1])[0])

    # -- registration ----------------------------------------------------------------------

    def _register(self, detector: _Detector, symbols: Sequence[str] = ()) -> None:
        if detector.reads is not None:
            detector.paying = detector.may_pay()
        for venue, instrument in dict.fromkeys(
            (key[0], self._notify_key(key)) for key in detector.instruments
        ):
            self._by_venue.setdefault(venue, {}).setdefault(instrument, []).append(detector)
            watches = self._watches.setdefault(venue, {})
            watch = watches.get(instrument)
            if watch is None:
                top_reader = getattr(self._books[venue], "top_reader", None)
                book = None if top_reader is None else top_reader(instrument)[0]
                watch = watches[instrument] = _Watch(book)
                self.stats.watches.append(watch)
            watch.detectors.append(detector)
            detector.watches.append(watch)
            if detector.reads is None:
                watch.uncached = True
            elif detector.paying:
                watch.paying += 1
            # Forget what the watch last saw: its first update re-checks everything.
            watch.ask = watch.bid = _UNSEEN
            self._decide_reads(watch)
        for symbol in symbols:
            self._by_symbol.setdefault(symbol, []).append(detector)

    def _decide_reads(self, watch: _Watch) -> None:
        """Which of its book's best prices a watch compares: those its detectors read."""
        watch.count = len(watch.detectors)
        if watch.uncached or watch.book is None:
            watch.reads = _READS_NOTHING
            return
        read = [ladder for d in watch.detectors for ladder, _ in d.reads or ()]
        reads_asks = any(ladder is watch.asks for ladder in read)
        reads_bids = any(ladder is watch.bids for ladder in read)
        if reads_asks and reads_bids:
            watch.reads = _READS_BOTH
        else:
            watch.reads = _READS_BID if reads_bids else _READS_ASK

    def _changed(self, watch: _Watch) -> None:
        """A watched book's best prices moved, or one of its detectors may pay: bring the cached
        answers up to date and run the detectors that may pay."""
        for detector in watch.detectors:
            if detector.reads is not None:
                paying = detector.may_pay()
                if paying != detector.paying:
                    detector.paying = paying
                    step = 1 if paying else -1
                    for other in detector.watches:
                        other.paying += step
        watch.remember_tops()
        if watch.paying or watch.uncached:
            self._run(watch.detectors)

    def add_binary_market(self, market: Market) -> None:
        keys = (
            (market.venue, market.yes_instrument_id),
            (market.venue, market.no_instrument_id),
        )
        check, reads = self._bundle_check(keys)
        self._register(
            _Detector("intra", keys, check, lambda n, k: self._intra(market, n, k), reads)
        )

    def add_neg_risk_event(self, markets: Sequence[Market]) -> None:
        """A complete set of the event's named outcomes (augmented events must not be added)."""
        keys = tuple((m.venue, m.yes_instrument_id) for m in markets)
        members = tuple(markets)
        check, reads = self._bundle_check(keys)
        self._register(
            _Detector("neg_risk", keys, check, lambda n, k: self._neg_risk(members, n, k), reads)
        )

    def add_pair(self, pair: MatchedPair) -> None:
        a_yes = (pair.a.venue, pair.a.yes_instrument_id)
        a_no = (pair.a.venue, pair.a.no_instrument_id)
        b_yes = (pair.b.venue, pair.b.yes_instrument_id)
        b_no = (pair.b.venue, pair.b.no_instrument_id)
        legs: list[tuple[Key, Key]] = []
        for direction in CROSS_DIRECTIONS:
            out_a, out_b = cross_outcomes(pair, direction)
            legs.append(
                (a_yes if out_a is Outcome.YES else a_no, b_yes if out_b is Outcome.YES else b_no)
            )
        check, reads = self._bundle_check(*legs)
        # A direction whose best asks fail the check cannot pay (with fees never negative, every
        # unit costs at least its best asks), so with live ladders only the directions that pass
        # are snapshotted and walked.
        lazy = reads is not None and pair.a.fees.taker_rate >= 0 and pair.b.fees.taker_rate >= 0
        directions = (
            [
                (direction, self._bundle_check_only(keys), keys)
                for direction, keys in zip(CROSS_DIRECTIONS, legs, strict=True)
            ]
            if lazy
            else None
        )
        self._register(
            _Detector(
                "cross",
                (a_yes, a_no, b_yes, b_no),
                check,
                lambda n, k: self._cross(pair, n, k, directions),
                reads,
            )
        )

    def add_oracle_market(self, market: Market, symbols: Sequence[str]) -> None:
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        yes_ask, no_ask = self._ask_reader(keys[0]), self._ask_reader(keys[1])
        cache_key = (market.venue, market.market_id)
        edge = self._oracle_edge

        def may_pay() -> bool:
            fair = self._fair.get(cache_key)
            if fair is None:
                return False
            p = int(fair.probability * MICROS)
            yes, no = yes_ask(), no_ask()
            return (yes is not None and p - yes >= edge) or (
                no is not None and (MICROS - p) - no >= edge
            )

        detector = _Detector("oracle", keys, may_pay, lambda n, k: self._oracle(market, n, k))
        self._oracle_markets[id(detector)] = market
        self._register(detector, symbols)

    def clear(self) -> None:
        for index in self._by_venue.values():
            index.clear()
        for watches in self._watches.values():  # in place: listeners hold these dicts
            watches.clear()
        stats = self.stats
        stats.forgotten_checks += sum(w.checks for w in stats.watches)
        stats.watches.clear()
        self._by_symbol.clear()
        self._fair.clear()
        self._oracle_markets.clear()
        self._emitted.clear()

    @property
    def detector_count(self) -> int:
        return len(
            {id(d) for index in self._by_venue.values() for ds in index.values() for d in ds}
        )

    # -- triggers --------------------------------------------------------------------------

    def listener_for(self, venue: VenueId) -> Callable[[str], None]:
        """A book-store listener for one venue: the hot path of every book update.

        Inline, with no further call in the usual case: find the book's watch and compare the
        best prices its detectors read with the last ones seen. Identity first: a level that
        stays keeps its price object in the ladder, so the usual answer reads no int."""
        listener = self._listeners.get(venue)
        if listener is not None:
            return listener
        watch_for = self._watches.setdefault(venue, {}).get
        changed = self._changed

        def on_update(instrument_id: str) -> None:
            watch = watch_for(instrument_id)
            if watch is None:
                return
            watch.checks += watch.count
            reads = watch.reads
            if reads == _READS_ASK:
                prices = watch.asks.prices
                top = prices[0] if prices else None
                if not watch.paying and (top is watch.ask or top == watch.ask):
                    return
            elif reads == _READS_BID:
                prices = watch.bids.prices
                top = prices[-1] if prices else None
                if not watch.paying and (top is watch.bid or top == watch.bid):
                    return
            elif reads == _READS_BOTH:
                asks, bids = watch.asks.prices, watch.bids.prices
                ask = asks[0] if asks else None
                bid = bids[-1] if bids else None
                if (
                    not watch.paying
                    and (ask is watch.ask or ask == watch.ask)
                    and (bid is watch.bid or bid == watch.bid)
                ):
                    return
            changed(watch)

        self._listeners[venue] = on_update
        return on_update

    def on_book_update(self, venue: VenueId, instrument_id: str) -> None:
        self.listener_for(venue)(instrument_id)

    def on_oracle_update(self, symbol: str) -> None:
        """A new tick: re-price the markets that depend on it (book updates reuse the value),
        then evaluate them."""
        detectors = self._by_symbol.get(symbol)
        if not detectors:
            return
        source = self._fair_values
        if source is not None:
            for detector in detectors:
                market = self._oracle_markets[id(detector)]
                self._fair[(market.venue, market.market_id)] = source.fair_value(market)
        self.stats.oracle_checks += len(detectors)
        self._run(detectors)

    def _run(self, detectors: list[_Detector]) -> None:
        if not self.enabled:
            return
        stats = self.stats
        now: datetime | None = None
        suffix = ""
        for detector in detectors:
            if not (detector.paying if detector.reads is not None else detector.may_pay()):
                continue
            if now is None:
                now = self._clock()
                suffix = f"-{int(now.timestamp())}"
            emitted_at = detector.emitted_at
            if (
                emitted_at is not None
                and (now - emitted_at).total_seconds() < self.config.dedupe_bucket_seconds
            ):
                continue
            try:
                found = detector.evaluate(now, suffix)
            except Exception:
                log.exception("%s detector failed", detector.kind)
                continue
            if found is None:
                continue
            # A gap that persists is one opportunity; it is offered again only after the
            # dedupe period, under a new key (the detector built it with the time suffix, so
            # the opportunity need not be copied to change it).
            key = found.business_key
            signature = key[: len(key) - len(suffix)]
            first = self._emitted.get(signature)
            if (
                first is not None
                and (now - first).total_seconds() < self.config.dedupe_bucket_seconds
            ):
                continue
            self._emitted[signature] = now
            detector.emitted_at = now
            if len(self._emitted) > 10_000:
                self._forget_before(now)
            stats.emitted += 1
            self._emit(found)

    def _forget_before(self, now: datetime) -> None:
        horizon = self.config.dedupe_bucket_seconds
        self._emitted = {
            sig: seen
            for sig, seen in self._emitted.items()
            if (now - seen).total_seconds() < horizon
        }

    # -- evaluation ------------------------------------------------------------------------

    def _usable(self, keys: Sequence[Key]) -> bool:
        max_age = self.config.max_book_age_seconds
        stale = [key for key in keys if not self._books[key[0]].is_usable(key[1], max_age)]
        if stale:
            self.stats.suppressed_stale += 1
            self.stats.stale_instruments.update(stale)
            return False
        stale_instruments = self.stats.stale_instruments
        if stale_instruments:  # usually empty: skip hashing the keys on the emitting path
            stale_instruments.difference_update(keys)
        return True

    def _snapshot(self, key: Key) -> BookSnapshot:
        """The asks a walk may take: bounded by the slippage limit where the view can do that
        cheaply (the live book store), else the configured depth."""
        view = self._books[key[0]]
        asks_snapshot = getattr(view, "asks_snapshot", None)
        if asks_snapshot is not None and self._slippage_micros is not None:
            snapshot: BookSnapshot = asks_snapshot(key[1], self._slippage_micros, self.config.depth)
            return snapshot
        return view.snapshot(key[1], self.config.depth)

    def _intra(self, market: Market, now: datetime, key_suffix: str) -> Opportunity | None:
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        if not self._usable(keys):
            return None
        return intra_venue(
            market,
            self._snapshot(keys[0]),
            self._snapshot(keys[1]),
            now,
            self.config,
            key_suffix=key_suffix,
        )

    def _neg_risk(
        self, markets: Sequence[Market], now: datetime, key_suffix: str
    ) -> Opportunity | None:
        keys = tuple((m.venue, m.yes_instrument_id) for m in markets)
        if not self._usable(keys):
            return None
        return neg_risk(
            [(m, self._snapshot(k)) for m, k in zip(markets, keys, strict=True)],
            now,
            self.config,
            key_suffix=key_suffix,
        )

    def _cross(
        self,
        pair: MatchedPair,
        now: datetime,
        key_suffix: str,
        directions: list[tuple[int, Callable[[], bool], tuple[Key, Key]]] | None,
    ) -> Opportunity | None:
        keys = (
            (pair.a.venue, pair.a.yes_instrument_id),
            (pair.a.venue, pair.a.no_instrument_id),
            (pair.b.venue, pair.b.yes_instrument_id),
            (pair.b.venue, pair.b.no_instrument_id),
        )
        if not self._usable(keys):
            return None
        if directions is not None:
            return better(
                [
                    cross_direction(
                        pair,
                        direction,
                        self._snapshot(a),
                        self._snapshot(b),
                        now,
                        self.config,
                        key_suffix=key_suffix,
                    )
                    for direction, may_pay, (a, b) in directions
                    if may_pay()
                ]
            )
        snapshots = [self._snapshot(key) for key in keys]
        return cross_venue(
            pair,
            (snapshots[0], snapshots[1]),
            (snapshots[2], snapshots[3]),
            now,
            self.config,
            key_suffix=key_suffix,
        )

    def _oracle(self, market: Market, now: datetime, key_suffix: str) -> Opportunity | None:
        fair = self._fair.get((market.venue, market.market_id))
        if fair is None or self._fair_values is None:
            self.stats.suppressed_stale += 1
            return None
        # The cached value was computed on the last tick; ask again so staleness is re-checked.
        fresh = self._fair_values.fair_value(market)
        if fresh is None:
            self.stats.suppressed_stale += 1
            return None
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        if not self._usable(keys):
            return None
        return oracle_lag(
            market,
            self._snapshot(keys[0]),
            self._snapshot(keys[1]),
            fresh,
            now,
            self.config,
            key_suffix=key_suffix,
        )


def _two_leg_check(
    directions: list[list[tuple[PriceLadder, bool]]], limit: int
) -> Callable[[], bool]:
    """Straight-line checks for one or two two-leg directions (binary markets, matched pairs):
    the common case, so no loops and no branches on the flip at run time."""

    def ask_of(ladder: PriceLadder, flipped: bool) -> Callable[[], int]:
        if flipped:
            return lambda: MICROS - ladder.prices[-1]
        return lambda: ladder.prices[0]

    (l1, f1), (l2, f2) = directions[0]
    if len(directions) == 1:
        if not f1 and not f2:
            a1, a2 = l1, l2

            def may_pay() -> bool:
                p1, p2 = a1.prices, a2.prices
                return bool(p1 and p2) and p1[0] + p2[0] <= limit

            return may_pay
        first, second = ask_of(l1, f1), ask_of(l2, f2)

        def may_pay_mixed() -> bool:
            if not l1.prices or not l2.prices:
                return False
            return first() + second() <= limit

        return may_pay_mixed
    (l3, f3), (l4, f4) = directions[1]
    r1, r2, r3, r4 = ask_of(l1, f1), ask_of(l2, f2), ask_of(l3, f3), ask_of(l4, f4)

    def may_pay_either() -> bool:
        if l1.prices and l2.prices and r1() + r2() <= limit:
            return True
        return bool(l3.prices and l4.prices) and r3() + r4() <= limit

    return may_pay_either
