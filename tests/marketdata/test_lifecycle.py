"""OpportunityWorkflow end to end: the real market-data service (its worker runs the workflow and
paper venues filling against books streamed from the simulator), real Temporal, real Postgres."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from pmarb.config import Settings
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg, QuoteStamp
from pmarb.domain.orders import OrderPurpose
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.risk import RiskLimits
from pmarb.lifecycle.program import LifecycleStatus
from pmarb.lifecycle.unwind import net_holding
from pmarb.store.db import connect
from pmarb.store.orders import workflow_orders
from pmarb.store.risk_state import set_halted
from pmarb.strategies.base import StrategyBudget
from pmarb.workers.marketdata import MarketDataService
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow
from pmarb.workflows.search_attributes import STAGE
from tests.marketdata.harness import advance, running_service, settings_for
from tests.sim_support import make_keys, simulator
from tests.support import eventually
from tests.workflows.golden import record_golden

ROOMY = RiskLimits(bankroll=D("100000"))


def market_of(service: MarketDataService, venue: VenueId, market_id: str) -> Market:
    return service.markets[(venue, market_id)]


def buy_leg(
    service: MarketDataService, market: Market, outcome: Outcome, size: D
) -> tuple[OpportunityLeg, QuoteStamp, D]:
    """A leg that buys at the current best ask only (so FOK needs that level's depth)."""
    instrument = market.yes_instrument_id if outcome is Outcome.YES else market.no_instrument_id
    book = service.live[market.venue].store.snapshot(instrument, depth=5)
    best = book.best_ask
    assert best is not None
    leg = OpportunityLeg(
        name=f"{market.venue}-{outcome}",
        venue=market.venue,
        market_id=market.market_id,
        instrument_id=instrument,
        outcome=outcome,
        side=Side.BUY,
        limit_price=best.price,
        size=size,
        expected_price=best.price,
        fees=market.fees,
        min_size=market.min_size,
        tick_size=market.tick_size,
    )
    quote = QuoteStamp(market.venue, instrument, best.price, best.size, datetime.now(UTC))
    return leg, quote, best.size


def fed_pair(service: MarketDataService, sim: Any) -> tuple[Market, Market]:
    pair = sim.pair("fed-dec-cut")
    return (
        market_of(service, VenueId.KALSHI, pair[VenueId.KALSHI].market_id),
        market_of(service, VenueId.POLYMARKET, pair[VenueId.POLYMARKET].market_id),
    )


def opportunity(legs: list[OpportunityLeg], quotes: list[QuoteStamp], size: D) -> Opportunity:
    now = datetime.now(UTC)
    return Opportunity(
        kind=OpportunityKind.CROSS_VENUE,
        business_key=f"test-{uuid.uuid4().hex[:10]}",
        legs=tuple(legs),
        size=size,
        edge=D(1) - sum(leg.limit_price for leg in legs),
        detected_at=now,
        expires_at=now + timedelta(seconds=30),
        quotes=tuple(quotes),
        resolves_at=now + timedelta(hours=1),
    )


@asynccontextmanager
async def gapped_simulator(
    client: Client, database_url: str, tmp_path: Path, *, paper_latency: float | None = None
) -> AsyncIterator[tuple[Any, Settings]]:
    """The simulator with its same-contract pair gapped (Kalshi 0.08 cheap), and the settings
    of a service trading it: start (and restart) services on it with ``running_service``."""
    keys = make_keys()
    async with simulator(keys, settings={"taker_probability": 0}) as sim:
        settings = settings_for(
            sim, keys, database_url, client.service_client.config.target_host, tmp_path, risk=ROOMY
        )
        if paper_latency is not None:
            venues = settings.venues.model_copy(update={"paper_latency_seconds": paper_latency})
            settings = settings.model_copy(update={"venues": venues})
        sim.inject_steady_state()
        sim.inject_cross_venue_gap("fed-dec-cut", D("0.08"), cheap=VenueId.KALSHI)
        yield sim, settings


@asynccontextmanager
async def gapped_fed_pair(
    client: Client, database_url: str, tmp_path: Path, *, paper_latency: float | None = None
) -> AsyncIterator[tuple[Any, MarketDataService, Market, Market]]:
    """The gapped pair seen by a running service."""
    async with (
        gapped_simulator(client, database_url, tmp_path, paper_latency=paper_latency) as (
            sim,
            settings,
        ),
        running_service(sim, settings, client, trade=False) as service,
    ):
        await advance(sim, 3, service)
        kalshi, poly = fed_pair(service, sim)
        yield sim, service, kalshi, poly


def best_depths(service: MarketDataService, kalshi: Market, poly: Market) -> tuple[D, D]:
    return (
        buy_leg(service, kalshi, Outcome.YES, D(1))[2],
        buy_leg(service, poly, Outcome.NO, D(1))[2],
    )


def pair_opportunity(
    service: MarketDataService, kalshi: Market, poly: Market, size: D
) -> Opportunity:
    k_leg, k_quote, _ = buy_leg(service, kalshi, Outcome.YES, size)
    p_leg, p_quote, _ = buy_leg(service, poly, Outcome.NO, size)
    return opportunity([k_leg, p_leg], [k_quote, p_quote], size)


async def run_lifecycle(service: MarketDataService, opp: Opportunity, strategy: str) -> Any:
    assert service.client is not None
    return await service.client.execute_workflow(
        OpportunityWorkflow.run,
        OpportunityInput(
            opp, (StrategyBudget(strategy, D("100000")),), service.settings.marketdata_task_queue
        ),
        id=opp.workflow_id,
        task_queue=service.settings.marketdata_task_queue,
        execution_timeout=timedelta(seconds=120),
    )


async def ledger(database_url: str, workflow_id: str) -> Any:
    async with await connect(database_url) as conn:
        return await workflow_orders(conn, workflow_id)


async def test_a_filled_pair_holds_until_resolution_then_settles(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    client = temporal_env.client
    async with gapped_fed_pair(client, database_url, tmp_path) as (sim, service, kalshi, poly):
        size = min(*best_depths(service, kalshi, poly), D(40))
        # Resolution is due at once: the hold goes straight to waiting for the venues.
        opp = replace(pair_opportunity(service, kalshi, poly, size), resolves_at=datetime.now(UTC))
        lifecycle = asyncio.create_task(run_lifecycle(service, opp, "atomic-arb"))

        async def holding() -> bool:
            try:
                description = await client.get_workflow_handle(opp.workflow_id).describe()
            except RPCError:  # not started yet
                return False
            return description.typed_search_attributes.get(STAGE) == "hold"

        await eventually(holding, bool, timeout=60)
        # The same contract on both venues settles YES: Kalshi YES pays 1, Polymarket NO 0.
        for market in sim.pair("fed-dec-cut").values():
            sim.resolve_market(market.key, Outcome.YES)
        result = await lifecycle
        assert result.status is LifecycleStatus.SETTLED, result
        cost = sum(leg.limit_price for leg in opp.legs) * size
        assert result.realized_pnl is not None and 0 < result.realized_pnl < size - cost + D(1)
        orders = await ledger(database_url, opp.workflow_id)
        assert [o.filled_size for o in orders if o.purpose is OrderPurpose.OPEN] == [size, size]
        async with await connect(database_url) as conn:
            row = await (
                await conn.execute(
                    "select status, pnl from trade_requests where workflow_id = %s",
                    (opp.workflow_id,),
                )
            ).fetchone()
        assert row is not None and row["status"] == "settled" and row["pnl"] == result.realized_pnl
        await record_golden(client, opp.workflow_id, "happy")


async def test_a_failed_leg_unwinds_the_filled_one(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    client = temporal_env.client
    async with gapped_fed_pair(client, database_url, tmp_path) as (_, service, kalshi, poly):
        depths = best_depths(service, kalshi, poly)
        # One more than the thinner best level: that FOK cannot fill, the other can.
        size = min(depths) + 1
        assert max(depths) >= size, "need unequal depths"
        opp = pair_opportunity(service, kalshi, poly, size)
        result = await run_lifecycle(service, opp, "atomic-arb")
        assert result.status is LifecycleStatus.UNWOUND, result
        await record_golden(client, opp.workflow_id, "unwind")
        orders = await ledger(database_url, opp.workflow_id)
        opens = [o for o in orders if o.purpose is OrderPurpose.OPEN]
        filled = [o for o in opens if o.filled_size > 0]
        assert len(opens) == 2 and len(filled) == 1, orders
        unwinds = [o for o in orders if o.purpose is OrderPurpose.UNWIND]
        assert unwinds and all(o.side is Side.SELL for o in unwinds)
        assert net_holding(orders, filled[0].instrument_id) == 0, "no naked leg is left"
        async with await connect(database_url) as conn:
            row = await (
                await conn.execute(
                    "select r.status, t.status as trade from exposure_reservations r "
                    "join trade_requests t using (workflow_id) where workflow_id = %s",
                    (opp.workflow_id,),
                )
            ).fetchone()
        assert row == {"status": "released", "trade": "unwound"}


async def test_a_halt_during_leg_placement_stops_the_hedge_and_unwinds(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    client = temporal_env.client
    async with gapped_fed_pair(client, database_url, tmp_path, paper_latency=1.5) as (
        _,
        service,
        kalshi,
        poly,
    ):
        size = min(*best_depths(service, kalshi, poly), D(40))
        opp = pair_opportunity(service, kalshi, poly, size)
        lifecycle = asyncio.create_task(run_lifecycle(service, opp, "leg-and-hedge"))
        await asyncio.sleep(0.7)  # the first leg is in flight (paper latency 1.5 s)
        async with await connect(database_url) as conn:
            await set_halted(conn, halted=True, reason="test halt", actor="test")
            await conn.commit()
        result = await lifecycle
        assert result.status is LifecycleStatus.HALTED, result
        await record_golden(client, opp.workflow_id, "halt")
        orders = await ledger(database_url, opp.workflow_id)
        assert not [o for o in orders if o.purpose is OrderPurpose.HEDGE], "no hedge was sent"
        opened = [o for o in orders if o.purpose is OrderPurpose.OPEN]
        assert len(opened) == 1 and opened[0].filled_size == size
        assert [o for o in orders if o.purpose is OrderPurpose.UNWIND], "compensation ran"
        assert net_holding(orders, opened[0].instrument_id) == 0


async def test_a_duplicate_detection_starts_one_workflow(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    client = temporal_env.client
    async with simulator(keys, settings={"taker_probability": 0}) as sim:
        settings = settings_for(
            sim, keys, database_url, client.service_client.config.target_host, tmp_path
        )
        sim.inject_steady_state()
        async with running_service(sim, settings, client, trade=False) as service:
            kalshi, poly = fed_pair(service, sim)
            k_leg, k_quote, _ = buy_leg(service, kalshi, Outcome.YES, D(5))
            p_leg, p_quote, _ = buy_leg(service, poly, Outcome.NO, D(5))
            opp = opportunity([k_leg, p_leg], [k_quote, p_quote], D(5))
            first = await service.start(opp)
            second = await service.start(opp)
            assert first is not None and second is not None
            assert first.id == second.id
            await first.result()  # a fair market: no bid, the lifecycle ends at once
            assert await service.start(opp) is None, "a closed lifecycle is not restarted"
            runs = [w async for w in client.list_workflows(f"WorkflowId = '{opp.workflow_id}'")]
        assert len(runs) == 1
        assert service.stats.started == 2 and service.stats.duplicates == 1
