"""The Polymarket adapter against the simulator's taker delay, over real HTTP.

The simulator holds an API order that is marketable on an up/down market for 250 ms of
simulated time and answers ``status: "delayed"``; the test moves simulated time while the
adapter waits, as the wall clock would move the real venue.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.sim import Simulator
from pmarb.sim.exchange import SimOrder
from pmarb.venues.polymarket.adapter import PolymarketVenue
from tests.sim_support import make_keys, simulator
from tests.support import eventually
from tests.venues.test_against_simulator import polymarket


async def up_down(venue: PolymarketVenue) -> Market:
    markets = await venue.discover_markets()
    delayed = [m for m in markets if m.taker_delay_seconds > 0]
    assert [m.outcome_names for m in delayed] == [("Up", "Down")]  # only the up/down round
    assert delayed[0].taker_delay_seconds == 0.25
    return delayed[0]


def buy(market: Market, cid: str, price: D, size: D) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        venue=VenueId.POLYMARKET,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id,
        outcome=Outcome.YES,
        side=Side.BUY,
        price=price,
        size=size,
        time_in_force=TimeInForce.FOK,
        created_at=datetime.now(UTC),
    )


async def held_in(sim: Simulator) -> SimOrder:
    async def probe() -> list[SimOrder]:
        return [o for o in sim.exchange.orders.values() if o.is_held]

    (held,) = await eventually(probe, lambda found: len(found) == 1, timeout=5, interval=0.01)
    return held


async def test_a_delayed_taker_comes_back_matched_and_cannot_be_cancelled_meanwhile() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        market = await up_down(venue)
        ask = sim.book(VenueId.POLYMARKET, market.yes_instrument_id).best_ask
        assert ask is not None
        order = buy(market, "opp-1:up", ask + D("0.05"), D(5))
        placing = asyncio.create_task(venue.place_order(order))
        held = await held_in(sim)
        assert held.filled == 0
        refused = await venue.cancel_order(order.client_order_id)
        assert refused.status is OrderStatus.PENDING and refused.filled_size == 0
        assert held.is_held and held.status is OrderStatus.PENDING  # the cancel changed nothing
        assert not placing.done()  # the adapter is waiting the delay out
        sim.advance(0.25)
        state = await placing
        assert state.status is OrderStatus.FILLED and state.filled_size == D(5)
        assert sim.exchange.orders[held.order_id].status is OrderStatus.FILLED
        received = [r for r in sim.orders_received(VenueId.POLYMARKET) if r.result == "accepted"]
        assert len(received) == 1
        await venue.aclose()


async def test_a_delayed_fok_that_cannot_fill_after_the_delay_comes_back_killed() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        market = await up_down(venue)
        ask = sim.book(VenueId.POLYMARKET, market.yes_instrument_id).best_ask
        assert ask is not None
        # Marketable on arrival (so held), far more than the book holds (so killed after).
        placing = asyncio.create_task(venue.place_order(buy(market, "opp-2:up", ask, D(4000))))
        await held_in(sim)
        sim.advance(0.25)
        state = await placing
        assert state.status is OrderStatus.CANCELLED and state.filled_size == 0
        assert state.reason == "UNMATCHED"  # the venue's word for a failed delayed match
        await venue.aclose()


async def test_an_order_still_delayed_after_the_grace_is_left_working() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        venue.config = replace(venue.config, delayed_grace=0.2, delayed_poll=0.05)
        market = await up_down(venue)
        ask = sim.book(VenueId.POLYMARKET, market.yes_instrument_id).best_ask
        assert ask is not None
        order = buy(market, "opp-3:up", ask + D("0.05"), D(5))
        # Simulated time stands still: the venue never lets the order go while the adapter
        # waits, so it comes back pending, and a later lookup finds how it ended.
        state: OrderState = await venue.place_order(order)
        assert state.status is OrderStatus.PENDING and state.filled_size == 0
        sim.advance(0.25)
        later = await venue.get_order(order.client_order_id)
        assert later is not None and later.status is OrderStatus.FILLED
        await venue.aclose()
