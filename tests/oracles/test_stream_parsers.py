"""Every recorded exchange and RTDS payload parses into the right ticks; bad ones are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pmarb.domain.oracle import OracleSource, TickKind
from pmarb.domain.parity import Side
from pmarb.oracles.binance import BinanceParser, stream_url
from pmarb.oracles.coinbase import CoinbaseExchangeParser
from pmarb.oracles.coinbase_advanced import CoinbaseAdvancedParser
from pmarb.oracles.coinbase_advanced import subscribe_messages as advanced_subscriptions
from pmarb.oracles.config import CoinbaseAdvancedSettings, RtdsSettings
from pmarb.oracles.rtds import RtdsParser
from pmarb.oracles.rtds import subscribe_messages as rtds_subscriptions
from pmarb.oracles.stream import MalformedOracleMessage, OracleServerError
from tests.oracles.support import RECEIVED_AT, document, raw


def exact(folder: str, name: str) -> dict[str, object]:
    """The fixture with numbers kept as Decimal, to compare parsed values exactly."""
    loaded: dict[str, object] = json.loads(raw(folder, name), parse_float=Decimal)
    return loaded


def ms(value: object) -> datetime:
    assert isinstance(value, int)
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# --- Binance ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "trade_captured_2026-09-29.json",
        "trade_doc_example.json",
        "aggTrade_captured_2026-06.json",
        "aggTrade_doc_example.json",
    ],
)
def test_binance_spot_trades(name: str) -> None:
    expected = exact("binance", name)
    [tick] = BinanceParser("spot").parse(raw("binance", name), RECEIVED_AT)
    assert tick.source is OracleSource.BINANCE
    assert tick.kind is TickKind.TRADE
    assert tick.symbol == str(expected["s"]).upper()
    assert tick.value == Decimal(str(expected["p"]))
    assert tick.size == Decimal(str(expected["q"]))
    assert tick.source_time == ms(expected["T"])
    # m: the buyer was the maker, so the aggressor sold.
    assert tick.aggressor is (Side.SELL if expected["m"] else Side.BUY)


def test_binance_combined_stream_envelope_gives_the_same_tick_as_the_raw_stream() -> None:
    parser = BinanceParser("spot")
    [wrapped] = parser.parse(
        raw("binance", "trade_combined_stream_captured_2026-09-29.json"), RECEIVED_AT
    )
    [plain] = parser.parse(raw("binance", "trade_captured_2026-09-29.json"), RECEIVED_AT)
    assert wrapped == plain


@pytest.mark.parametrize("name", ["bookTicker_captured_2022.json", "bookTicker_doc_example.json"])
def test_binance_spot_book_ticker_is_a_mid_with_bid_and_ask(name: str) -> None:
    expected = exact("binance", name)
    [tick] = BinanceParser("spot").parse(raw("binance", name), RECEIVED_AT)
    bid, ask = Decimal(str(expected["b"])), Decimal(str(expected["a"]))
    assert (tick.kind, tick.bid, tick.ask) == (TickKind.MID, bid, ask)
    assert tick.value == (bid + ask) / 2
    assert tick.source_time == RECEIVED_AT, "spot book tickers carry no time"


@pytest.mark.parametrize(
    "name",
    ["usdm_futures_trade_captured_2025-03-28.json", "usdm_futures_aggTrade_captured_2026-06.json"],
)
def test_binance_usdm_futures_payloads(name: str) -> None:
    loaded = exact("binance", name)
    expected = loaded.get("data", loaded)
    assert isinstance(expected, dict)
    [tick] = BinanceParser("usdm").parse(raw("binance", name), RECEIVED_AT)
    assert tick.source is OracleSource.BINANCE_USDM
    assert tick.value == Decimal(str(expected["p"]))
    assert tick.source_time == ms(expected["T"])
    assert tick.aggressor is (Side.SELL if expected["m"] else Side.BUY)


def test_binance_usdm_book_ticker_uses_its_transaction_time() -> None:
    frame = (
        '{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",'
        '"b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
    )
    [tick] = BinanceParser("usdm").parse(frame, RECEIVED_AT)
    assert tick.source_time == ms(1568014460891)


def test_binance_control_frames_and_unpriced_streams_are_not_ticks() -> None:
    parser = BinanceParser("spot")
    assert parser.parse(raw("binance", "subscribe_response_doc.json"), RECEIVED_AT) == []
    # The request itself (as a server would echo nothing like it) is still valid JSON to route.
    request = document("binance", "subscribe_request_doc.json")
    assert request["method"] == "SUBSCRIBE"
    kline = '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}'
    assert parser.parse(kline, RECEIVED_AT) == []


def test_binance_spot_and_futures_parsers_are_not_interchangeable() -> None:
    # A futures trade lacks the spot field M but parses as spot (optional); a spot book ticker
    # lacks the futures E/T fields and must be refused by the futures parser.
    with pytest.raises(MalformedOracleMessage):
        BinanceParser("usdm").parse(raw("binance", "bookTicker_captured_2022.json"), RECEIVED_AT)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"NaN","q":"1","T":1,"m":true}',
        '{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"-1","q":"1","T":1,"m":true}',
        '{"e":"trade","E":1,"s":"BTCUSDT","t":1,"q":"1","T":1,"m":true}',
        '{"u":1,"s":"BTCUSDT","b":"2","B":"1","a":"1","A":"1"}',
    ],
)
def test_binance_bad_frames_are_malformed(frame: str) -> None:
    with pytest.raises(MalformedOracleMessage):
        BinanceParser("spot").parse(frame, RECEIVED_AT)


def test_binance_error_frames_are_server_errors() -> None:
    with pytest.raises(OracleServerError, match="Invalid request"):
        BinanceParser("spot").parse('{"code": 2, "msg": "Invalid request", "id": 1}', RECEIVED_AT)


def test_binance_combined_stream_url() -> None:
    url = stream_url("wss://data-stream.binance.vision/", ["btcusdt@trade", "ethusdt@bookTicker"])
    assert url == "wss://data-stream.binance.vision/stream?streams=btcusdt@trade/ethusdt@bookTicker"


# --- Coinbase Exchange -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "match_captured_2026-09-02.json",
        "match_captured_2026-07-04.json",
        "last_match_captured_2026-09-02.json",
    ],
)
def test_coinbase_matches_report_the_maker_side(name: str) -> None:
    expected = exact("coinbase_exchange", name)
    [tick] = CoinbaseExchangeParser().parse(raw("coinbase_exchange", name), RECEIVED_AT)
    assert tick.kind is TickKind.TRADE
    assert tick.value == Decimal(str(expected["price"]))
    assert tick.size == Decimal(str(expected["size"]))
    assert tick.source_time == datetime.fromisoformat(str(expected["time"]))
    maker = Side(str(expected["side"]))
    assert tick.aggressor is maker.opposite


def test_coinbase_ticker_is_a_mid_and_agrees_with_its_match_on_the_aggressor() -> None:
    parser = CoinbaseExchangeParser()
    expected = exact("coinbase_exchange", "ticker_captured_2026-09-02.json")
    [quote] = parser.parse(raw("coinbase_exchange", "ticker_captured_2026-09-02.json"), RECEIVED_AT)
    bid, ask = Decimal(str(expected["best_bid"])), Decimal(str(expected["best_ask"]))
    assert (quote.kind, quote.bid, quote.ask, quote.value) == (
        TickKind.MID,
        bid,
        ask,
        (bid + ask) / 2,
    )
    # The same trade without a book: the ticker's side is the taker's, the match's the maker's.
    bare = dict(document("coinbase_exchange", "ticker_captured_2026-09-02.json"))
    del bare["best_bid"], bare["best_ask"]
    [last] = parser.parse(json.dumps(bare), RECEIVED_AT)
    [match] = parser.parse(raw("coinbase_exchange", "match_captured_2026-09-02.json"), RECEIVED_AT)
    assert last.kind is TickKind.LAST
    assert last.aggressor is match.aggressor is Side.SELL


def test_coinbase_heartbeat_and_subscriptions_are_control_frames() -> None:
    parser = CoinbaseExchangeParser()
    beat = document("coinbase_exchange", "heartbeat_captured_2026-09-15.json")
    assert (
        parser.parse(raw("coinbase_exchange", "heartbeat_captured_2026-09-15.json"), RECEIVED_AT)
        == []
    )
    assert parser.heartbeats["BTC-USD"].last_trade_id == beat["last_trade_id"]
    ack = raw("coinbase_exchange", "subscriptions_ack_captured_2026-09-02.json")
    assert parser.parse(ack, RECEIVED_AT) == []
    assert parser.ignored_types == {"subscriptions": 1}
    request = document("coinbase_exchange", "subscribe_request.json")
    assert set(request["channels"]) <= {"matches", "ticker", "heartbeat"}


def test_coinbase_errors_and_garbage() -> None:
    parser = CoinbaseExchangeParser()
    with pytest.raises(OracleServerError, match="Failed to subscribe"):
        parser.parse('{"type":"error","message":"Failed to subscribe","reason":"bad"}', RECEIVED_AT)
    with pytest.raises(MalformedOracleMessage):
        parser.parse('{"type":"match","product_id":"BTC-USD"}', RECEIVED_AT)
    with pytest.raises(MalformedOracleMessage):
        parser.parse("[1,2", RECEIVED_AT)


# --- Coinbase Advanced Trade -----------------------------------------------------------------


def test_advanced_trade_ticker() -> None:
    frame = exact("coinbase_advanced_trade", "ticker_update_captured_2026-06-14.json")
    [tick] = CoinbaseAdvancedParser().parse(
        raw("coinbase_advanced_trade", "ticker_update_captured_2026-06-14.json"), RECEIVED_AT
    )
    ticker = frame["events"][0]["tickers"][0]  # type: ignore[index]
    bid, ask = Decimal(str(ticker["best_bid"])), Decimal(str(ticker["best_ask"]))
    assert (tick.source, tick.kind, tick.symbol) == (
        OracleSource.COINBASE_ADVANCED,
        TickKind.MID,
        "BTC-USD",
    )
    assert (tick.bid, tick.ask, tick.value) == (bid, ask, (bid + ask) / 2)
    assert tick.source_time.isoformat().startswith("2026-06-14T05:35:45.4358")


@pytest.mark.parametrize(
    "name",
    [
        "market_trades_snapshot_captured_2025-10-27.json",
        "market_trades_snapshot_captured_2026-06-14.json",
        "market_trades_update_captured_2026-09-30.json",
    ],
)
def test_advanced_trade_market_trades_in_time_order_with_the_aggressor(name: str) -> None:
    frame = document("coinbase_advanced_trade", name)
    trades = [t for event in frame["events"] for t in event["trades"]]
    ticks = CoinbaseAdvancedParser().parse(raw("coinbase_advanced_trade", name), RECEIVED_AT)
    assert len(ticks) == len(trades)
    assert [t.source_time for t in ticks] == sorted(t.source_time for t in ticks)
    by_price = {Decimal(t["price"]): t for t in trades}
    for tick in ticks:
        original = by_price[tick.value]
        assert tick.size == Decimal(original["size"])
        assert tick.aggressor is Side(original["side"].lower()).opposite


def test_advanced_trade_snapshot_newest_first_ends_on_the_newest_trade() -> None:
    frame = {
        "channel": "market_trades",
        "timestamp": "2026-06-14T05:54:18.66623968Z",
        "sequence_num": 0,
        "events": [
            {
                "type": "snapshot",
                "trades": [
                    {"product_id": "BTC-USD", "trade_id": "12", "price": "64341.00",
                     "size": "0.1", "time": "2026-06-14T05:54:17.9Z", "side": "BUY"},
                    {"product_id": "BTC-USD", "trade_id": "11", "price": "64340.74",
                     "size": "0.2", "time": "2026-06-14T05:54:17.7Z", "side": "SELL"},
                ],
            }
        ],
    }  # fmt: skip
    ticks = CoinbaseAdvancedParser().parse(json.dumps(frame), RECEIVED_AT)
    assert [t.value for t in ticks] == [Decimal("64340.74"), Decimal("64341.00")]


def test_advanced_trade_control_frames_gaps_and_errors() -> None:
    parser = CoinbaseAdvancedParser()
    ack = raw("coinbase_advanced_trade", "subscriptions_ack_captured_2026-06-14.json")
    assert parser.parse(ack, RECEIVED_AT) == []
    heartbeat = (
        '{"channel":"heartbeats","timestamp":"2026-06-14T05:35:46Z","sequence_num":20,'
        '"events":[{"current_time":"2026-06-14 05:35:46","heartbeat_counter":3}]}'
    )
    assert parser.parse(heartbeat, RECEIVED_AT) == []
    assert parser.sequence_gaps == 1, "17 then 20: two frames were lost"
    assert parser.ignored_channels == {"subscriptions": 1, "heartbeats": 1}
    with pytest.raises(OracleServerError, match="failure to subscribe"):
        parser.parse('{"type":"error","message":"failure to subscribe"}', RECEIVED_AT)
    with pytest.raises(MalformedOracleMessage):
        parser.parse('{"channel":"ticker","timestamp":"x","events":[]}', RECEIVED_AT)


def test_advanced_trade_subscribes_one_channel_per_frame() -> None:
    settings = CoinbaseAdvancedSettings(channels=("ticker", "heartbeats"))
    frames = [json.loads(frame) for frame in advanced_subscriptions(settings)]
    assert frames[0] == document("coinbase_advanced_trade", "subscribe_request_ticker.json")
    assert frames[1] == document("coinbase_advanced_trade", "subscribe_request_heartbeats.json")


# --- Polymarket RTDS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "crypto_prices_chainlink_update_captured_2026-07-06.json",
        "crypto_prices_chainlink_update_captured_2026-09-05.json",
        "crypto_prices_twap_sixty_update_captured_2026-09-05.json",
        "crypto_prices_twap_thirty_update_captured_2026-09-05.json",
    ],
)
def test_rtds_chainlink_values_are_exact_e18_integers(name: str) -> None:
    frame = document("polymarket_rtds", name)
    [tick] = RtdsParser().parse(raw("polymarket_rtds", name), RECEIVED_AT)
    payload = frame["payload"]
    assert tick.source is OracleSource.CHAINLINK
    assert tick.value == Decimal(int(payload["full_accuracy_value"])) / Decimal(10) ** 18
    assert abs(float(tick.value) - payload["value"]) < 1e-6
    assert tick.source_time == ms(payload["timestamp"]), "observation time, not publish time"
    assert tick.symbol == "BTC/USD"
    if "twap" in frame["topic"]:
        assert (tick.kind, tick.window_seconds) == (TickKind.TWAP, payload["window_s"])
        assert tick.series == f"chainlink:BTC/USD:twap{payload['window_s']}"
    else:
        assert tick.kind is TickKind.INDEX


def test_rtds_binance_relay_value_is_a_plain_decimal() -> None:
    frame = document("polymarket_rtds", "crypto_prices_update_binance_captured_2026-09-05.json")
    [tick] = RtdsParser().parse(
        raw("polymarket_rtds", "crypto_prices_update_binance_captured_2026-09-05.json"),
        RECEIVED_AT,
    )
    assert (tick.source, tick.kind, tick.symbol) == (
        OracleSource.RTDS_BINANCE,
        TickKind.LAST,
        "BTCUSDT",
    )
    assert tick.value == Decimal(frame["payload"]["full_accuracy_value"])


def test_rtds_doc_example_without_full_accuracy_keeps_the_json_digits() -> None:
    [tick] = RtdsParser().parse(
        raw("polymarket_rtds", "crypto_prices_update_doc_example.json"), RECEIVED_AT
    )
    assert tick.value == Decimal("189.55")
    assert tick.symbol == "SOLUSDT"


@pytest.mark.parametrize(
    "name",
    [
        "crypto_prices_subscribe_snapshot_binance_captured_2026-09-05_truncated.json",
        "crypto_prices_twap_thirty_subscribe_snapshot_captured_2026-09-05_truncated.json",
    ],
)
def test_rtds_subscribe_snapshots_replay_points_in_time_order(name: str) -> None:
    frame = document("polymarket_rtds", name)
    ticks = RtdsParser().parse(raw("polymarket_rtds", name), RECEIVED_AT)
    assert [t.source_time for t in ticks] == [ms(p["timestamp"]) for p in frame["payload"]["data"]]
    if frame["topic"] == "crypto_prices_twap_thirty":
        assert {t.window_seconds for t in ticks} == {30}


def test_rtds_error_frame_is_a_server_error_naming_the_topic() -> None:
    with pytest.raises(OracleServerError, match=r"401.*definitely_not_a_topic"):
        RtdsParser().parse(
            raw("polymarket_rtds", "error_frame_unknown_topic_captured_2026-09-05.json"),
            RECEIVED_AT,
        )


def test_rtds_full_accuracy_that_disagrees_with_value_is_refused() -> None:
    frame = document("polymarket_rtds", "crypto_prices_chainlink_update_captured_2026-09-05.json")
    # The same digits read as a plain decimal (a format drift) would be off by 10^18.
    frame["payload"]["full_accuracy_value"] = "79696948174287960000000"
    frame["topic"] = "crypto_prices"
    with pytest.raises(MalformedOracleMessage, match="disagrees"):
        RtdsParser().parse(json.dumps(frame), RECEIVED_AT)


def test_rtds_subscriptions_one_topic_per_frame_with_json_string_filters() -> None:
    frames = [json.loads(f) for f in rtds_subscriptions(RtdsSettings(twap_topics=()))]
    chainlink = document("polymarket_rtds", "subscribe_request_chainlink_btc.json")
    assert chainlink in frames
    binance = document("polymarket_rtds", "subscribe_request_binance_filtered_doc.json")
    [relay] = [f for f in frames if f["subscriptions"][0]["topic"] == "crypto_prices"]
    assert relay["subscriptions"][0]["type"] == binance["subscriptions"][0]["type"]
    assert all(len(f["subscriptions"]) == 1 for f in frames)
