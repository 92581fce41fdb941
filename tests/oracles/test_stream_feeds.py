"""Each streaming feed against a real local WebSocket server replaying recorded payloads:
subscriptions sent on every connection, a malformed frame counted, a forced disconnect and a
silent connection survived, and the latest value per series kept with its freshness."""

from __future__ import annotations

import json
from decimal import Decimal

from pmarb.domain.oracle import OracleSource, OracleTick, TickKind, series_key
from pmarb.feeds.backoff import Backoff
from pmarb.oracles.binance import binance_feed
from pmarb.oracles.coinbase import coinbase_exchange_feed
from pmarb.oracles.coinbase_advanced import coinbase_advanced_feed
from pmarb.oracles.config import (
    BinanceSettings,
    CoinbaseAdvancedSettings,
    CoinbaseExchangeSettings,
    RtdsSettings,
)
from pmarb.oracles.rtds import rtds_feed
from tests.oracles.support import Script, ScriptedServer, document, raw, run_until, scripted_server

FAST = Backoff(initial=0.02, maximum=0.05)


async def test_binance_feed_combined_stream_reconnects_and_keeps_latest() -> None:
    trade = raw("binance", "trade_combined_stream_captured_2026-09-29.json")
    book = json.dumps(
        {
            "stream": "btcusdt@bookTicker",
            "data": document("binance", "bookTicker_captured_2022.json"),
        }
    )
    later = document("binance", "trade_combined_stream_captured_2026-09-29.json")
    later["data"]["p"], later["data"]["T"] = "83100.00000000", later["data"]["T"] + 1000
    server = ScriptedServer(
        [Script([trade, "{not json", book]), Script([json.dumps(later)], close=False)]
    )
    async with scripted_server(server):
        feed = binance_feed(
            BinanceSettings(url=server.url, streams=("btcusdt@trade", "btcusdt@bookTicker")),
            backoff=FAST,
        )
        trade_series = series_key(OracleSource.BINANCE, "BTCUSDT", TickKind.TRADE)

        def updated() -> bool:
            tick = feed.latest(trade_series)
            return tick is not None and tick.value == Decimal("83100.00000000")

        await run_until(feed, updated)
    assert server.paths[:2] == ["/stream?streams=btcusdt@trade/btcusdt@bookTicker"] * 2
    mid = feed.latest(series_key(OracleSource.BINANCE, "BTCUSDT", TickKind.MID))
    assert mid is not None and mid.bid == Decimal("20078.54000000")
    assert feed.health.malformed == 1
    assert feed.health.reconnects >= 1 and feed.websocket.connections >= 2
    assert feed.is_fresh(trade_series, max_age=5.0) is False, "stale once the feed has stopped"
    age = feed.age(trade_series)
    assert age is not None and age < 5.0


async def test_coinbase_exchange_feed_resubscribes_and_detects_a_silent_socket() -> None:
    subscribe = json.dumps(document("coinbase_exchange", "subscribe_request.json"))
    first = [
        raw("coinbase_exchange", "subscriptions_ack_captured_2026-09-02.json"),
        raw("coinbase_exchange", "last_match_captured_2026-09-02.json"),
        raw("coinbase_exchange", "match_captured_2026-09-02.json"),
        "garbage",
        raw("coinbase_exchange", "ticker_captured_2026-09-02.json"),
    ]
    heartbeat = raw("coinbase_exchange", "heartbeat_captured_2026-09-15.json")
    newer = document("coinbase_exchange", "match_captured_2026-09-02.json")
    newer["price"], newer["time"] = "77580.00", "2026-09-02T07:44:12.000000Z"
    server = ScriptedServer(
        [
            Script(first),
            Script([heartbeat], close=False),  # then silence: the feed must give up on it
            Script([json.dumps(newer)], close=False),
        ],
        expected_subscriptions=1,
    )
    async with scripted_server(server):
        feed = coinbase_exchange_feed(
            CoinbaseExchangeSettings(
                url=server.url, channels=("matches", "ticker"), silence_timeout=0.5
            ),
            backoff=FAST,
        )
        trades = series_key(OracleSource.COINBASE_EXCHANGE, "BTC-USD", TickKind.TRADE)

        def caught_up() -> bool:
            tick = feed.latest(trades)
            return tick is not None and tick.value == Decimal("77580.00")

        await run_until(feed, caught_up)
    assert len(server.received) >= 3
    assert all(inbox[:1] == [subscribe] for inbox in server.received), "resubscribed each time"
    assert feed.health.malformed == 1
    quote = feed.latest(series_key(OracleSource.COINBASE_EXCHANGE, "BTC-USD", TickKind.MID))
    assert quote is not None and quote.ask == Decimal("77575.85")


