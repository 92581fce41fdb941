"""The mutable book and the store the scanner reads."""

from __future__ import annotations

from decimal import Decimal as D

from pmarb.domain.book import Level
from pmarb.domain.market import VenueId
from pmarb.feeds.health import FeedHealth
from pmarb.venues.book import Ladder
from pmarb.venues.store import FEED_KEY, BookStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ladder_keeps_levels_sorted_and_drops_empty_ones() -> None:
    ladder = Ladder()
    for price, size in [(300, 5), (100, 1), (200, 2)]:
        ladder.set(price, size)
    assert (ladder.lowest(), ladder.highest()) == (100, 300)
    ladder.set(300, 0)
    assert ladder.highest() == 200
    ladder.add(200, -2)
    assert ladder.ascending() == [(100, 1)]
    ladder.add(150, 7)
    ladder.add(150, -3)
    assert ladder.descending() == [(150, 4), (100, 1)]
    ladder.replace([(5, 1), (5, 0), (9, 2)])
    assert ladder.ascending() == [(9, 2)]


def _store(clock: Clock) -> BookStore:
    return BookStore(VenueId.KALSHI, FeedHealth("t", clock=clock), clock=clock, wall_clock=clock)


def test_no_outcome_is_the_parity_view_of_the_one_ladder() -> None:
    clock = Clock()
    store = _store(clock)
    store.register_complement("T:no", "T:yes")
    heard: list[str] = []
    store.add_listener(heard.append)
    book = store.ensure("T:yes")
    book.bids.replace([(400_000, 10_000_000), (350_000, 5_000_000)])
    book.asks.replace([(450_000, 7_000_000)])
    book.valid = True
    store.applied_snapshot(book)
    assert heard == ["T:yes", "T:no"]
    assert store.best_bid_ask("T:yes") == (D("0.4"), D("0.45"))
    assert store.best_bid_ask("T:no") == (D("0.55"), D("0.6"))
    top = store.top("T:no")
    assert top is not None and (top.bid, top.bid_size, top.ask, top.ask_size) == (
        D("0.55"),
        D("7"),
        D("0.6"),
        D("10"),
    )
    no_book = store.snapshot("T:no", depth=1)
    assert no_book.instrument_id == "T:no"
    assert no_book.bids == (Level(D("0.55"), D("7")),)
    assert no_book.asks == (Level(D("0.6"), D("10")),)
    # A change to the YES ladder is visible through the NO view at once: nothing to drift.
    book.asks.set(440_000, 1_000_000)
    store.applied(book)
    assert store.best_bid_ask("T:no")[0] == D("0.56")
    assert set(store.instruments()) == {"T:yes", "T:no"}


def test_usable_needs_snapshot_fresh_feed_and_no_invalidation() -> None:
    clock = Clock()
    store = _store(clock)
    assert not store.is_usable("A", 5)
    assert store.unusable_reason("A", 5) == "no book received"
    book = store.ensure("A")
    book.valid = True
    store.applied_snapshot(book)
    store.health.record_message(FEED_KEY)
    assert store.is_usable("A", 5)
    assert store.last_update("A") == 100.0
    clock.now += 3
    assert store.age("A") == 3.0
    assert store.is_usable("A", 5), "a quiet book on a live feed stays usable"
    clock.now += 3
    assert not store.is_usable("A", 5)
    assert "feed stale" in (store.unusable_reason("A", 5) or "")
    store.health.record_message(FEED_KEY)
    assert store.is_usable("A", 5)
    book.suspect = True
    assert not store.is_usable("A", 5)
    book.suspect = False
    store.invalidate("A")
    assert not store.is_usable("A", 5)
    assert store.book("A") is not None and store.book("A").bids.highest() is None  # type: ignore[union-attr]
    # A reconnect (FeedHealth.invalidate_all) also makes the book unusable until new data.
    book.valid = True
    store.applied_snapshot(book)
    store.health.record_message(FEED_KEY)
    assert store.is_usable("A", 5)
    store.health.invalidate_all()
    assert not store.is_usable("A", 5)


def test_a_failing_listener_does_not_break_updates() -> None:
    clock = Clock()
    store = _store(clock)

    def broken(_: str) -> None:
        raise RuntimeError("boom")

    heard: list[str] = []
    store.add_listener(broken)
    store.add_listener(heard.append)
    book = store.ensure("A")
    store.applied(book)
    assert heard == ["A"]


def test_a_quote_is_as_old_as_the_last_moment_its_book_was_known_valid() -> None:
    clock = Clock()
    store = _store(clock)
    book = store.ensure("A")
    book.asks.replace([(450_000, 7_000_000)])
    book.valid = True
    store.applied_snapshot(book)
    store.health.record_message(FEED_KEY)
    assert store.valid_as_of("A") == 100.0
    # Sixty quiet seconds on a live feed: the price never changed, yet the book is current.
    for _ in range(60):
        clock.now += 1
        store.health.record_message(FEED_KEY)
    assert store.last_update("A") == 100.0
    assert store.valid_as_of("A") == 160.0
    assert store.snapshot("A").received_at.timestamp() == 160.0
    assert store.asks_snapshot("A", 10_000).received_at.timestamp() == 160.0
    # The feed falls silent: the book is known valid only up to its last message.
    clock.now += 7
    assert store.valid_as_of("A") == 160.0
    assert not store.is_usable("A", 5)
    # A sequence gap or resync invalidates it: it stops being current at its last update,
    # whatever the feed delivers afterwards, until a fresh snapshot.
    store.health.record_message(FEED_KEY)
    store.invalidate("A", drop=False)
    clock.now += 1
    store.health.record_message(FEED_KEY)
    assert store.valid_as_of("A") == 100.0
    book.valid = True
    store.applied_snapshot(book)
    assert store.valid_as_of("A") == clock.now
    assert store.valid_as_of("unknown") is None
