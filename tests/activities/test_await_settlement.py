"""A held position waits for its market's resolution however long the venue takes to answer,
and is settled from the venue's own result once it does."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from pmarb.activities.orders import OrderActivities
from pmarb.domain.market import VenueId
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.messages import SettlementInput
from pmarb.store.db import open_pool
from pmarb.venues.factory import build_live_venues
from tests.marketdata.harness import settings_for
from tests.sim_support import make_keys, simulator
from tests.support import eventually


async def test_an_unanswerable_settlement_is_waited_out_then_a_resolution_settles(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        settings = settings_for(sim, keys, database_url, "127.0.0.1:1", tmp_path, paper=False)
        venues = build_live_venues(settings.venues)
        pool = await open_pool(database_url, max_size=2)
        try:
            activities = OrderActivities(venues, pool, paper=False)
            env = ActivityEnvironment()
            heartbeats: list[object] = []
            env.on_heartbeat = lambda *details: heartbeats.append(details)

            # A market the venue does not know: keep waiting (heartbeating), say so once.
            with caplog.at_level(logging.WARNING, logger="pmarb.activities.orders"):
                unknown = asyncio.create_task(
                    env.run(
                        activities.await_settlement,
                        SettlementInput(VenueId.KALSHI, "KX-NO-SUCH-MARKET", poll_seconds=0.01),
                    )
                )

                async def beats() -> int:
                    return len(heartbeats)

                await eventually(beats, lambda n: n >= 5, timeout=10)
                assert not unknown.done()
                env.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await unknown
            warnings = [r for r in caplog.records if "KX-NO-SUCH-MARKET" in r.getMessage()]
            assert len(warnings) == 1

            # A stopping worker: the wait gives way at once (Temporal resumes it elsewhere)
            # instead of holding the shutdown for its grace period.
            stopping = ActivityEnvironment()
            waiter = asyncio.create_task(
                stopping.run(
                    activities.await_settlement,
                    SettlementInput(VenueId.KALSHI, "KX-NO-SUCH-MARKET", poll_seconds=60),
                )
            )
            await asyncio.sleep(0.2)
            assert not waiter.done()
            stopping.worker_shutdown()
            with pytest.raises(ApplicationError, match="shutting down"):
                await asyncio.wait_for(waiter, 5)

            # A market that resolves while we wait: its YES payout comes back.
            market = sim.pair("fed-dec-cut")[VenueId.KALSHI]
            waiting = asyncio.create_task(
                ActivityEnvironment().run(
                    activities.await_settlement,
                    SettlementInput(VenueId.KALSHI, market.market_id, poll_seconds=0.01),
                )
            )
            await asyncio.sleep(0.1)
            assert not waiting.done()
            sim.resolve_market(f"kalshi:{market.market_id}", Outcome.YES)
            assert await asyncio.wait_for(waiting, 10) == D(1)
        finally:
            await pool.close()
            for venue in venues.values():
                await venue.aclose()