async def test_coinbase_advanced_feed_one_subscribe_per_channel_and_snapshot_order() -> None:
    settings_channels = ("ticker", "market_trades", "heartbeats")
    first = [
        raw("coinbase_advanced_trade", "subscriptions_ack_captured_2026-06-14.json"),
        raw("coinbase_advanced_trade", "ticker_update_captured_2026-06-14.json"),
        raw("coinbase_advanced_trade", "market_trades_snapshot_captured_2026-06-14.json"),
        '{"channel":"ticker","events":"not a list"}',
    ]
    second = [raw("coinbase_advanced_trade", "market_trades_update_captured_2026-09-30.json")]
    server = ScriptedServer(
        [Script(first), Script(second, close=False)],
        expected_subscriptions=len(settings_channels),
    )
    async with scripted_server(server):
        feed = coinbase_advanced_feed(
            CoinbaseAdvancedSettings(
                url=server.url, product_ids=("BTC-USD", "ETH-USD"), channels=settings_channels
            ),
            backoff=FAST,
        )
        eth = series_key(OracleSource.COINBASE_ADVANCED, "ETH-USD", TickKind.TRADE)
        await run_until(feed, lambda: feed.latest(eth) is not None)
    assert [json.loads(m)["channel"] for m in server.received[0]] == list(settings_channels)
    assert server.received[1][: len(settings_channels)] == server.received[0]
    latest_eth = feed.latest(eth)
    assert latest_eth is not None and latest_eth.value == Decimal("2668.36"), "the later print"
    btc = feed.latest(series_key(OracleSource.COINBASE_ADVANCED, "BTC-USD", TickKind.TRADE))
    assert btc is not None and btc.value == Decimal("64340.74")
    assert feed.health.malformed == 1


async def test_rtds_feed_pings_survives_error_frames_and_keeps_each_topic_apart() -> None:
    first = [
        raw(
            "polymarket_rtds",
            "crypto_prices_subscribe_snapshot_binance_captured_2026-09-05_truncated.json",
        ),
        raw("polymarket_rtds", "error_frame_unknown_topic_captured_2026-09-05.json"),
        raw("polymarket_rtds", "crypto_prices_chainlink_update_captured_2026-09-05.json"),
        "PONG",
        "{}",
    ]
    second = [
        raw("polymarket_rtds", "crypto_prices_twap_sixty_update_captured_2026-09-05.json"),
        raw("polymarket_rtds", "crypto_prices_twap_thirty_update_captured_2026-09-05.json"),
        raw("polymarket_rtds", "crypto_prices_update_binance_captured_2026-09-05.json"),
        # An older point arriving late never replaces the latest value.
        raw("polymarket_rtds", "crypto_prices_chainlink_update_captured_2026-07-06.json"),
    ]
    settings = RtdsSettings(
        url="", binance_symbols=("btcusdt",), chainlink_symbols=("btc/usd",), ping_interval=0.05
    )
    subscriptions = 1 + 1 + len(settings.twap_topics)
    server = ScriptedServer(
        [Script(first), Script(second, close=False)], expected_subscriptions=subscriptions
    )
    async with scripted_server(server):
        feed = rtds_feed(settings.model_copy(update={"url": server.url}), backoff=FAST)
        relay = series_key(OracleSource.RTDS_BINANCE, "BTCUSDT", TickKind.LAST)

        def done() -> bool:
            tick = feed.latest(relay)
            pinged = len(server.received) > 1 and "PING" in server.received[1]
            return pinged and tick is not None and tick.value == Decimal("79697.73000000")

        await run_until(feed, done)
    chainlink = feed.latest(series_key(OracleSource.CHAINLINK, "BTC/USD", TickKind.INDEX))
    assert chainlink is not None and chainlink.value == Decimal("79696.94817428796")
    twap60 = feed.latest(series_key(OracleSource.CHAINLINK, "BTC/USD", TickKind.TWAP, 60))
    twap30 = feed.latest(series_key(OracleSource.CHAINLINK, "BTC/USD", TickKind.TWAP, 30))
    assert twap60 is not None and twap30 is not None and twap60.value != twap30.value
    assert feed.server_errors == 1 and "401" in (feed.last_server_error or "")
    assert feed.health.malformed == 1, "only the '{}' frame; PONG is not data"
    assert server.received[1][:subscriptions] == server.received[0][:subscriptions]


async def test_listeners_see_new_ticks_and_a_failing_one_does_not_stop_the_feed() -> None:
    update = raw("polymarket_rtds", "crypto_prices_chainlink_update_captured_2026-09-05.json")
    server = ScriptedServer([Script([update], close=False)], expected_subscriptions=1)
    seen: list[OracleTick] = []

    def broken(_: object) -> None:
        raise RuntimeError("listener bug")

    async with scripted_server(server):
        feed = rtds_feed(
            RtdsSettings(url=server.url, binance_symbols=(), twap_topics=()), backoff=FAST
        )
        feed.subscribe(broken)
        feed.subscribe(seen.append)
        await run_until(feed, lambda: bool(seen))
    assert seen[0].source is OracleSource.CHAINLINK
    assert feed.health.malformed == 0
