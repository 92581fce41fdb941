"""SIGTERM to the trading worker (``pmarb marketdata``, which runs OpportunityWorkflow and its order
activities) while an order placement is in flight: the placement finishes and is recorded, the
process exits, nothing is sent twice, and the next start carries the lifecycle to its end."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from pmarb.chaos.lifecycles import buy_leg
from pmarb.domain.market import VenueId
from pmarb.domain.opportunity import Opportunity, OpportunityKind, QuoteStamp
from pmarb.domain.orders import OrderPurpose, OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.program import LifecycleStatus
from pmarb.lifecycle.unwind import net_holding
from pmarb.sim import Simulator
from pmarb.store.db import connect
from pmarb.store.markets import get_markets
from pmarb.store.orders import workflow_orders
from pmarb.strategies.base import StrategyBudget
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow
from tests.sim_support import Keys, make_keys, simulator
from tests.support import clean_env, eventually

pytestmark = pytest.mark.slow

ORDER_DELAY = 3.0
GRACE = 30


class SlowOrderRelay:
    """A TCP relay in front of the simulator's Kalshi REST API that holds every order placement
    for ``delay`` seconds: a slow venue, so a placement is surely in flight when SIGTERM lands."""

    def __init__(self, upstream: str, delay: float) -> None:
        host_port = upstream.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.delay = delay
        self.order_arrived = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SlowOrderRelay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def outbound() -> None:
            while data := await reader.read(65536):
                request_line = data.split(b"\r\n", 1)[0]
                if request_line.startswith(b"POST ") and b"/orders" in request_line:
                    self.order_arrived.set()
                    await asyncio.sleep(self.delay)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def inbound() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(outbound(), inbound())


def marketdata_env(
    sim: Simulator,
    keys: Keys,
    relay: SlowOrderRelay,
    database_url: str,
    temporal_address: str,
    task_queue: str,
    data_dir: Path,
) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_address,
        PMARB_DATA_DIR=str(data_dir),
        PMARB_PAPER="false",
        PMARB_MARKETDATA_TASK_QUEUE=task_queue,
        PMARB_RISK__BANKROLL="100000",
        PMARB_WORKER_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        PMARB_VENUES__POLYMARKET__GAMMA_URL=sim.urls.polymarket_gamma,
        PMARB_VENUES__POLYMARKET__CLOB_URL=sim.urls.polymarket_clob,
        PMARB_VENUES__POLYMARKET__WS_URL=sim.urls.polymarket_ws,
        PMARB_VENUES__POLYMARKET__DATA_URL=sim.urls.polymarket_gamma,
        PMARB_VENUES__POLYMARKET__PRIVATE_KEY=keys.poly_private,
        PMARB_VENUES__POLYMARKET__API_KEY=keys.poly_credentials.api_key,
        PMARB_VENUES__POLYMARKET__API_SECRET=keys.poly_credentials.secret,
        PMARB_VENUES__POLYMARKET__API_PASSPHRASE=keys.poly_credentials.passphrase,
        PMARB_VENUES__KALSHI__REST_URL=relay.url("/trade-api/v2"),
        PMARB_VENUES__KALSHI__WS_URL=sim.urls.kalshi_ws,
        PMARB_VENUES__KALSHI__KEY_ID="kalshi-key-1",
        PMARB_VENUES__KALSHI__PRIVATE_KEY_PEM=keys.kalshi_private.decode(),
        PMARB_ORACLES__BINANCE__URL=sim.urls.binance_ws,
    )


@contextlib.asynccontextmanager
async def marketdata(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """``pmarb marketdata`` as its own process; yields once its worker is polling."""
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pmarb", "marketdata", env=env, stdout=sink, stderr=sink
        )
    try:

        async def running() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"marketdata exited early:\n{_tail(log)}")
            return b"market data running" in log.read_bytes()  # noqa: ASYNC240 (tiny file)

        await eventually(running, bool, timeout=120, interval=0.2)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def one_leg_fails(sim: Simulator, database_url: str) -> Opportunity:
    """Kalshi YES + Polymarket NO, one contract more than the thinner best level: one FOK
    fills, the other cannot, and the lifecycle must unwind the filled one."""
    pair = sim.pair("fed-dec-cut")
    kalshi, poly = pair[VenueId.KALSHI], pair[VenueId.POLYMARKET]
    async with await connect(database_url) as conn:
        markets = await get_markets(
            conn, [("kalshi", kalshi.market_id), ("polymarket", poly.market_id)]
        )
    k_market = markets[("kalshi", kalshi.market_id)]
    p_market = markets[("polymarket", poly.market_id)]
    k_book = sim.book(VenueId.KALSHI, kalshi.yes_instrument_id)
    p_book = sim.book(VenueId.POLYMARKET, poly.no_instrument_id)
    k_price, p_price = min(k_book.asks), min(p_book.asks)
    k_depth, p_depth = k_book.asks[k_price], p_book.asks[p_price]
    size = min(k_depth, p_depth) + 1
    assert max(k_depth, p_depth) >= size, "the scenario needs unequal depths"
    now = datetime.now(UTC)
    legs = (
        buy_leg(k_market, Outcome.YES, k_price, size),
        buy_leg(p_market, Outcome.NO, p_price, size),
    )
    return Opportunity(
        kind=OpportunityKind.CROSS_VENUE,
        business_key=f"graceful-{uuid.uuid4().hex[:10]}",
        legs=legs,
        size=size,
        edge=D(1) - k_price - p_price,
        detected_at=now,
        expires_at=now + timedelta(seconds=60),
        quotes=tuple(
            QuoteStamp(x.venue, x.instrument_id, x.limit_price, x.size, now) for x in legs
        ),
        resolves_at=now + timedelta(hours=1),
    )


async def test_sigterm_lets_an_order_in_flight_finish_and_the_next_start_resumes(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    client = temporal_env.client
    task_queue = f"md-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "marketdata.log"
    async with (
        simulator(keys, settings={"taker_probability": 0}) as sim,
        SlowOrderRelay(sim.urls.kalshi_rest, ORDER_DELAY) as relay,
    ):
        sim.inject_steady_state()
        sim.inject_cross_venue_gap("fed-dec-cut", D("0.08"), cheap=VenueId.KALSHI)
        sim.advance(3)
        env = marketdata_env(
            sim,
            keys,
            relay,
            database_url,
            client.service_client.config.target_host,
            task_queue,
            tmp_path,
        )
        async with marketdata(env, log) as first:
            opp = await one_leg_fails(sim, database_url)
            handle = await client.start_workflow(
                OpportunityWorkflow.run,
                OpportunityInput(opp, (StrategyBudget("atomic-arb", D("100000")),), task_queue),
                id=opp.workflow_id,
                task_queue=task_queue,
                execution_timeout=timedelta(minutes=5),
            )
            await asyncio.wait_for(relay.order_arrived.wait(), 30)
            first.send_signal(signal.SIGTERM)  # the Kalshi leg is held at the relay
            assert await asyncio.wait_for(first.wait(), GRACE + 30) == 0

        # Before any restart: the placement finished and its result reached the ledger.
        async with await connect(database_url) as conn:
            orders = await workflow_orders(conn, opp.workflow_id)
        opens = [o for o in orders if o.purpose is OrderPurpose.OPEN]
        assert len(opens) == 2, orders
        assert all(o.status is not OrderStatus.PENDING for o in opens), opens
        # The opening orders are a local activity: its result reaches the history only with the
        # workflow task, which a stopping worker may not complete. The ledger above is what
        # matters; the next start re-runs the placement, which finds both orders by client id.
        history = await handle.fetch_history()
        types = [event.event_type for event in history.events]
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in types
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in types

        async with marketdata(env, log):
            result = await handle.result()
        assert result.status is LifecycleStatus.UNWOUND, result

        for venue in (VenueId.KALSHI, VenueId.POLYMARKET):
            counts = sim.order_counts(venue)
            assert counts and max(counts.values()) == 1, f"{venue} duplicates: {counts}"
        async with await connect(database_url) as conn:
            orders = await workflow_orders(conn, opp.workflow_id)
        for instrument in {o.instrument_id for o in orders}:
            assert net_holding(orders, instrument) == 0, "the filled leg was unwound"
