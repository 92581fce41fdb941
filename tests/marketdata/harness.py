"""A market-data service wired to the simulator, a real database and the real Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client

from pmarb.config import Settings
from pmarb.domain.market import Market, VenueId
from pmarb.infra.runtime import Endpoints
from pmarb.oracles.config import BinanceSettings, OracleSettings
from pmarb.sim import Simulator
from pmarb.venues.settings import KalshiSettings, PolymarketSettings, VenueSettings
from pmarb.workers.marketdata import MarketDataService
from tests.sim_support import Keys
from tests.support import eventually


def settings_for(
    sim: Simulator,
    keys: Keys,
    database_url: str,
    temporal_address: str,
    data_dir: Path,
    **overrides: Any,
) -> Settings:
    overrides.setdefault("paper", True)
    return Settings(
        data_dir=data_dir,
        database_url=SecretStr(database_url),
        temporal_address=temporal_address,
        marketdata_task_queue=f"md-{uuid.uuid4().hex[:8]}",
        venues=VenueSettings(
            polymarket=PolymarketSettings(
                gamma_url=sim.urls.polymarket_gamma,
                clob_url=sim.urls.polymarket_clob,
                ws_url=sim.urls.polymarket_ws,
                data_url=sim.urls.polymarket_gamma,  # the simulator serves the data API there
                private_key=SecretStr(keys.poly_private),
                api_key=keys.poly_credentials.api_key,
                api_secret=SecretStr(keys.poly_credentials.secret),
                api_passphrase=SecretStr(keys.poly_credentials.passphrase),
                silence_timeout_seconds=3,
            ),
            kalshi=KalshiSettings(
                rest_url=sim.urls.kalshi_rest,
                ws_url=sim.urls.kalshi_ws,
                key_id="kalshi-key-1",
                private_key_pem=SecretStr(keys.kalshi_private.decode()),
                silence_timeout_seconds=3,
            ),
            paper_latency_seconds=0.0,
        ),
        oracles=OracleSettings(binance=BinanceSettings(url=sim.urls.binance_ws)),
        **overrides,
    )


def books_ready(service: MarketDataService) -> bool:
    if service.scanner is None or not service.markets:
        return False
    for (venue, _), market in service.markets.items():
        store = service.live[venue].store
        for instrument in (market.yes_instrument_id, market.no_instrument_id):
            if not store.is_usable(instrument, 30):
                return False
    return True


@asynccontextmanager
async def running_service(
    sim: Simulator, settings: Settings, client: Client, *, trade: bool = True
) -> AsyncIterator[MarketDataService]:
    service = MarketDataService(
        settings,
        Endpoints(
            database_url=settings.database_url.get_secret_value(),  # type: ignore[union-attr]
            temporal_address=client.service_client.config.target_host,
            temporal_ui_url=None,
            api_url="",
        ),
        trade=trade,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    async def ready() -> bool:
        if task.done():
            task.result()
        sim.advance(1)
        await sim.drain()
        return books_ready(service)

    try:
        await eventually(ready, bool, timeout=60, interval=0.2)
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def advance(
    sim: Simulator, seconds: float, service: MarketDataService | None = None, chunk: float = 1.0
) -> None:
    """Move simulated time in small steps, waiting each time until the service has read the
    simulator's latest BTC tick, so its feeds never drift apart in simulated time (in real
    time they arrive together; fast-forwarding would otherwise manufacture oracle lags)."""
    done = 0.0
    while done < seconds:
        step = min(chunk, seconds - done)
        sim.advance(step)
        await sim.drain()
        done += step
        if service is None:
            await asyncio.sleep(0.02)
            continue
        await caught_up(sim, service)


def _engine_id(market: Market) -> str:
    return market.market_id if market.venue is VenueId.KALSHI else market.yes_instrument_id


def _in_step(sim: Simulator, service: MarketDataService) -> bool:
    target = datetime.fromtimestamp(sim.scenario.now_ms / 1000, UTC) - timedelta(seconds=0.5)
    seen = service.fair_values.last_tick_time("BTC")
    if seen is None or seen < target:
        return False
    for (venue, _), market in service.markets.items():
        engine = sim.book(venue, _engine_id(market))
        ours = service.live[venue].store.snapshot(market.yes_instrument_id, depth=None)
        if {level.price: level.size for level in ours.asks} != engine.asks or {
            level.price: level.size for level in ours.bids
        } != engine.bids:
            return False
    return True


async def caught_up(sim: Simulator, service: MarketDataService, timeout: float = 10) -> None:
    """Wait until the service holds exactly the simulator's books and its latest BTC tick."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not _in_step(sim, service):
        if loop.time() > deadline:
            raise AssertionError("the service did not catch up with the simulator")
        await asyncio.sleep(0.005)


__all__ = ["VenueId"]
