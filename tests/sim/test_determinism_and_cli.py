"""The same seed gives the same event stream; `pmarb sim` serves until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from typing import Any

import httpx
import websockets

from pmarb.domain.market import VenueId
from pmarb.sim import SimConfig, Simulator
from pmarb.sim.exchange import Exchange, MarketUpdate
from pmarb.sim.scenario import Scenario, ScenarioSettings
from tests.sim.conftest import START_MS, KalshiSigner, compact
from tests.support import REPO, clean_env


def _record(seed: int, steps: int) -> list[Any]:
    """Run the scenario with no servers at all and keep every event it publishes."""
    events: list[Any] = []
    scenario: Scenario | None = None
    exchange = Exchange(lambda: scenario.now_ms if scenario else START_MS, seed=seed)

    def on_update(update: MarketUpdate) -> None:
        events.append(
            (
                update.market.key,
                update.ts_ms,
                [(c.side.value, c.price, c.before, c.after) for c in update.changes],
                [(e.trade_id, e.yes_price, e.size) for e in update.executions],
            )
        )

    exchange.add_listener(on_update)
    scenario = Scenario(ScenarioSettings(seed=seed, start_ms=START_MS), exchange)
    scenario.external.listeners.append(lambda tick: events.append((tick.trades, tick.book_ticker)))
    scenario.start()
    for _ in range(steps):
        scenario.step(250)
    return events


def test_same_seed_same_event_stream_without_servers() -> None:
    first, second, other = _record(5, 400), _record(5, 400), _record(6, 400)
    assert len(first) > 1_000
    assert first == second
    assert first != other


async def _kalshi_stream(kalshi_signer: KalshiSigner, seed: int) -> list[str]:
    config = SimConfig(
        seed=seed,
        start_time_ms=START_MS,
        kalshi_public_key_pem=kalshi_signer.public_pem,
        settings={"taker_probability": 0.2},
    )
    frames: list[str] = []
    async with Simulator(config) as sim:
        tickers = [m.market_id for m in sim.markets(VenueId.KALSHI)]
        headers = kalshi_signer.headers("GET", "/trade-api/ws/v2")
        async with websockets.connect(sim.urls.kalshi_ws, additional_headers=headers) as ws:
            await ws.send(
                compact(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {
                            "channels": ["orderbook_delta", "trade"],
                            "market_tickers": tickers,
                            "use_yes_price": True,
                        },
                    }
                )
            )
            while len(frames) < 2 + len(tickers):  # both acks and every snapshot first
                frames.append(str(await asyncio.wait_for(ws.recv(), timeout=5)))
            sim.advance(20)
            await sim.drain()
            while True:
                try:
                    frames.append(str(await asyncio.wait_for(ws.recv(), timeout=0.3)))
                except TimeoutError:
                    break
    return frames


async def test_same_seed_same_stream_over_the_socket(kalshi_signer: KalshiSigner) -> None:
    first = await _kalshi_stream(kalshi_signer, 3)
    second = await _kalshi_stream(kalshi_signer, 3)
    assert len(first) > 200 and any('"type":"trade"' in f for f in first)
    assert first == second


async def test_injected_situations_show_in_the_books(kalshi_signer: KalshiSigner) -> None:
    config = SimConfig(seed=2, start_time_ms=START_MS, settings={"taker_probability": 0.0})
    async with Simulator(config) as sim:
        pair = sim.pair("fed-dec-cut")
        poly, kalshi = pair[VenueId.POLYMARKET], pair[VenueId.KALSHI]
        sim.inject_cross_venue_gap("fed-dec-cut", Decimal("0.05"), cheap=VenueId.KALSHI)
        poly_bid = sim.book(VenueId.POLYMARKET, poly.yes_instrument_id).best_bid
        kalshi_ask = sim.book(VenueId.KALSHI, kalshi.market_id).best_ask
        assert poly_bid is not None and kalshi_ask is not None
        assert poly_bid - kalshi_ask == Decimal("0.05")
        event = "polymarket:lakers-vs-celtics-game-7"
        sim.inject_intra_venue_gap(event, Decimal("0.03"))
        sim.advance(10)
        teams = [m for m in sim.markets(VenueId.POLYMARKET) if m.event == event.split(":")[1]]
        asks = [sim.book(VenueId.POLYMARKET, m.yes_instrument_id).best_ask for m in teams]
        assert sum(a for a in asks if a is not None) == Decimal("0.97")
        sim.inject_steady_state()
        sim.advance(10)
        for pair_key in ("fed-dec-cut", "btc-above"):
            markets = sim.pair(pair_key)
            bid = sim.book(
                VenueId.POLYMARKET, markets[VenueId.POLYMARKET].yes_instrument_id
            ).best_bid
            ask = sim.book(VenueId.KALSHI, markets[VenueId.KALSHI].market_id).best_ask
            assert bid == ask  # touching: a gross edge of zero, a loss after any fee
        nominee = [m for m in sim.markets(VenueId.POLYMARKET) if m.neg_risk]
        total = sum(
            sim.book(VenueId.POLYMARKET, m.yes_instrument_id).best_ask or 0 for m in nominee
        )
        assert total == 1
        # Oracle lag: BTC jumps now; the Kalshi BTC quote moves only after the lag.
        btc = sim.pair("btc-above")[VenueId.KALSHI].market_id
        before = sim.book(VenueId.KALSHI, btc).best_bid
        sim.inject_oracle_lag(Decimal("0.03"), lag_seconds=5)
        sim.advance(2)
        assert sim.book(VenueId.KALSHI, btc).best_bid == before
        sim.advance(5)
        after = sim.book(VenueId.KALSHI, btc).best_bid
        assert after is not None and before is not None and after > before


def test_pmarb_sim_cli_serves_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pmarb", "sim", "--seed", "4", "--json"],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        health = httpx.get(f"{urls['admin']}/health", timeout=10).json()
        assert health["ok"]
        book = httpx.get(f"{urls['kalshi_rest']}/markets", timeout=10)
        assert book.status_code == 200 and book.json()["markets"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert os.environ is not None
