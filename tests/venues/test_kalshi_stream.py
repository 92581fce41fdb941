"""The Kalshi orderbook channel: snapshots, signed deltas, both price conventions, gaps."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

from pmarb.domain.market import VenueId
from pmarb.domain.orders import Fill
from pmarb.domain.parity import Outcome, Side
from pmarb.venues.fixedpoint import micros
from pmarb.venues.kalshi.stream import KalshiStreamHandler
from pmarb.venues.store import FEED_KEY, BookStore, VenueTrade
from tests.venues.conftest import load_fixture, raw_fixture

TICKER = "FED-23DEC-T3.00"


def make(
    use_yes_price: bool = False,
) -> tuple[KalshiStreamHandler, BookStore, list[tuple[int, list[str]]], list[Fill]]:
    store = BookStore(VenueId.KALSHI)
    gaps: list[tuple[int, list[str]]] = []
    fills: list[Fill] = []
    handler = KalshiStreamHandler(
        store,
        use_yes_price=use_yes_price,
        on_gap=lambda sid, tickers: gaps.append((sid, tickers)),
        on_fill=fills.append,
    )
    return handler, store, gaps, fills


def delta(seq: int, price: str, change: str, side: str, sid: int = 2) -> str:
    message: dict[str, Any] = {
        "type": "orderbook_delta",
        "sid": sid,
        "seq": seq,
        "msg": {"market_ticker": TICKER, "price_dollars": price, "delta_fp": change, "side": side},
    }
    return json.dumps(message)


def test_snapshot_yes_bids_and_implied_asks_in_no_leg_prices() -> None:
    handler, store, _, _ = make(use_yes_price=False)
    handler.on_message(raw_fixture("kalshi", "ws_orderbook_snapshot.json"))
    book = store.book(f"{TICKER}:yes")
    assert book is not None and book.valid
    assert book.bids.sizes == {micros("0.08"): micros("300"), micros("0.22"): micros("333")}
    # NO bids at 0.54 and 0.56 are YES asks at 0.46 and 0.44.
    assert book.asks.sizes == {micros("0.46"): micros("20"), micros("0.44"): micros("146")}
    assert store.best_bid_ask(f"{TICKER}:yes") == (D("0.22"), D("0.44"))
    assert store.best_bid_ask(f"{TICKER}:no") == (D("0.56"), D("0.78"))


def test_use_yes_price_reads_no_side_levels_as_yes_asks() -> None:
    handler, store, _, _ = make(use_yes_price=True)
    snapshot = load_fixture("kalshi", "ws_orderbook_snapshot.json")
    snapshot["msg"]["no_dollars_fp"] = [["0.46", "20.00"], ["0.44", "146.00"]]
    handler.on_message(json.dumps(snapshot))
    handler.on_message(delta(3, "0.44", "-46.00", "no"))
    book = store.book(f"{TICKER}:yes")
    assert book is not None
    assert book.asks.sizes == {micros("0.46"): micros("20"), micros("0.44"): micros("100")}


def test_signed_deltas_add_and_remove_levels() -> None:
    handler, store, gaps, _ = make()
    handler.on_message(raw_fixture("kalshi", "ws_orderbook_snapshot.json"))
    handler.on_message(delta(3, "0.22", "-333.00", "yes"))
    handler.on_message(delta(4, "0.2500", "12.50", "yes"))
    handler.on_message(delta(5, "0.5600", "-46.00", "no"))
    handler.on_message(delta(6, "0.5700", "1.00", "no"))
    book = store.book(f"{TICKER}:yes")
    assert book is not None
    assert book.bids.sizes == {micros("0.08"): micros("300"), micros("0.25"): micros("12.5")}
    assert book.asks.sizes == {
        micros("0.46"): micros("20"),
        micros("0.44"): micros("100"),
        micros("0.43"): micros("1"),
    }
    assert gaps == [] and handler.gaps == 0
    handler.on_message(raw_fixture("kalshi", "ws_orderbook_delta.json"))  # seq 3 again: a gap


def test_seq_gap_invalidates_discards_deltas_until_the_next_snapshot() -> None:
    handler, store, gaps, _ = make()
    handler.on_message(raw_fixture("kalshi", "ws_orderbook_snapshot.json"))
    store.health.record_message(FEED_KEY)
    assert store.is_usable(f"{TICKER}:yes", 60) and store.is_usable(f"{TICKER}:no", 60)
    handler.on_message(delta(3, "0.22", "1.00", "yes"))
    handler.on_message(delta(5, "0.22", "1.00", "yes"))  # seq 4 lost
    assert gaps == [(2, [TICKER])] and handler.gaps == 1
    assert not store.is_usable(f"{TICKER}:yes", 60)
    assert not store.is_usable(f"{TICKER}:no", 60)
    handler.on_message(delta(6, "0.30", "5.00", "yes"))
    book = store.book(f"{TICKER}:yes")
    assert book is not None and not book.valid and book.bids.highest() is None
    snapshot = load_fixture("kalshi", "ws_orderbook_snapshot.json")
    snapshot["seq"] = 7
    handler.on_message(json.dumps(snapshot))
    handler.on_message(delta(8, "0.08", "-100.00", "yes"))
    assert book.valid and book.bids.sizes == {
        micros("0.08"): micros("200"),
        micros("0.22"): micros("333"),
    }
    assert store.is_usable(f"{TICKER}:yes", 60)


def test_subscribed_ack_resets_sequence_and_binds_the_convention() -> None:
    handler, store, gaps, _ = make(use_yes_price=False)
    handler.expect_subscription(1, use_yes_price=True)
    handler.on_message(raw_fixture("kalshi", "ws_subscribed-schema.json"))  # id 1 → sid 2
    snapshot = load_fixture("kalshi", "ws_orderbook_snapshot.json")
    snapshot["seq"] = 1
    handler.on_message(json.dumps(snapshot))
    book = store.book(f"{TICKER}:yes")
    assert book is not None and book.best_ask() == micros("0.54")
    assert gaps == []


def test_fill_ticker_trade_and_error_messages() -> None:
    handler, store, _, fills = make()
    handler.on_message(raw_fixture("kalshi", "ws_fill.json"))
    handler.on_message(raw_fixture("kalshi", "ws_ticker.json"))
    handler.on_message(raw_fixture("kalshi", "ws_trade.json"))
    handler.on_message(raw_fixture("kalshi", "ws_error.json"))
    assert len(fills) == 1
    fill = fills[0]
    assert (fill.outcome, fill.side, fill.price, fill.size, fill.fee) == (
        Outcome.YES,
        Side.BUY,
        D("0.7500"),
        D("278.00"),
        D("0.010000"),
    )
    assert fill.client_order_id == "my-order-1" and fill.is_taker
    assert handler.tickers[TICKER].yes_ask_dollars == "0.5300"
    assert handler.trades["HIGHNY-22DEC23-B53.5"].count_fp == D("136.00")
    assert handler.errors == ["kalshi ws error 2: Params required"]
    before = store.health.malformed
    handler.on_message("{")
    handler.on_message(json.dumps({"type": "orderbook_delta", "sid": 1, "msg": {}}))
    handler.on_message(json.dumps({"type": "something_new", "msg": {}}))
    assert store.health.malformed == before + 2


def test_deltas_wait_for_their_snapshot_and_bad_ones_drop_the_book() -> None:
    handler, store, gaps, _ = make()
    handler.on_message(delta(2, "0.22", "1.00", "yes"))  # before any snapshot: nothing to change
    assert handler.ignored_without_snapshot == 1 and store.book(f"{TICKER}:yes") is None
    handler.on_message(raw_fixture("kalshi", "ws_orderbook_snapshot.json"))  # sid 2, seq 2
    handler.on_message(delta(3, "0.2250", "4.00", "yes"))  # a price not seen before
    handler.on_message(delta(4, "0.5625", "2.00", "no"))  # NO bid at 0.5625: YES ask 0.4375
    book = store.book(f"{TICKER}:yes")
    assert book is not None and book.valid
    assert book.bids.sizes[micros("0.225")] == micros("4")
    assert book.asks.sizes[micros("0.4375")] == micros("2")
    assert handler.deltas_applied == 2
    malformed = store.health.malformed
    handler.on_message(delta(5, "0.22", "1.00", "maybe"))
    assert not book.valid and store.health.malformed == malformed + 1
    assert gaps[-1] == (2, [TICKER])
    handler.on_message(delta(6, "0.22", "1.00", "yes"))  # dropped book: ignored
    assert handler.deltas_applied == 2


def test_recorded_trade_is_printed_on_the_yes_instrument_at_the_yes_price() -> None:
    handler, store, _, _ = make()
    prints: list[VenueTrade] = []
    store.add_trade_listener(prints.append)
    handler.on_message(raw_fixture("kalshi", "ws_trade.json"))
    # A taker buying NO at 0.64 sold YES at 0.36.
    assert prints == [VenueTrade("HIGHNY-22DEC23-B53.5:yes", micros("0.36"), micros("136"), "sell")]
