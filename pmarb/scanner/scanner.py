"""The incremental scanner: an update re-evaluates only the detectors that touch it.

Books are read through :class:`BookView` (the venue book store satisfies it); fair values through
:class:`FairValueSource`. Each detector first checks top-of-book in integer micro-units — most
updates end there — and only then builds snapshots and walks depth. A detector that keeps finding
the same opportunity emits it once; the workflow id derived from its business key makes any
duplicate start a no-op anyway.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pmarb.domain.book import BookSnapshot
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import (
    FairValueQuote,
    MatchedPair,
    cross_venue,
    intra_venue,
    neg_risk,
    oracle_lag,
)

log = logging.getLogger(__name__)

MICROS = 1_000_000


class BookView(Protocol):
    def best_ask_micros(self, instrument_id: str) -> int | None: ...

    def snapshot(self, instrument_id: str, depth: int | None = 10) -> BookSnapshot: ...

    def is_usable(self, instrument_id: str, max_age: float) -> bool: ...


class FairValueSource(Protocol):
    def fair_value(self, market: Market) -> FairValueQuote | None:
        """The model's current view, or None when its inputs are missing or stale."""
        ...


Key = tuple[VenueId, str]  # (venue, instrument id)


@dataclass
class ScannerStats:
    evaluations: int = 0
    prefiltered: int = 0
    suppressed_stale: int = 0
    emitted: int = 0
    stale_instruments: set[Key] = field(default_factory=set)


