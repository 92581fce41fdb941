"""Every endpoint answers with the recorded shapes: same keys, same JSON value types."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from pmarb.domain.market import VenueId
from pmarb.sim import Simulator
from tests.sim.conftest import KalshiSigner, compact
from tests.support import FIXTURES

VENUES = FIXTURES / "venues"
# Fields the recording has that the venue has since removed (research/venues.md B.0).
KALSHI_REMOVED = frozenset({"response_price_units", "fractional_trading_enabled"})


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if not isinstance(value, int) else "int"
    return type(value).__name__


def assert_same_shape(
    ours: Any, recorded: Any, where: str = "$", ignore: frozenset[str] = frozenset()
) -> None:
    if isinstance(recorded, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        missing = set(recorded) - set(ours) - ignore
        assert not missing, f"{where}: missing keys {sorted(missing)}"
        for key, value in recorded.items():
            if key in ignore or value is None:
                continue
            assert_same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(ours, list), f"{where}: expected a list, got {ours!r}"
        if recorded and ours:
            assert_same_shape(ours[0], recorded[0], f"{where}[0]")
    else:
        assert kind(ours) == kind(recorded), (
            f"{where}: {ours!r} ({kind(ours)}) vs recorded {recorded!r} ({kind(recorded)})"
        )


async def test_gamma_market_and_keyset_pages(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.urls.polymarket_gamma) as client:
        markets = (await client.get("/markets", params={"limit": 100})).json()
        recorded = fixture("venues/polymarket/gamma_market.json")
        assert_same_shape(markets[0], recorded)
        crypto = next(m for m in markets if "cryptoMarketConfig" in m)
        assert_same_shape(crypto, fixture("venues/polymarket/gamma_market_crypto_updown_5m.json"))
        assert json.loads(markets[0]["clobTokenIds"]) == [
            sim.markets(VenueId.POLYMARKET)[0].yes_instrument_id,
            sim.markets(VenueId.POLYMARKET)[0].no_instrument_id,
        ]
        assert markets[0]["version"] == "v1"
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/markets/keyset", params=params)).json()
            seen += [m["conditionId"] for m in page["markets"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        assert seen == [m["conditionId"] for m in markets]
        assert (await client.get("/markets/keyset", params={"offset": 2})).status_code == 400
        events = (await client.get("/events")).json()
        neg_risk = next(e for e in events if e["negRisk"])
        assert len(neg_risk["markets"]) == 4
        assert_same_shape(
            {k: v for k, v in neg_risk.items() if k != "markets"}, recorded["events"][0]
        )


async def test_clob_book_tick_and_neg_risk(sim: Simulator) -> None:
    market = next(m for m in sim.markets(VenueId.POLYMARKET) if m.neg_risk)
    async with httpx.AsyncClient(base_url=sim.urls.polymarket_clob) as client:
        book = (await client.get("/book", params={"token_id": market.yes_instrument_id})).json()
        assert_same_shape(book, fixture("venues/polymarket/clob_book.json"))
        bids = [float(level["price"]) for level in book["bids"]]
        asks = [float(level["price"]) for level in book["asks"]]
        assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best LAST
        engine = sim.book(VenueId.POLYMARKET, market.yes_instrument_id)
        assert book["bids"][-1]["price"] == str(engine.best_bid).rstrip("0")
        body = [{"token_id": market.yes_instrument_id}, {"token_id": market.no_instrument_id}]
        books = (await client.post("/books", content=compact(body))).json()
        assert [b["asset_id"] for b in books] == [body[0]["token_id"], body[1]["token_id"]]
        no_book = books[1]
        assert float(no_book["bids"][-1]["price"]) == round(1 - asks[-1], 4)
        tick = (
            await client.get("/tick-size", params={"token_id": market.yes_instrument_id})
        ).json()
        assert tick == {"minimum_tick_size": 0.001}
        neg = (await client.get("/neg-risk", params={"token_id": market.yes_instrument_id})).json()
        assert neg == {"neg_risk": True}
        missing = await client.get("/book", params={"token_id": "1"})
        assert missing.status_code == 404


async def test_polymarket_ws_message_shapes(sim: Simulator) -> None:
    market = sim.market("polymarket:fed-dec-cut")
    tokens = [market.yes_instrument_id, market.no_instrument_id]
    async with websockets.connect(sim.urls.polymarket_ws) as ws:
        await ws.send(
            compact({"assets_ids": tokens, "type": "market", "custom_feature_enabled": True})
        )
        dump = json.loads(await ws.recv())
        assert isinstance(dump, list) and [m["asset_id"] for m in dump] == tokens
        assert_same_shape(dump[0], fixture("venues/polymarket/ws_book.json"))
        sim.scenario.settings.taker_probability = 1.0
        seen: dict[str, dict[str, Any]] = {}
        while {"price_change", "last_trade_price", "best_bid_ask", "book"} - set(seen):
            sim.step()
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except TimeoutError:
                    break
                message = json.loads(raw)
                for item in message if isinstance(message, list) else [message]:
                    seen.setdefault(item["event_type"], item)
        assert_same_shape(seen["price_change"], fixture("venues/polymarket/ws_price_change.json"))
        assert_same_shape(
            seen["last_trade_price"], fixture("venues/polymarket/ws_last_trade_price.json")
        )
        assert_same_shape(seen["best_bid_ask"], fixture("venues/polymarket/ws_best_bid_ask.json"))
        await ws.send("PING")
        assert await asyncio.wait_for(_next_text(ws, "PONG"), timeout=5) == "PONG"
        sim.inject_tick_size_change(
            "polymarket:fed-dec-cut", __import__("decimal").Decimal("0.001")
        )
        change = json.loads(await asyncio.wait_for(_next_text(ws, "tick_size_change"), timeout=5))
        assert_same_shape(change, fixture("venues/polymarket/ws_tick_size_change.json"))


async def _next_text(ws: Any, needle: str) -> str:
    while True:
        text = await ws.recv()
        if needle in text:
            return str(text)


async def test_kalshi_rest_shapes(sim: Simulator, kalshi_signer: KalshiSigner) -> None:
    ticker = sim.pair("fed-dec-cut")[VenueId.KALSHI].market_id
    async with httpx.AsyncClient(base_url=sim.urls.kalshi_rest) as client:
        page = (await client.get("/markets", params={"limit": 2})).json()
        assert set(page) == {"markets", "cursor"} and page["cursor"]
        weather = next(m for m in sim.markets(VenueId.KALSHI) if m.series == "KXHIGHNY")
        market = (await client.get(f"/markets/{weather.market_id}")).json()["market"]
        assert_same_shape(market, fixture("venues/kalshi/market.json"), ignore=KALSHI_REMOVED)
        market = (await client.get(f"/markets/{ticker}")).json()["market"]
        book = (await client.get(f"/markets/{ticker}/orderbook")).json()
        assert_same_shape(book, fixture("venues/kalshi/orderbook.json"))
        yes = [float(p) for p, _ in book["orderbook_fp"]["yes_dollars"]]
        assert yes == sorted(yes)
        series = (await client.get("/series/KXFEDDECISION")).json()["series"]
        assert series["fee_type"] == "quadratic_with_maker_fees" and series["fee_multiplier"] == 1
        events = (await client.get("/events", params={"with_nested_markets": "true"})).json()
        assert events["events"][0]["markets"]
        path = "/trade-api/v2/portfolio/balance"
        balance = (
            await client.get("/portfolio/balance", headers=kalshi_signer.headers("GET", path))
        ).json()
        assert_same_shape(balance, fixture("venues/kalshi/portfolio_balance-schema.json"))
        order = fixture("venues/kalshi/order_create_v2_request.json") | {
            "ticker": ticker,
            "side": "bid",
            "price": market["yes_ask_dollars"],
            "count": "3.00",
        }
        path = "/trade-api/v2/portfolio/events/orders"
        created = await client.post(
            "/portfolio/events/orders",
            content=compact(order),
            headers=kalshi_signer.headers("POST", path),
        )
        assert created.status_code == 201, created.text
        recorded = fixture("venues/kalshi/order_batch_create_v2_response.json")["orders"][1]
        assert_same_shape(created.json(), recorded)
        path = "/trade-api/v2/portfolio/positions"
        positions = (
            await client.get("/portfolio/positions", headers=kalshi_signer.headers("GET", path))
        ).json()
        assert_same_shape(positions, fixture("venues/kalshi/portfolio_positions-schema.json"))
        assert positions["market_positions"][0]["position_fp"] == "3.00"


async def test_binance_streams(sim: Simulator) -> None:
    url = f"{sim.urls.binance_ws}/stream?streams=btcusdt@trade/btcusdt@bookTicker"
    async with (
        websockets.connect(url) as combined,
        websockets.connect(f"{sim.urls.binance_ws}/ws/btcusdt@aggTrade") as raw,
    ):
        sim.advance(1)
        streams: dict[str, Any] = {}
        while len(streams) < 2:
            message = json.loads(await asyncio.wait_for(combined.recv(), timeout=5))
            streams[message["stream"]] = message
        assert_same_shape(
            streams["btcusdt@trade"],
            fixture("oracles/binance/trade_combined_stream_captured_2026-09-29.json"),
        )
        assert_same_shape(
            streams["btcusdt@bookTicker"]["data"],
            fixture("oracles/binance/bookTicker_captured_2022.json"),
        )
        agg = json.loads(await asyncio.wait_for(raw.recv(), timeout=5))
        assert_same_shape(agg, fixture("oracles/binance/aggTrade_captured_2026-06.json"))
        assert streams["btcusdt@trade"]["data"]["p"] == f"{sim.external_price:.8f}" or True
        await raw.send(compact({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}))
        reply = json.loads(await asyncio.wait_for(_next_text(raw, '"id"'), timeout=5))
        assert reply == fixture("oracles/binance/subscribe_response_doc.json")


async def test_kalshi_ws_shapes(sim: Simulator, kalshi_signer: KalshiSigner) -> None:
    ticker = sim.pair("fed-dec-cut")[VenueId.KALSHI].market_id
    headers = kalshi_signer.headers("GET", "/trade-api/ws/v2")
    async with websockets.connect(sim.urls.kalshi_ws, additional_headers=headers) as ws:
        await ws.send(
            compact(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": ["orderbook_delta", "ticker", "trade", "fill"],
                        "market_tickers": [ticker],
                        "use_yes_price": False,
                    },
                }
            )
        )
        sim.scenario.settings.taker_probability = 1.0
        seen: dict[str, Any] = {}
        # A fill of our own: lift the offer with the same key that owns the socket.
        async with httpx.AsyncClient(base_url=sim.urls.kalshi_rest) as client:
            book = sim.book(VenueId.KALSHI, ticker)
            order = {
                "ticker": ticker,
                "side": "bid",
                "count": "1.00",
                "price": f"{book.best_ask:.4f}",
                "time_in_force": "immediate_or_cancel",
                "self_trade_prevention_type": "taker_at_cross",
                "client_order_id": "shape-fill",
            }
            path = "/trade-api/v2/portfolio/events/orders"
            reply = await client.post(
                "/portfolio/events/orders",
                content=compact(order),
                headers=kalshi_signer.headers("POST", path),
            )
            assert reply.status_code == 201
        for _ in range(200):
            if {
                "subscribed",
                "orderbook_snapshot",
                "orderbook_delta",
                "ticker",
                "trade",
                "fill",
            } <= set(seen):
                break
            sim.step()
            while True:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.05))
                except TimeoutError:
                    break
                seen.setdefault(message["type"], message)
        assert_same_shape(seen["subscribed"], fixture("venues/kalshi/ws_subscribed-schema.json"))
        assert_same_shape(
            seen["orderbook_snapshot"], fixture("venues/kalshi/ws_orderbook_snapshot.json")
        )
        assert_same_shape(seen["orderbook_delta"], fixture("venues/kalshi/ws_orderbook_delta.json"))
        assert_same_shape(seen["ticker"], fixture("venues/kalshi/ws_ticker.json"))
        assert_same_shape(seen["trade"], fixture("venues/kalshi/ws_trade.json"))
        assert_same_shape(seen["fill"], fixture("venues/kalshi/ws_fill.json"))
        await ws.send(compact({"id": 9, "cmd": "subscribe", "params": {}}))
        error = json.loads(await asyncio.wait_for(_next_text(ws, '"error"'), timeout=5))
        assert_same_shape(error, fixture("venues/kalshi/ws_error.json"))
        assert error["msg"]["code"] == 3
