"""The incremental scanner on live book stores.

Its hot path skips an update that moves none of the best prices its detectors read while none of
them may pay. That must change nothing it finds: here one scanner reads the live ladders (and so
uses that cache), another reads the same stores only through the ``BookView`` protocol, as any
view without live ladders is read (every update re-checks every detector it touches), and both
hear the same updates.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from pmarb.domain.book import BookSnapshot
from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity, OpportunityKind
from pmarb.feeds.health import FeedHealth
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.venues.store import FEED_KEY, BookStore

M = 1_000_000
FEES = (
    FeeSchedule(taker_rate=D("0.07"), rounding_step=D("0.01")),
    FeeSchedule(taker_rate=D("0.02")),
    FeeSchedule(taker_rate=D("0")),
)


class Clock:
    def __init__(self) -> None:
        self.monotonic = 1_000.0
        self.wall = datetime(2026, 11, 1, tzinfo=UTC)

    def __call__(self) -> float:
        return self.monotonic

    def unix(self) -> float:
        return self.monotonic + 1.7e9

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.monotonic += seconds
        self.wall += timedelta(seconds=seconds)


class ProtocolOnly:
    """A book store seen only through the ``BookView`` protocol (no live ladders)."""

    def __init__(self, store: BookStore) -> None:
        self._store = store

    def best_ask_micros(self, instrument_id: str) -> int | None:
        return self._store.best_ask_micros(instrument_id)

    def snapshot(self, instrument_id: str, depth: int | None = 10) -> BookSnapshot:
        return self._store.snapshot(instrument_id, depth)

    def is_usable(self, instrument_id: str, max_age: float) -> bool:
        return self._store.is_usable(instrument_id, max_age)


def _markets(rng: random.Random, count: int) -> dict[VenueId, list[Market]]:
    return {
        venue: [
            Market(
                venue=venue,
                market_id=f"{venue}-{n}",
                title="t",
                yes_instrument_id=f"{venue}-{n}:yes",
                no_instrument_id=f"{venue}-{n}:no",
                fees=rng.choice(FEES),
                close_time=datetime(2027, 1, 1, tzinfo=UTC),
                min_size=D(rng.choice(["0", "5"])),
            )
            for n in range(count)
        ]
        for venue in (VenueId.POLYMARKET, VenueId.KALSHI)
    }


def _describe(found: Opportunity) -> tuple[object, ...]:
    return (
        found.kind,
        found.business_key,
        found.size,
        found.edge,
        found.detected_at,
        found.expires_at,
        found.matched_pair_id,
        tuple(
            (leg.instrument_id, leg.outcome, leg.limit_price, leg.size, leg.expected_price)
            for leg in found.legs
        ),
        tuple((q.instrument_id, q.price, q.size, q.observed_at) for q in found.quotes),
    )


@pytest.mark.parametrize("seed", range(6))
def test_cached_hot_path_finds_exactly_what_rechecking_every_update_finds(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    stores: dict[VenueId, BookStore] = {}
    for venue in (VenueId.POLYMARKET, VenueId.KALSHI):
        store = BookStore(venue, FeedHealth(venue, clock=clock), clock=clock, wall_clock=clock.unix)
        store.health.connected = True
        stores[venue] = store
    count = 6
    markets = _markets(rng, count)
    for market in markets[VenueId.KALSHI]:
        # Kalshi: one ladder per market, the NO outcome read through it.
        stores[VenueId.KALSHI].register_complement(
            market.no_instrument_id, market.yes_instrument_id
        )
    config = ScannerConfig(
        dedupe_bucket_seconds=[0.0, 5.0][seed % 2], max_book_age_seconds=rng.choice([3.0, 1e9])
    )
    live: list[Opportunity] = []
    replayed: list[Opportunity] = []
    fast = Scanner(stores, live.append, config=config, clock=clock.now)
    slow = Scanner(
        {venue: ProtocolOnly(store) for venue, store in stores.items()},
        replayed.append,
        config=config,
        clock=clock.now,
    )
    poly, kalshi = markets[VenueId.POLYMARKET], markets[VenueId.KALSHI]

    def register(first: bool) -> None:
        for scanner in (fast, slow):
            start = 0 if first else 1
            for market in [*poly, *kalshi][start::2]:
                scanner.add_binary_market(market)
            for n in range(start, count, 2):
                other = n if first else (n + 1) % count
                scanner.add_pair(MatchedPair(n, poly[n], kalshi[other], inverted=n % 3 == 0))
            if not first:
                scanner.add_neg_risk_event(poly[:3])
                scanner.add_neg_risk_event(kalshi[:2])

    books = [(stores[m.venue], m.yes_instrument_id) for m in [*poly, *kalshi]] + [
        (stores[m.venue], m.no_instrument_id) for m in poly
    ]

    def load(store: BookStore, instrument: str) -> None:
        book = store.ensure(instrument)
        mid = rng.randint(30, 70) * 10_000
        book.bids.replace([(mid - 10_000 * k, rng.randint(1, 50) * M) for k in range(1, 4)])
        book.asks.replace([(mid + 10_000 * k, rng.randint(1, 50) * M) for k in range(0, 4)])
        book.valid = True
        store.applied_snapshot(book)

    register(first=True)
    for store, instrument in books:
        load(store, instrument)
    for store in stores.values():
        store.health.record_message(FEED_KEY)
    # Detectors registered before books arrive and before the listeners: the cache starts empty.
    no_ids = {market.no_instrument_id for market in kalshi}
    for venue, store in stores.items():
        store.add_listener(fast.listener_for(venue))
        protocol_listener = slow.listener_for(venue)

        def once_per_ladder(
            instrument: str, hear: Callable[[str], None] = protocol_listener
        ) -> None:
            # The store also announces a Kalshi ladder change under the NO id; every detector
            # here that reads a NO also reads its YES, so hearing the ladder once is the same
            # as the live path (and twice would re-emit at once with no dedupe period).
            if instrument not in no_ids:
                hear(instrument)

        store.add_listener(once_per_ladder)
    for step in range(6_000):
        if step == 1_500:
            register(first=False)  # more detectors while books are already live
        store, instrument = rng.choice(books)
        book = store.books[instrument]
        roll = rng.random()
        if roll < 0.01:
            store.invalidate(instrument)
        elif roll < 0.03:
            load(store, instrument)
        elif roll < 0.035:
            fast.enabled = slow.enabled = not fast.enabled
        elif roll < 0.05:
            clock.advance(rng.choice([0.5, 2.0, 6.0]))
            for each in stores.values():
                if rng.random() < 0.8:
                    each.health.record_message(FEED_KEY)
        else:
            # Most moves are size changes away from or at the top, some empty or add a level.
            side = book.bids if rng.random() < 0.5 else book.asks
            side.set(rng.randint(20, 80) * 10_000, rng.choice([0, 0, rng.randint(1, 80) * M]))
            store.applied(book)

    assert [_describe(o) for o in live] == [_describe(o) for o in replayed]
    kinds = {o.kind for o in live}
    assert OpportunityKind.CROSS_VENUE in kinds and OpportunityKind.INTRA_VENUE in kinds
    assert fast.stats.suppressed_stale == slow.stats.suppressed_stale
    assert fast.stats.stale_instruments == slow.stats.stale_instruments


def test_a_size_change_at_an_unchanged_best_ask_re_walks_an_open_gap() -> None:
    clock = Clock()
    store = BookStore(
        VenueId.POLYMARKET, FeedHealth("p", clock=clock), clock=clock, wall_clock=clock.unix
    )
    store.health.connected = True
    market = Market(
        venue=VenueId.POLYMARKET,
        market_id="m",
        title="t",
        yes_instrument_id="m:yes",
        no_instrument_id="m:no",
        fees=FEES[2],
        close_time=datetime(2027, 1, 1, tzinfo=UTC),
    )
    found: list[Opportunity] = []
    scanner = Scanner(
        {VenueId.POLYMARKET: store},
        found.append,
        config=ScannerConfig(dedupe_bucket_seconds=0.0),
        clock=clock.now,
    )
    scanner.add_binary_market(market)
    store.add_listener(scanner.listener_for(VenueId.POLYMARKET))
    for instrument, ask in (("m:yes", 450_000), ("m:no", 500_000)):
        book = store.ensure(instrument)
        book.asks.replace([(ask, 10 * M)])
        book.bids.replace([(ask - 100_000, 10 * M)])
        book.valid = True
        store.applied_snapshot(book)
    store.health.record_message(FEED_KEY)
    store.applied(store.books["m:yes"])
    assert [o.size for o in found][-1:] == [D("10")]

    # Same best price, more size: nothing moved that the check reads, yet the walk must see it.
    yes = store.books["m:yes"]
    yes.asks.set(450_000, 30 * M)
    store.applied(yes)
    assert found[-1].size == D("10")  # the NO side still limits it
    no = store.books["m:no"]
    no.asks.set(500_000, 30 * M)
    store.applied(no)
    assert found[-1].size == D("30")

    # A bid move cannot change what buying costs; with the gap closed it emits nothing.
    no.asks.set(500_000, 0)
    no.asks.set(600_000, 30 * M)
    store.applied(no)
    emitted = len(found)
    yes.bids.set(300_000, 5 * M)
    store.applied(yes)
    assert len(found) == emitted