@dataclass(frozen=True)
class _Detector:
    kind: str
    instruments: tuple[Key, ...]
    evaluate: Callable[[datetime], Opportunity | None]


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
        self._by_instrument: dict[Key, list[_Detector]] = defaultdict(list)
        self._by_symbol: dict[str, list[_Detector]] = defaultdict(list)
        self._last_emitted: dict[int, str] = {}
        self.stats = ScannerStats()
        self.enabled = True
        self._min_arb_micros = int(self.config.min_arb_edge * MICROS)

    # -- registration ----------------------------------------------------------------------

    def _register(self, detector: _Detector, symbols: Sequence[str] = ()) -> None:
        for key in detector.instruments:
            self._by_instrument[key].append(detector)
        for symbol in symbols:
            self._by_symbol[symbol].append(detector)

    def add_binary_market(self, market: Market) -> None:
        yes = (market.venue, market.yes_instrument_id)
        no = (market.venue, market.no_instrument_id)
        self._register(_Detector("intra", (yes, no), lambda now: self._intra(market, now)))

    def add_neg_risk_event(self, markets: Sequence[Market]) -> None:
        """A complete set of the event's named outcomes (augmented events must not be added)."""
        keys = tuple((m.venue, m.yes_instrument_id) for m in markets)
        members = tuple(markets)
        self._register(_Detector("neg_risk", keys, lambda now: self._neg_risk(members, now)))

    def add_pair(self, pair: MatchedPair) -> None:
        keys = (
            (pair.a.venue, pair.a.yes_instrument_id),
            (pair.a.venue, pair.a.no_instrument_id),
            (pair.b.venue, pair.b.yes_instrument_id),
            (pair.b.venue, pair.b.no_instrument_id),
        )
        self._register(_Detector("cross", keys, lambda now: self._cross(pair, now)))

    def add_oracle_market(self, market: Market, symbols: Sequence[str]) -> None:
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        self._register(_Detector("oracle", keys, lambda now: self._oracle(market, now)), symbols)

    def clear(self) -> None:
        self._by_instrument.clear()
        self._by_symbol.clear()
        self._last_emitted.clear()

    @property
    def detector_count(self) -> int:
        return len({id(d) for ds in self._by_instrument.values() for d in ds})

    # -- triggers --------------------------------------------------------------------------

    def on_book_update(self, venue: VenueId, instrument_id: str) -> None:
        detectors = self._by_instrument.get((venue, instrument_id))
        if detectors:
            self._run(detectors)

    def on_oracle_update(self, symbol: str) -> None:
        detectors = self._by_symbol.get(symbol)
        if detectors:
            self._run(detectors)

    def _run(self, detectors: list[_Detector]) -> None:
        if not self.enabled:
            return
        now = self._clock()
        for detector in detectors:
            self.stats.evaluations += 1
            try:
                found = detector.evaluate(now)
            except Exception:
                log.exception("%s detector failed", detector.kind)
                continue
            if found is None:
                continue
            if self._last_emitted.get(id(detector)) == found.business_key:
                continue
            self._last_emitted[id(detector)] = found.business_key
            self.stats.emitted += 1
            self._emit(found)

    # -- evaluation ------------------------------------------------------------------------

    def _asks_sum_micros(self, keys: Sequence[Key]) -> int | None:
        total = 0
        for venue, instrument_id in keys:
            ask = self._books[venue].best_ask_micros(instrument_id)
            if ask is None:
                return None
            total += ask
        return total

    def _usable(self, keys: Sequence[Key]) -> bool:
        max_age = self.config.max_book_age_seconds
        stale = [key for key in keys if not self._books[key[0]].is_usable(key[1], max_age)]
        if stale:
            self.stats.suppressed_stale += 1
            self.stats.stale_instruments.update(stale)
            return False
        self.stats.stale_instruments.difference_update(keys)
        return True

    def _snapshot(self, key: Key) -> BookSnapshot:
        return self._books[key[0]].snapshot(key[1], self.config.depth)

    def _bundle_may_pay(self, keys: Sequence[Key]) -> bool:
        total = self._asks_sum_micros(keys)
        if total is None or total > MICROS - self._min_arb_micros:
            self.stats.prefiltered += 1
            return False
        return self._usable(keys)

    def _intra(self, market: Market, now: datetime) -> Opportunity | None:
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        if not self._bundle_may_pay(keys):
            return None
        return intra_venue(
            market, self._snapshot(keys[0]), self._snapshot(keys[1]), now, self.config
        )

    def _neg_risk(self, markets: Sequence[Market], now: datetime) -> Opportunity | None:
        keys = tuple((m.venue, m.yes_instrument_id) for m in markets)
        if not self._bundle_may_pay(keys):
            return None
        return neg_risk(
            [(m, self._snapshot(k)) for m, k in zip(markets, keys, strict=True)], now, self.config
        )

    def _cross(self, pair: MatchedPair, now: datetime) -> Opportunity | None:
        a_yes, a_no = (
            (pair.a.venue, pair.a.yes_instrument_id),
            (pair.a.venue, pair.a.no_instrument_id),
        )
        b_yes, b_no = (
            (pair.b.venue, pair.b.yes_instrument_id),
            (pair.b.venue, pair.b.no_instrument_id),
        )
        directions = (
            ((a_yes, b_yes), (a_no, b_no)) if pair.inverted else ((a_yes, b_no), (a_no, b_yes))
        )
        if not any(self._asks_sum_ok(d) for d in directions):
            self.stats.prefiltered += 1
            return None
        keys = (a_yes, a_no, b_yes, b_no)
        if not self._usable(keys):
            return None
        return cross_venue(
            pair,
            (self._snapshot(a_yes), self._snapshot(a_no)),
            (self._snapshot(b_yes), self._snapshot(b_no)),
            now,
            self.config,
        )

    def _asks_sum_ok(self, keys: Sequence[Key]) -> bool:
        total = self._asks_sum_micros(keys)
        return total is not None and total <= MICROS - self._min_arb_micros

    def _oracle(self, market: Market, now: datetime) -> Opportunity | None:
        if self._fair_values is None:
            return None
        fair = self._fair_values.fair_value(market)
        if fair is None:
            self.stats.suppressed_stale += 1
            return None
        keys = ((market.venue, market.yes_instrument_id), (market.venue, market.no_instrument_id))
        view = self._books[market.venue]
        yes_ask, no_ask = view.best_ask_micros(keys[0][1]), view.best_ask_micros(keys[1][1])
        threshold = int(self.config.min_oracle_edge * MICROS)
        p = int(fair.probability * MICROS)
        if (yes_ask is None or p - yes_ask < threshold) and (
            no_ask is None or (MICROS - p) - no_ask < threshold
        ):
            self.stats.prefiltered += 1
            return None
        if not self._usable(keys):
            return None
        return oracle_lag(
            market, self._snapshot(keys[0]), self._snapshot(keys[1]), fair, now, self.config
        )
