"""Snapshots plus ≥ 1,000 deltas rebuild the engine's books exactly; seq gaps and socket faults."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pmarb.domain.market import VenueId
from pmarb.sim import Simulator
from tests.sim.conftest import KalshiSigner, compact

D = Decimal


class PolyBook:
    """A minimal reference reconstruction of one Polymarket token book."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, message: dict[str, Any], asset: str) -> int:
        if message["event_type"] == "book" and message["asset_id"] == asset:
            self.bids = {D(level["price"]): D(level["size"]) for level in message["bids"]}
            self.asks = {D(level["price"]): D(level["size"]) for level in message["asks"]}
            return 0
        applied = 0
        if message["event_type"] == "price_change":
            for change in message["price_changes"]:
                if change["asset_id"] != asset:
                    continue
                side = self.bids if change["side"] == "BUY" else self.asks
                if D(change["size"]) == 0:
                    side.pop(D(change["price"]), None)
                else:
                    side[D(change["price"])] = D(change["size"])
                best_bid = max(self.bids, default=D(0))
                best_ask = min(self.asks, default=D(1))
                assert (best_bid, best_ask) == (D(change["best_bid"]), D(change["best_ask"]))
                applied += 1
        return applied


async def _collect(ws: Any, handle: Any, quiet: float = 0.3) -> None:
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=quiet)
        except TimeoutError:
            return
        message = json.loads(raw)
        for item in message if isinstance(message, list) else [message]:
            handle(item)


async def test_polymarket_snapshot_and_1000_deltas_rebuild_the_book(sim: Simulator) -> None:
    market = sim.market("polymarket:will-newsom-win-the-2028-democratic-nomination")
    yes, no = market.yes_instrument_id, market.no_instrument_id
    books = {yes: PolyBook(), no: PolyBook()}
    applied = 0

    def handle(message: dict[str, Any]) -> None:
        nonlocal applied
        for asset, book in books.items():
            applied += book.apply(message, asset) if asset == yes else 0
            if asset == no:
                book.apply(message, asset)

    async with websockets.connect(sim.urls.polymarket_ws) as ws:
        await ws.send(
            compact({"assets_ids": [yes, no], "type": "market", "custom_feature_enabled": True})
        )
        await _collect(ws, handle)
        while applied < 1_000:
            sim.advance(5)
            await sim.drain()
            await _collect(ws, handle, quiet=0.05)
    for asset, book in books.items():
        engine = sim.book(VenueId.POLYMARKET, asset)
        assert book.bids == engine.bids and book.asks == engine.asks, asset
    assert applied >= 1_000


class KalshiBook:
    def __init__(self) -> None:
        self.yes: dict[Decimal, Decimal] = {}
        self.no: dict[Decimal, Decimal] = {}

    def snapshot(self, msg: dict[str, Any]) -> None:
        self.yes = {D(p): D(c) for p, c in msg.get("yes_dollars_fp", [])}
        self.no = {D(p): D(c) for p, c in msg.get("no_dollars_fp", [])}

    def delta(self, msg: dict[str, Any]) -> None:
        side = self.yes if msg["side"] == "yes" else self.no
        price = D(msg["price_dollars"])
        size = side.get(price, D(0)) + D(msg["delta_fp"])
        if size <= 0:
            side.pop(price, None)
        else:
            side[price] = size

    def as_yes_book(
        self, use_yes_price: bool
    ) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        asks = {(p if use_yes_price else 1 - p): s for p, s in self.no.items()}
        return (
            dict(sorted(self.yes.items(), reverse=True)),
            dict(sorted(asks.items())),
        )


@pytest.mark.parametrize("use_yes_price", [False, True])
async def test_kalshi_snapshot_deltas_and_seq(
    sim: Simulator, kalshi_signer: KalshiSigner, use_yes_price: bool
) -> None:
    tickers = [m.market_id for m in sim.markets(VenueId.KALSHI)]
    books = {t: KalshiBook() for t in tickers}
    seqs: list[int] = []
    deltas = 0

    def handle(message: dict[str, Any]) -> None:
        nonlocal deltas
        if message["type"] == "orderbook_snapshot":
            seqs.append(message["seq"])
            books[message["msg"]["market_ticker"]].snapshot(message["msg"])
        elif message["type"] == "orderbook_delta":
            seqs.append(message["seq"])
            books[message["msg"]["market_ticker"]].delta(message["msg"])
            deltas += 1

    headers = kalshi_signer.headers("GET", "/trade-api/ws/v2")
    async with websockets.connect(sim.urls.kalshi_ws, additional_headers=headers) as ws:
        await ws.send(
            compact(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": ["orderbook_delta"],
                        "market_tickers": tickers,
                        "use_yes_price": use_yes_price,
                    },
                }
            )
        )
        while deltas < 1_000:
            sim.advance(5)
            await sim.drain()
            await _collect(ws, handle, quiet=0.05)
    assert seqs == list(range(1, len(seqs) + 1))  # one sid, + 1 across all its markets
    for ticker, book in books.items():
        engine = sim.book(VenueId.KALSHI, ticker)
        assert book.as_yes_book(use_yes_price) == (engine.bids, engine.asks), ticker


