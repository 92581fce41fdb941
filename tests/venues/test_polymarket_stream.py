"""The Polymarket market channel over recorded frames: every fixture, every shape."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

from pmarb.domain.market import VenueId
from pmarb.venues.fixedpoint import micros
from pmarb.venues.polymarket.messages import MarketEvent, MarketResolvedEvent, NewMarketEvent
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.venues.store import BookStore, VenueTrade
from tests.venues.conftest import load_fixture, raw_fixture

YES = "76670567130917723816490572615540605537878462672464291990940067659127658071111"


def handler_with(
    store: BookStore | None = None,
) -> tuple[MarketChannelHandler, BookStore, list[tuple[str, str]], list[MarketEvent]]:
    store = store or BookStore(VenueId.POLYMARKET)
    resyncs: list[tuple[str, str]] = []
    events: list[MarketEvent] = []
    handler = MarketChannelHandler(
        store, on_resync=lambda a, r: resyncs.append((a, r)), on_market_event=events.append
    )
    return handler, store, resyncs, events


def expected_levels(levels: list[dict[str, str]]) -> dict[int, int]:
    return {micros(level["price"]): micros(level["size"]) for level in levels}


def test_recorded_books_are_full_replacements_sorted_best_first() -> None:
    for name in ("ws_book.json", "ws_book_2024.json"):
        handler, store, _, _ = handler_with()
        payload = load_fixture("polymarket", name)
        handler.on_message(raw_fixture("polymarket", name))
        book = store.book(payload["asset_id"])
        assert book is not None and book.valid
        assert book.bids.sizes == expected_levels(payload["bids"])
        assert book.asks.sizes == expected_levels(payload["asks"])
        # The venue lists the best level LAST; the book must not take the first element.
        assert book.best_bid() == max(expected_levels(payload["bids"]))
        assert book.best_ask() == min(expected_levels(payload["asks"]))
        snapshot = store.snapshot(payload["asset_id"], depth=3)
        assert [level.price for level in snapshot.bids] == sorted(
            (D(level["price"]) for level in payload["bids"]), reverse=True
        )[:3]
        assert store.health.malformed == 0


def test_price_change_sizes_are_absolute_and_zero_removes() -> None:
    handler, store, resyncs, _ = handler_with()
    sequence = load_fixture("polymarket", "ws_market_sequence_excerpt.json")
    handler.on_message(json.dumps(sequence[0]))
    handler.on_message(raw_fixture("polymarket", "ws_price_change.json"))
    book = store.book(YES)
    assert book is not None
    assert book.bids.sizes[micros("0.301")] == micros("1000")
    assert book.best_bid() == micros("0.301")
    assert not book.suspect, "0.301/0.397 is what the venue says the top is"
    # The NO token (second entry) has no snapshot yet: ignored, not invented.
    assert handler.ignored_without_snapshot == 1
    handler.on_message(
        json.dumps(
            {
                "event_type": "price_change",
                "market": "m",
                "price_changes": [
                    {"asset_id": YES, "price": "0.301", "size": "400", "side": "BUY"},
                    {"asset_id": YES, "price": "0.301", "size": "0", "side": "BUY"},
                ],
            }
        )
    )
    assert micros("0.301") not in book.bids.sizes
    assert resyncs == []


def test_the_whole_recorded_sequence_ends_on_the_last_book() -> None:
    handler, store, _, _ = handler_with()
    sequence = load_fixture("polymarket", "ws_market_sequence_excerpt.json")
    handler.on_message(raw_fixture("polymarket", "ws_market_sequence_excerpt.json"))
    last = sequence[-1]
    book = store.book(YES)
    assert book is not None and book.valid and not book.suspect
    assert book.bids.sizes == expected_levels(last["bids"])
    assert book.asks.sizes == expected_levels(last["asks"])
    # The excerpt skips messages, so a best bid/ask check failed on the way and asked for a
    # resync, which the final book message answered.
    assert handler.best_mismatches >= 1


def test_old_price_change_shapes() -> None:
    handler, store, _, _ = handler_with()
    handler.on_message(
        json.dumps({"event_type": "book", "asset_id": "A", "market": "m", "bids": [], "asks": []})
    )
    flat = {
        "asset_id": "A",
        "event_type": "price_change",
        "hash": "x",
        "market": "m",
        "price": "0.514",
        "side": "SELL",
        "size": "21574.08",
        "timestamp": "1723967931411",
    }
    handler.on_message(json.dumps(flat))
    listed = {
        "asset_id": "A",
        "event_type": "price_change",
        "market": "m",
        "changes": [{"price": ".48", "side": "BUY", "size": "30"}],
    }
    handler.on_message(json.dumps(listed))
    book = store.book("A")
    assert book is not None
    assert book.asks.sizes == {514_000: 21_574_080_000}
    assert book.bids.sizes == {480_000: 30_000_000}


def test_tick_size_change_drops_the_book_until_a_fresh_snapshot() -> None:
    handler, store, resyncs, _ = handler_with()
    change = load_fixture("polymarket", "ws_tick_size_change.json")
    asset = change["asset_id"]
    handler.on_message(
        json.dumps(
            {
                "event_type": "book",
                "asset_id": asset,
                "bids": [{"price": "0.95", "size": "10"}],
                "asks": [{"price": "0.97", "size": "5"}],
            }
        )
    )
    store.health.record_message("*feed*")
    assert store.is_usable(asset, 60)
    handler.on_message(raw_fixture("polymarket", "ws_tick_size_change.json"))
    book = store.book(asset)
    assert book is not None and not book.valid and book.bids.highest() is None
    assert book.tick_size == micros("0.001")
    assert resyncs == [(asset, "tick size changed")]
    assert not store.is_usable(asset, 60)
    change_after = {
        "event_type": "price_change",
        "asset_id": asset,
        "price": "0.955",
        "size": "3",
        "side": "BUY",
    }
    handler.on_message(json.dumps(change_after))
    assert book.bids.highest() is None, "no change applies to a dropped book"
    handler.on_message(
        json.dumps(
            {"event_type": "book", "asset_id": asset, "bids": [{"price": "0.951", "size": "2"}]}
        )
    )
    assert book.valid and book.best_bid() == micros("0.951")
    assert store.is_usable(asset, 60)


def test_best_bid_ask_disagreement_marks_suspect_until_it_agrees() -> None:
    handler, store, resyncs, _ = handler_with()
    check = load_fixture("polymarket", "ws_best_bid_ask.json")
    asset = check["asset_id"]
    book_message: dict[str, Any] = {
        "event_type": "book",
        "asset_id": asset,
        "bids": [{"price": "0.73", "size": "1"}],
        "asks": [{"price": "0.78", "size": "1"}],
    }
    handler.on_message(json.dumps(book_message))
    handler.on_message(raw_fixture("polymarket", "ws_best_bid_ask.json"))
    book = store.book(asset)
    assert book is not None and book.suspect
    assert resyncs == [(asset, "best bid/ask disagrees with the venue")]
    handler.on_message(
        json.dumps(
            {
                "event_type": "price_change",
                "price_changes": [
                    {
                        "asset_id": asset,
                        "price": "0.77",
                        "size": "4",
                        "side": "SELL",
                        "best_bid": "0.73",
                        "best_ask": "0.77",
                    }
                ],
            }
        )
    )
    assert not book.suspect


def test_arrays_other_events_and_malformed_frames() -> None:
    handler, store, _, events = handler_with()
    handler.on_message(
        json.dumps([load_fixture("polymarket", "ws_book.json"), {"event_type": "brand_new"}])
    )
    assert len(store.instruments()) == 1
    assert handler.unknown_events == 1
    handler.on_message(raw_fixture("polymarket", "ws_last_trade_price.json"))
    trade = load_fixture("polymarket", "ws_last_trade_price.json")
    assert handler.last_trades[trade["asset_id"]].price == "0.491"
    handler.on_message(raw_fixture("polymarket", "ws_new_market.json"))
    handler.on_message(raw_fixture("polymarket", "ws_market_resolved.json"))
    assert [type(event) for event in events] == [NewMarketEvent, MarketResolvedEvent]
    assert isinstance(events[1], MarketResolvedEvent)
    assert events[1].winning_outcome == "Yes"
    before = store.health.malformed
    handler.on_message("not json {")
    handler.on_message(json.dumps({"event_type": "book"}))  # no asset_id
    handler.on_message(
        json.dumps({"event_type": "book", "asset_id": "Z", "bids": [{"price": "x", "size": "1"}]})
    )
    handler.on_message("PONG")
    assert store.health.malformed == before + 3
    assert store.book("Z") is not None and not store.book("Z").valid  # type: ignore[union-attr]


def price_change(*entries: dict[str, str]) -> str:
    return json.dumps({"market": "m", "price_changes": list(entries), "event_type": "price_change"})


def test_unusual_entries_apply_or_drop_the_book_as_documented() -> None:
    handler, store, resyncs, _ = handler_with()
    for asset in ("A", "B"):
        handler.on_message(
            json.dumps(
                {
                    "event_type": "book",
                    "asset_id": asset,
                    "bids": [{"price": "0.40", "size": "10"}],
                    "asks": [{"price": "0.60", "size": "10"}],
                }
            )
        )
    a, b = store.book("A"), store.book("B")
    assert a is not None and b is not None
    # A lowercase side is still a side; a price never seen before is parsed, not ignored.
    handler.on_message(
        price_change({"asset_id": "A", "price": "0.4125", "size": "3", "side": "buy"})
    )
    assert a.bids.sizes[micros("0.4125")] == micros("3") and a.valid
    assert handler.changes_applied == 1
    # The venue's best prices are checked once per asset, after its last change in the frame:
    # the first entry's top (0.41) is already stale, the second's is the book's.
    handler.on_message(
        price_change(
            {"asset_id": "A", "price": "0.41", "size": "1", "side": "BUY", "best_bid": "0.41"},
            {"asset_id": "A", "price": "0.43", "size": "2", "side": "BUY", "best_bid": "0.43"},
        )
    )
    assert a.best_bid() == micros("0.43") and not a.suspect and resyncs == []
    # Without best prices there is nothing to compare: a suspect book stays suspect.
    handler.on_message(
        price_change(
            {"asset_id": "A", "price": "0.44", "size": "1", "side": "BUY", "best_bid": "0.5"}
        )
    )
    assert a.suspect and resyncs == [("A", "best bid/ask disagrees with the venue")]
    handler.on_message(price_change({"asset_id": "A", "price": "0.45", "size": "1", "side": "BUY"}))
    assert a.suspect
    # An unreadable price or an unknown side makes that book unknowable; the other applies.
    malformed = store.health.malformed
    handler.on_message(
        price_change(
            {"asset_id": "A", "price": "0.4x", "size": "1", "side": "BUY"},
            {"asset_id": "B", "price": "0.61", "size": "5", "side": "SELL"},
        )
    )
    assert not a.valid and a.bids.highest() is None
    assert b.asks.sizes[micros("0.61")] == micros("5")
    handler.on_message(
        price_change({"asset_id": "B", "price": "0.39", "size": "5", "side": "HOLD"})
    )
    assert not b.valid
    assert store.health.malformed == malformed + 2
    assert [asset for asset, _ in resyncs[1:]] == ["A", "B"]
    assert handler.changes_applied == 6


def test_other_events_that_mention_price_change_still_apply() -> None:
    handler, store, _, _ = handler_with()
    handler.on_message(
        json.dumps(
            {
                "market": "price_change",
                "asset_id": "A",
                "bids": [{"price": "0.40", "size": "10"}],
                "asks": [],
                "event_type": "book",
            }
        ).encode()
    )
    book = store.book("A")
    assert book is not None and book.valid and book.best_bid() == micros("0.40")


def test_recorded_last_trade_price_is_printed_on_its_token() -> None:
    handler, store, _, _ = handler_with()
    prints: list[VenueTrade] = []
    store.add_trade_listener(prints.append)
    handler.on_message(raw_fixture("polymarket", "ws_last_trade_price.json"))
    trade = load_fixture("polymarket", "ws_last_trade_price.json")
    assert prints == [VenueTrade(trade["asset_id"], micros("0.491"), micros("85.36"), "sell")]
    assert handler.last_trades[trade["asset_id"]].price == "0.491"
