"""Opening orders run as a local activity, which (unlike a plain activity) is cancelled at once
when the workflow is — by a halt, say. An order already on its way to the venue cannot be called
back, so the placement lets it finish and records what the venue answered; the compensations
that run next then find it in the ledger instead of a "pending" row with no venue order."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import ActivityEnvironment

from pmarb.activities.orders import OrderActivities
from pmarb.domain.orders import OrderPurpose, OrderRequest, OrderState, OrderStatus
from pmarb.lifecycle.messages import OrderToSend, PlaceOrdersInput
from pmarb.store.db import connect, open_pool
from pmarb.store.orders import workflow_orders
from pmarb.venues.polymarket.adapter import PolymarketVenue
from tests.chaos.test_restart_recovery import accepted, polymarket, resting_buy
from tests.sim_support import make_keys, simulator


class HeldOnTheWire:
    """The real adapter, with each order held just before it leaves until the test says go."""

    def __init__(self, venue: PolymarketVenue) -> None:
        self.venue = venue
        self.sending = asyncio.Event()
        self.go = asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.venue, name)

    async def place_order(self, order: OrderRequest) -> OrderState:
        self.sending.set()
        await self.go.wait()
        return await self.venue.place_order(order)


async def test_a_cancelled_placement_finishes_the_send_and_records_the_venue_answer(
    database_url: str,
) -> None:
    keys = make_keys()
    workflow_id = "opp-cancel-in-flight"
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        market = (await venue.discover_markets())[0]
        planned = resting_buy(market)
        held = HeldOnTheWire(venue)
        pool = await open_pool(database_url, max_size=2)
        try:
            activities = OrderActivities({planned.venue: held}, pool, paper=False)  # type: ignore[dict-item]
            env = ActivityEnvironment()
            placing = asyncio.create_task(
                env.run(
                    activities.place_orders,
                    PlaceOrdersInput(
                        workflow_id,
                        "oracle-patient",
                        OrderPurpose.OPEN,
                        (OrderToSend(f"{workflow_id}:{planned.leg}", planned),),
                    ),
                )
            )
            await asyncio.wait_for(held.sending.wait(), 10)
            env.cancel()
            await asyncio.sleep(0.05)
            assert not placing.done(), "the placement must wait for the order on the wire"
            held.go.set()
            with pytest.raises(asyncio.CancelledError):
                await placing
        finally:
            await pool.close()
            await venue.aclose()
        assert len(accepted(sim)) == 1, "the order reached the venue"
        async with await connect(database_url) as conn:
            (ledger,) = await workflow_orders(conn, workflow_id)
        assert ledger.status is OrderStatus.OPEN, "the ledger holds the venue's answer"