async def test_kalshi_seq_gap_then_get_snapshot_recovers(
    sim: Simulator, kalshi_signer: KalshiSigner
) -> None:
    ticker = sim.pair("fed-dec-cut")[VenueId.KALSHI].market_id
    book = KalshiBook()
    messages: list[dict[str, Any]] = []

    def handle(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "orderbook_snapshot":
            book.snapshot(message["msg"])
        elif message["type"] == "orderbook_delta":
            book.delta(message["msg"])

    headers = kalshi_signer.headers("GET", "/trade-api/ws/v2")
    async with websockets.connect(sim.urls.kalshi_ws, additional_headers=headers) as ws:
        await ws.send(
            compact(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": ["orderbook_delta"],
                        "market_tickers": [ticker],
                        "use_yes_price": True,
                    },
                }
            )
        )
        sim.advance(2)
        await _collect(ws, handle)
        assert sim.faults.kalshi_seq_gap() == 1
        sim.advance(3)
        await _collect(ws, handle)
        seqs = [m["seq"] for m in messages if "seq" in m]
        gaps = [b - a for a, b in itertools.pairwise(seqs) if b - a != 1]
        assert gaps == [2]
        sid = messages[0]["msg"]["sid"]
        await ws.send(
            compact(
                {
                    "id": 2,
                    "cmd": "update_subscription",
                    "params": {"sids": [sid], "market_tickers": [ticker], "action": "get_snapshot"},
                }
            )
        )
        await _collect(ws, handle)
        assert messages[-1]["type"] == "orderbook_snapshot"
        assert book.as_yes_book(True) == (
            sim.book(VenueId.KALSHI, ticker).bids,
            sim.book(VenueId.KALSHI, ticker).asks,
        )


async def test_kalshi_ws_refuses_a_bad_signature(
    sim: Simulator, kalshi_signer: KalshiSigner
) -> None:
    headers = kalshi_signer.headers("GET", "/trade-api/ws/v2/other")
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(sim.urls.kalshi_ws, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 401


async def test_kalshi_rest_signature_checks(sim: Simulator, kalshi_signer: KalshiSigner) -> None:
    path = "/trade-api/v2/portfolio/balance"
    async with httpx.AsyncClient(base_url=sim.urls.kalshi_rest) as client:
        ok = await client.get(
            "/portfolio/balance", params={"x": 1}, headers=kalshi_signer.headers("GET", path)
        )
        assert ok.status_code == 200 and ok.json()["balance_dollars"] == "10000.0000"
        wrong_path = await client.get(
            "/portfolio/balance", headers=kalshi_signer.headers("GET", path + "?x=1")
        )
        assert wrong_path.status_code == 401
        tampered = kalshi_signer.headers("GET", path)
        tampered["KALSHI-ACCESS-TIMESTAMP"] = str(int(tampered["KALSHI-ACCESS-TIMESTAMP"]) + 1)
        assert (await client.get("/portfolio/balance", headers=tampered)).status_code == 401
        assert (await client.get("/portfolio/balance")).status_code == 401
        assert (await client.get("/markets")).status_code == 200  # market data is public


async def test_http_faults_429_5xx_425(sim: Simulator) -> None:
    sim.faults.http_error(429, count=2, target="kalshi")
    sim.faults.http_error(425, target="clob", path_prefix="/book")
    sim.faults.http_error(503, target="gamma")
    token = sim.markets(VenueId.POLYMARKET)[0].yes_instrument_id
    async with httpx.AsyncClient() as client:
        statuses = [
            (await client.get(f"{sim.urls.kalshi_rest}/markets")).status_code for _ in range(3)
        ]
        assert statuses == [429, 429, 200]
        assert (
            await client.get(f"{sim.urls.polymarket_clob}/tick-size", params={"token_id": token})
        ).status_code == 200
        assert (
            await client.get(f"{sim.urls.polymarket_clob}/book", params={"token_id": token})
        ).status_code == 425
        assert (
            await client.get(f"{sim.urls.polymarket_clob}/book", params={"token_id": token})
        ).status_code == 200
        assert (await client.get(f"{sim.urls.polymarket_gamma}/markets")).status_code == 503
        # The admin endpoint drives the same faults from another process.
        reply = await client.post(
            f"{sim.urls.admin}/faults/http_error", json={"status": 500, "target": "kalshi"}
        )
        assert reply.json()["ok"]
        assert (await client.get(f"{sim.urls.kalshi_rest}/markets")).status_code == 500
    assert sim.faults.pending_http == 0


async def test_socket_faults_disconnect_silence_malformed(sim: Simulator) -> None:
    market = sim.market("polymarket:fed-dec-cut")
    subscribe = compact({"assets_ids": [market.yes_instrument_id], "type": "market"})
    async with websockets.connect(sim.urls.polymarket_ws) as ws:
        await ws.send(subscribe)
        await ws.recv()  # the dump
        sim.faults.malformed("polymarket")
        frame = await asyncio.wait_for(ws.recv(), timeout=5)
        with pytest.raises(ValueError):
            json.loads(frame)
        sim.faults.silence("polymarket", 1.0)
        sim.advance(3)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), timeout=0.5)
        await ws.send("PING")  # still answered while silent
        assert await asyncio.wait_for(ws.recv(), timeout=5) == "PONG"
        await asyncio.sleep(0.6)
        sim.advance(3)
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=5))["event_type"]
        assert sim.faults.disconnect("polymarket") == 1
        with pytest.raises(ConnectionClosed):
            for _ in range(100):
                await asyncio.wait_for(ws.recv(), timeout=5)
    # Reconnecting gets a fresh snapshot equal to the engine's book.
    async with websockets.connect(sim.urls.polymarket_ws) as ws:
        await ws.send(subscribe)
        dump = json.loads(await ws.recv())
        engine = sim.book(VenueId.POLYMARKET, market.yes_instrument_id)
        assert {D(level["price"]): D(level["size"]) for level in dump[0]["bids"]} == engine.bids
    kinds = [record.kind for record in sim.faults.history]
    assert kinds == ["malformed", "silence", "disconnect"]
