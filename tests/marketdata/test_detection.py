"""The market-data service against the simulator: each injected gap is detected once, a fair
market produces nothing, and a stale feed suppresses detection until it recovers.

Real sockets to the simulator, the real Temporal dev server (workflows are started eagerly and
run in the service's own worker), a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from pmarb.domain.market import VenueId
from pmarb.sim import Simulator
from pmarb.store.db import connect
from pmarb.store.markets import upsert_markets
from pmarb.store.matches import confirm_match
from pmarb.venues.factory import build_live_venues
from tests.marketdata.harness import advance, running_service, settings_for
from tests.sim_support import make_keys, simulator
from tests.support import eventually


async def workflows_of_kind(client: Client, kind: str, queue: str) -> list[str]:
    query = f"OpportunityKind = '{kind}' AND TaskQueue = '{queue}'"
    return [w.id async for w in client.list_workflows(query)]


async def confirm_pair(sim: Simulator, settings: Any, database_url: str, pair_key: str) -> None:
    """Discover both venues' markets and record a human-confirmed equivalent pair."""
    live = build_live_venues(settings.venues)
    markets = [m for venue in live.values() for m in await venue.discover_markets()]
    for venue in live.values():
        await venue.aclose()
    pair = sim.pair(pair_key)
    kalshi, poly = pair[VenueId.KALSHI], pair[VenueId.POLYMARKET]
    by_id = {(m.venue, m.market_id): m for m in markets}
    a, b = by_id[(VenueId.KALSHI, kalshi.market_id)], by_id[(VenueId.POLYMARKET, poly.market_id)]
    async with await connect(database_url) as conn:
        await upsert_markets(conn, markets)
        row = await (
            await conn.execute(
                """insert into market_matches (venue_a, market_a, venue_b, market_b, relation,
                   confidence, evidence, rules_hash_a, rules_hash_b, decided_by, review_status)
               values ('kalshi', %s, 'polymarket', %s, 'equivalent', 0.8, '{}', %s, %s,
                       'model', 'pending') returning id""",
                (a.market_id, b.market_id, a.rules_fingerprint, b.rules_fingerprint),
            )
        ).fetchone()
        assert row is not None
        await conn.commit()
        await confirm_match(conn, row["id"], "test")
        await conn.commit()


async def test_gaps_are_detected_once_and_a_fair_market_gives_nothing(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    client = temporal_env.client
    async with simulator(keys, settings={"taker_probability": 0}) as sim:
        settings = settings_for(
            sim, keys, database_url, client.service_client.config.target_host, tmp_path
        )
        await confirm_pair(sim, settings, database_url, "fed-dec-cut")
        sim.inject_steady_state()
        async with running_service(sim, settings, client) as service:
            queue = settings.marketdata_task_queue
            assert service.scanner is not None and service.scanner.detector_count > 0

            # Ten minutes of fair, fee-tight quotes: nothing to trade.
            await advance(sim, 600, service)
            assert service.stats.detected == 0, [
                (
                    o.kind,
                    [(leg.market_id, leg.outcome, leg.limit_price) for leg in o.legs],
                    o.edge,
                    o.fair_value,
                    o.detected_at,
                )
                for o in service.stats.recent
            ]
            evaluations = service.scanner.stats.evaluations
            assert evaluations > 1000, "the scanner looked at every update"

            sim.inject_cross_venue_gap("fed-dec-cut", D("0.06"), cheap=VenueId.KALSHI)
            await advance(sim, 20, service)
            ids = await eventually(
                lambda: workflows_of_kind(client, "cross_venue", queue),
                lambda ids: len(ids) >= 1,
                timeout=20,
            )
            await advance(sim, 30, service)
            await asyncio.sleep(1)
            assert len(await workflows_of_kind(client, "cross_venue", queue)) == 1, ids
            sim.clear_injections()
            sim.inject_steady_state()
            await advance(sim, 10, service)

            sim.inject_intra_venue_gap("polymarket:democratic-presidential-nominee-2028", D("0.05"))
            await advance(sim, 20, service)
            intra = await eventually(
                lambda: workflows_of_kind(client, "intra_venue", queue),
                lambda ids: len(ids) >= 1,
                timeout=20,
            )
            await advance(sim, 30, service)
            assert len(await workflows_of_kind(client, "intra_venue", queue)) == 1, intra
            sim.clear_injections()
            sim.inject_steady_state()
            await advance(sim, 10, service)

            before = service.stats.detected
            sim.inject_oracle_lag(jump=D("0.02"), lag_seconds=120)
            await advance(sim, 10, service)
            lag = await eventually(
                lambda: workflows_of_kind(client, "oracle_lag", queue),
                lambda ids: len(ids) >= 1,
                timeout=20,
            )
            assert service.stats.detected > before
            assert lag


async def test_a_stale_feed_suppresses_detection_until_it_recovers(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    client = temporal_env.client
    async with simulator(keys, settings={"taker_probability": 0}) as sim:
        settings = settings_for(
            sim, keys, database_url, client.service_client.config.target_host, tmp_path
        )
        await confirm_pair(sim, settings, database_url, "fed-dec-cut")
        sim.inject_steady_state()
        async with running_service(sim, settings, client) as service:
            assert service.scanner is not None
            queue = settings.marketdata_task_queue
            kalshi_store = service.live[VenueId.KALSHI].store
            fed = sim.pair("fed-dec-cut")[VenueId.KALSHI]
            yes_id = next(
                m.yes_instrument_id
                for (v, mid), m in service.markets.items()
                if v is VenueId.KALSHI and mid == fed.market_id
            )

            sim.faults.silence("kalshi", seconds=8)
            # The Kalshi socket answers pings but sends nothing: its books go stale.
            await eventually(
                lambda: asyncio.sleep(0, kalshi_store.is_usable(yes_id, 2)),
                lambda usable: not usable,
                timeout=15,
            )
            emitted = service.scanner.stats.emitted
            sim.inject_cross_venue_gap("fed-dec-cut", D("0.06"), cheap=VenueId.POLYMARKET)
            for _ in range(4):
                sim.advance(1)
                await sim.drain()
                await asyncio.sleep(0.3)
            assert await workflows_of_kind(client, "cross_venue", queue) == []
            assert service.scanner.stats.emitted == emitted
            # Either the stale book was still held (the scanner refused it) or the reconnect
            # had already dropped it (nothing to read): the store names why it is unusable.
            assert kalshi_store.unusable_reason(yes_id, 2) is not None
            if service.scanner.stats.suppressed_stale:
                assert ("kalshi", yes_id) in {
                    (v.value, i) for v, i in service.scanner.stats.stale_instruments
                }

            # Silence ends; the feed reconnects and resyncs, and the gap is traded once.
            await asyncio.sleep(6)
            try:
                found = await eventually(
                    lambda: _advance_and_list(sim, client, queue),
                    lambda ids: len(ids) >= 1,
                    timeout=30,
                    interval=0.5,
                )
            except AssertionError:
                health = kalshi_store.health_for(yes_id)
                raise AssertionError(
                    f"usable={kalshi_store.is_usable(yes_id, 10)} "
                    f"reason={kalshi_store.unusable_reason(yes_id, 10)} "
                    f"health={health.snapshot(10)} stats={service.stats.__dict__} "
                    f"scanner={service.scanner.stats}"
                ) from None
            assert len(found) == 1
            assert kalshi_store.is_usable(yes_id, 10)


async def _advance_and_list(sim: Simulator, client: Client, queue: str) -> list[str]:
    sim.advance(1)
    await sim.drain()
    return await workflows_of_kind(client, "cross_venue", queue)
