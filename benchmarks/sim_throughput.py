"""How fast the simulator produces book changes: scenario steps with no servers, and the same
steps with one Kalshi and one Polymarket WebSocket client subscribed to every market.

Run: .venv/bin/python benchmarks/sim_throughput.py
"""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from pmarb.domain.market import VenueId
from pmarb.sim import SimConfig, Simulator
from pmarb.sim.exchange import Exchange, MarketUpdate
from pmarb.sim.scenario import Scenario, ScenarioSettings

GOAL_CHANGES_PER_SECOND = 5_000  # a test needing 1,000 deltas should wait well under a second


def engine_only(steps: int = 2_000) -> float:
    changes = 0
    scenario: Scenario | None = None
    exchange = Exchange(lambda: scenario.now_ms if scenario else 0, seed=1)

    def count(update: MarketUpdate) -> None:
        nonlocal changes
        changes += len(update.changes)

    exchange.add_listener(count)
    scenario = Scenario(ScenarioSettings(seed=1, start_ms=1_790_000_000_000), exchange)
    scenario.start()
    started = time.perf_counter()
    for _ in range(steps):
        scenario.step(250)
    return changes / (time.perf_counter() - started)


async def over_sockets(seconds: float = 60.0) -> float:
    async with Simulator(SimConfig(seed=1, start_time_ms=1_790_000_000_000)) as sim:
        tokens = [
            token
            for m in sim.markets(VenueId.POLYMARKET)
            for token in (m.yes_instrument_id, m.no_instrument_id)
        ]
        tickers = [m.market_id for m in sim.markets(VenueId.KALSHI)]
        async with (
            websockets.connect(sim.urls.polymarket_ws, max_size=None) as poly,
            websockets.connect(
                sim.urls.kalshi_ws,
                additional_headers={
                    "KALSHI-ACCESS-KEY": "bench",
                    "KALSHI-ACCESS-TIMESTAMP": str(int(time.time() * 1000)),
                    "KALSHI-ACCESS-SIGNATURE": "unchecked-without-a-public-key",
                },
            ) as kalshi,
        ):
            await poly.send(json.dumps({"assets_ids": tokens, "type": "market"}))
            await kalshi.send(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {"channels": ["orderbook_delta"], "market_tickers": tickers},
                    }
                )
            )
            # The clients read everything, as the adapters do: a client that stops reading
            # fills its socket buffers and the simulator (correctly) stalls behind it.
            readers = [asyncio.create_task(_read_all(ws)) for ws in (poly, kalshi)]
            await asyncio.sleep(0.2)
            changes = 0

            def count(update: MarketUpdate) -> None:
                nonlocal changes
                changes += len(update.changes)

            sim.exchange.add_listener(count)
            started = time.perf_counter()
            sim.advance(seconds)
            await sim.drain(timeout=120)
            elapsed = time.perf_counter() - started
        # Closing ends each reader's loop; they keep reading until then, so the close
        # handshake is not stuck behind unread frames.
        await asyncio.gather(*readers)
        return changes / elapsed


async def _read_all(ws: websockets.ClientConnection) -> None:
    async for _ in ws:
        pass


def main() -> None:
    goal = f"(goal ≥ {GOAL_CHANGES_PER_SECOND:,})"
    print(f"engine only:        {engine_only():>10,.0f} level changes/s  {goal}")
    rate = asyncio.run(over_sockets())
    print(f"with 2 WS clients:  {rate:>10,.0f} level changes/s  {goal}")


if __name__ == "__main__":
    main()
