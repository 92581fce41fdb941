"""Every venue fixture is parsed into pmarb types; nothing recorded goes unread."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import msgspec

from pmarb.domain.book import Level
from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderRequest, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.venues.fixedpoint import micros
from pmarb.venues.kalshi import fees as kalshi_fees
from pmarb.venues.kalshi.adapter import (
    KalshiConfig,
    KalshiVenue,
    book_from_rest,
    market_from,
)
from pmarb.venues.kalshi.messages import (
    BalanceResponse,
    BatchCreateOrdersResponse,
    MarketPayload,
    PositionsPage,
    RestOrderbook,
    Settlement,
)
from pmarb.venues.polymarket.adapter import _book_from_rest
from pmarb.venues.polymarket.gamma import market_decoder, outcome_ids, to_market
from pmarb.venues.polymarket.messages import (
    RestBook,
    RtdsMessage,
    UserOrderEvent,
    UserTradeEvent,
    user_frame_decoder,
)
from pmarb.venues.polymarket.stream import order_state_from_user_event, taker_fill_from_user_trade
from tests.venues.conftest import fixture_path, load_fixture, raw_fixture

# Fixtures parsed by the stream tests (test_polymarket_stream.py / test_kalshi_stream.py).
STREAM_TESTED = {
    "polymarket": {
        "ws_book.json",
        "ws_book_2024.json",
        "ws_price_change.json",
        "ws_market_sequence_excerpt.json",
        "ws_last_trade_price.json",
        "ws_tick_size_change.json",
        "ws_best_bid_ask.json",
        "ws_new_market.json",
        "ws_market_resolved.json",
    },
    "kalshi": {
        "ws_orderbook_snapshot.json",
        "ws_orderbook_delta.json",
        "ws_ticker.json",
        "ws_trade.json",
        "ws_fill.json",
        "ws_error.json",
        "ws_subscribed-schema.json",
    },
}
PARSED_HERE = {
    "polymarket": {
        "gamma_market.json",
        "gamma_market_crypto_updown_5m.json",
        "clob_book.json",
        "clob_book_2024.json",
        "ws_user_order_placement.json",
        "ws_user_order_cancellation.json",
        "ws_user_trade.json",
        "ws_subscribe_market.json",
        "ws_subscribe_user.json",
        "rtds_crypto_prices_chainlink.json",
        "order_post_request_v2-schema.json",  # test_signing.py builds and compares it
    },
    "kalshi": {
        "market.json",
        "orderbook.json",
        "portfolio_positions-schema.json",
        "portfolio_balance-schema.json",
        "portfolio_settlement.json",
        "order_create_v2_request.json",
        "order_batch_create_v2_response.json",
        "ws_subscribe_orderbook.json",
        "ws_get_snapshot_command.json",
    },
}


def test_every_fixture_in_the_manifest_has_a_parser(manifest: dict[str, Any]) -> None:
    for venue in ("polymarket", "kalshi"):
        covered = STREAM_TESTED[venue] | PARSED_HERE[venue]
        assert set(manifest[venue]) == covered, venue
        for name in manifest[venue]:
            assert fixture_path(venue, name).exists(), name


def test_gamma_markets_become_markets_with_recorded_fee_schedules() -> None:
    politics = to_market(market_decoder.decode(raw_fixture("polymarket", "gamma_market.json")))
    assert isinstance(politics, Market)
    assert politics.neg_risk and politics.tick_size == D("0.001") and politics.min_size == 5
    assert politics.status is MarketStatus.OPEN
    assert politics.yes_instrument_id.startswith("545330438199465925")
    assert politics.outcome_names == ("Yes", "No")
    assert "Democratic Party" in politics.rules
    # feeSchedule {exponent 1, rate 0.04, takerOnly}: 100 shares at 0.50 pay 1.00; makers 0.
    assert politics.fees.taker_rate == D("0.04") and politics.fees.maker_rate == ZERO
    assert politics.fees.fee(D("0.5"), D("100")) == D("1.00")
    assert politics.fees.fee(D("0.5"), D("100"), maker=True) == ZERO
    crypto = to_market(
        market_decoder.decode(raw_fixture("polymarket", "gamma_market_crypto_updown_5m.json"))
    )
    assert crypto is not None and crypto.outcome_names == ("Up", "Down")
    assert crypto.fees.taker_rate == D("0.07")
    # 10 shares at 0.53: 0.07·10·0.53·0.47 = 0.17437 (already on the 0.00001 grid).
    assert crypto.fees.fee(D("0.53"), D("10")) == D("0.17437")
    assert crypto.settlement_source == "https://data.chain.link/streams/btc-usd-twap-60s-streams"


def test_gamma_version_chooses_the_outcome_ids() -> None:
    payload = load_fixture("polymarket", "gamma_market.json")
    payload["positionIds"] = json.dumps(["111", "222"])
    v1 = market_decoder.decode(json.dumps(payload).encode())
    assert outcome_ids(v1)[0].startswith("545330438199465925"), "v1 (default): clobTokenIds"
    payload["version"] = "v2"
    v2 = market_decoder.decode(json.dumps(payload).encode())
    assert outcome_ids(v2) == ["111", "222"]
    market = to_market(v2)
    assert market is not None and market.yes_instrument_id == "111"


def test_clob_rest_books_sort_best_first() -> None:
    for name in ("clob_book.json", "clob_book_2024.json"):
        payload = load_fixture("polymarket", name)
        book = _book_from_rest(msgspec.json.decode(raw_fixture("polymarket", name), type=RestBook))
        snapshot = book.snapshot(VenueId.POLYMARKET, datetime.now(UTC))
        bids = sorted((D(level["price"]) for level in payload["bids"]), reverse=True)
        asks = sorted(D(level["price"]) for level in payload["asks"])
        assert [level.price for level in snapshot.bids] == bids
        assert [level.price for level in snapshot.asks] == asks
    empty_ask = load_fixture("polymarket", "clob_book.json")
    assert empty_ask["asks"] == []


def test_user_channel_order_and_trade_events() -> None:
    placed = user_frame_decoder.decode(raw_fixture("polymarket", "ws_user_order_placement.json"))
    assert isinstance(placed, UserOrderEvent)
    state = order_state_from_user_event(placed, "cid")
    assert (state.status, state.requested_size, state.filled_size) == (OrderStatus.OPEN, D(5), D(0))
    cancelled = user_frame_decoder.decode(
        raw_fixture("polymarket", "ws_user_order_cancellation.json")
    )
    assert isinstance(cancelled, UserOrderEvent)
    assert order_state_from_user_event(cancelled, "cid").status is OrderStatus.CANCELLED
    trade = user_frame_decoder.decode(raw_fixture("polymarket", "ws_user_trade.json"))
    assert isinstance(trade, UserTradeEvent)
    schedule = kalshi_fees.fee_schedule("quadratic")  # any schedule; the trade carries no fee
    assert taker_fill_from_user_trade(trade, Outcome.YES, schedule) is None, "MATCHED is not final"
    confirmed = msgspec.structs.replace(trade, status="CONFIRMED")
    fill = taker_fill_from_user_trade(confirmed, Outcome.YES, schedule)
    assert fill is not None and (fill.price, fill.size, fill.side) == (D("0.52"), D("5"), Side.BUY)
    assert trade.maker_orders[0].matched_amount == "5"


def test_client_messages_and_rtds() -> None:
    subscribe = load_fixture("polymarket", "ws_subscribe_market.json")
    assert subscribe["type"] == "market" and subscribe["custom_feature_enabled"] is True
    assert load_fixture("polymarket", "ws_subscribe_user.json")["type"] == "user"
    rtds = msgspec.json.decode(
        raw_fixture("polymarket", "rtds_crypto_prices_chainlink.json"), type=RtdsMessage
    )
    assert rtds.payload.symbol
    kalshi_subscribe = load_fixture("kalshi", "ws_subscribe_orderbook.json")
    assert kalshi_subscribe["cmd"] == "subscribe"
    get_snapshot = load_fixture("kalshi", "ws_get_snapshot_command.json")
    assert get_snapshot["params"]["action"] == "get_snapshot"


def test_kalshi_market_orderbook_and_portfolio() -> None:
    payload = msgspec.json.decode(raw_fixture("kalshi", "market.json"), type=MarketPayload)
    market = market_from(payload, None, kalshi_fees.fee_schedule("quadratic"))
    assert market.market_id == "KXHIGHNY-26MAY11-T69"
    assert market.yes_instrument_id == "KXHIGHNY-26MAY11-T69:yes"
    assert market.tick_size == D("0.0100") and market.status is MarketStatus.OPEN
    assert "Central Park" in market.rules
    assert market.close_time == datetime(2026, 5, 12, 4, 59, tzinfo=UTC)
    book = book_from_rest(
        "T", msgspec.json.decode(raw_fixture("kalshi", "orderbook.json"), type=RestOrderbook)
    )
    assert book.best_bid() == micros("0.42")
    assert book.best_ask() == micros("0.44")  # 1 − best NO bid 0.56
    snapshot = book.snapshot(VenueId.KALSHI, datetime.now(UTC))
    assert snapshot.asks[0] == Level(D("0.44"), D("17"))
    assert snapshot.complement("T:no").bids[0] == Level(D("0.56"), D("17"))
    positions = msgspec.json.decode(
        raw_fixture("kalshi", "portfolio_positions-schema.json"), type=PositionsPage
    )
    assert positions.market_positions[0].position_fp == D("-5.00")  # negative = NO
    balance = msgspec.json.decode(
        raw_fixture("kalshi", "portfolio_balance-schema.json"), type=BalanceResponse
    )
    assert balance.balance_dollars == D("1250.3400")
    settlement = msgspec.json.decode(
        raw_fixture("kalshi", "portfolio_settlement.json"), type=Settlement
    )
    assert settlement.revenue == 500 and settlement.fee_cost == D("0.0307")
    batch = msgspec.json.decode(
        raw_fixture("kalshi", "order_batch_create_v2_response.json"),
        type=BatchCreateOrdersResponse,
    )
    assert batch.orders[1].average_fill_price == D("0.5800")


def test_kalshi_v2_order_body_matches_the_documented_request() -> None:
    documented = load_fixture("kalshi", "order_create_v2_request.json")
    venue = KalshiVenue(KalshiConfig(exchange_index=0, subaccount=0))
    buy_yes = OrderRequest(
        client_order_id=documented["client_order_id"],
        venue=VenueId.KALSHI,
        market_id=documented["ticker"],
        instrument_id=documented["ticker"] + ":yes",
        outcome=Outcome.YES,
        side=Side.BUY,
        price=D("0.56"),
        size=D(10),
        time_in_force=TimeInForce.GTC,
    )
    assert venue.order_body(buy_yes) == documented
    # Buying NO at 0.44 is an ask on the YES leg at 0.56.
    no = replace(
        buy_yes, instrument_id=documented["ticker"] + ":no", outcome=Outcome.NO, price=D("0.44")
    )
    body = venue.order_body(no)
    assert (body["side"], body["price"]) == ("ask", "0.5600")
