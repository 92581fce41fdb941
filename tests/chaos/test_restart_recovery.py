"""Found by the chaos run: a Polymarket order sent by a process that was then SIGKILLed (before
its result reached the ledger) was invisible to the restarted process — Polymarket has no client
order id and the new process could not derive the order hash — so the retry signed a new order
(a second position) and the unwind marked the first "never sent" (a naked leg at the venue).

The ledger now keeps the decision time the order was signed with; a retry in any process signs
the identical order, finds it by hash, and sends nothing twice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal as D

from temporalio.testing import ActivityEnvironment

from pmarb.activities.orders import OrderActivities
from pmarb.domain.bid import PlannedOrder
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderPurpose, OrderRequest, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.lifecycle.messages import OrderToSend, PlaceOrdersInput
from pmarb.sim import Simulator
from pmarb.store.db import connect, open_pool
from pmarb.store.orders import halt_and_record_intents, recorded_request, workflow_orders
from pmarb.venues.polymarket.adapter import PolymarketConfig, PolymarketVenue
from tests.sim_support import Keys, make_keys, simulator


def polymarket(sim: Simulator, keys: Keys) -> PolymarketVenue:
    """A fresh adapter: what a (re)started process has."""
    return PolymarketVenue(
        PolymarketConfig(
            gamma_url=sim.urls.polymarket_gamma,
            clob_url=sim.urls.polymarket_clob,
            ws_url=sim.urls.polymarket_ws,
            data_url=None,
            private_key=keys.poly_private,
            credentials=keys.poly_credentials,
            http_attempts=3,
        )
    )


def resting_buy(market: Market) -> PlannedOrder:
    return PlannedOrder(
        leg="polymarket-yes",
        venue=VenueId.POLYMARKET,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id,
        outcome=Outcome.YES,
        side=Side.BUY,
        limit_price=market.tick_size * 2,
        size=D(10),
        time_in_force=TimeInForce.GTC,
        expected_price=market.tick_size * 2,
    )


def accepted(sim: Simulator) -> list[str | None]:
    return [r.order_id for r in sim.orders_received(VenueId.POLYMARKET) if r.result == "accepted"]


async def test_a_retry_after_a_restart_finds_the_polymarket_order_the_killed_process_sent(
    database_url: str,
) -> None:
    keys = make_keys()
    workflow_id = "opp-restart-1"
    async with simulator(keys) as sim:
        killed = polymarket(sim, keys)
        market = (await killed.discover_markets())[0]
        planned = resting_buy(market)
        item = OrderToSend(f"{workflow_id}:{planned.leg}", planned)
        # What the first attempt did before the SIGKILL: record the intent, send the order;
        # the venue's answer never reached the ledger.
        decided_at = datetime.now(UTC).replace(microsecond=0)
        first = OrderRequest(
            client_order_id=item.client_order_id,
            venue=VenueId.POLYMARKET,
            market_id=planned.market_id,
            instrument_id=planned.instrument_id,
            outcome=planned.outcome,
            side=planned.side,
            price=planned.limit_price,
            size=planned.size,
            time_in_force=planned.time_in_force,
            created_at=decided_at,
        )
        async with await connect(database_url) as conn:
            await halt_and_record_intents(
                conn,
                [(first, planned.leg)],
                workflow_id=workflow_id,
                purpose=OrderPurpose.OPEN,
                strategy=None,
                paper=False,
            )
            await conn.commit()
        sent = await killed.place_order(first)
        await killed.aclose()

        restarted = polymarket(sim, keys)
        await restarted.discover_markets()
        assert await restarted.get_order(item.client_order_id) is None, (
            "by client order id alone a new process cannot know the order"
        )
        async with await connect(database_url) as conn:
            recorded = await recorded_request(conn, item.client_order_id)
        assert recorded is not None and recorded.created_at == decided_at

        # Temporal retries the placement in the restarted process.
        pool = await open_pool(database_url, max_size=2)
        try:
            activities = OrderActivities({VenueId.POLYMARKET: restarted}, pool, paper=False)
            env = ActivityEnvironment()
            env.info = dataclasses.replace(env.info, attempt=2)
            (outcome,) = await env.run(
                activities.place_orders,
                PlaceOrdersInput(workflow_id, "atomic-arb", OrderPurpose.OPEN, (item,)),
            )
        finally:
            await pool.close()
        await restarted.aclose()

        assert accepted(sim) == [sent.venue_order_id], "one order at the venue, not two"
        assert outcome.status is OrderStatus.OPEN
        async with await connect(database_url) as conn:
            (ledger,) = await workflow_orders(conn, workflow_id)
        assert ledger.status is OrderStatus.OPEN, "the ledger learnt what the venue holds"
