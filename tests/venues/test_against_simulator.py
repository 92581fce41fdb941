"""The adapters over real sockets against the local exchange simulator (``pmarb.sim``).

Same adapter code as live: only base URLs and credentials differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderRequest, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import gtd_refusal
from pmarb.feeds.backoff import Backoff
from pmarb.feeds.websocket import WebSocketFeed
from pmarb.sim import Simulator
from pmarb.venues.base import OrderRejectedError, RetryableVenueError
from pmarb.venues.kalshi.adapter import KalshiConfig, KalshiVenue
from pmarb.venues.polymarket.adapter import PolymarketConfig, PolymarketVenue
from pmarb.venues.store import BookStore
from tests.sim_support import Keys, make_keys, simulator
from tests.support import eventually


def polymarket(sim: Simulator, keys: Keys) -> PolymarketVenue:
    return PolymarketVenue(
        PolymarketConfig(
            gamma_url=sim.urls.polymarket_gamma,
            clob_url=sim.urls.polymarket_clob,
            ws_url=sim.urls.polymarket_ws,
            data_url=None,
            private_key=keys.poly_private,
            credentials=keys.poly_credentials,
            resync_grace=0.2,
            http_attempts=3,
        )
    )


def kalshi(sim: Simulator, keys: Keys) -> KalshiVenue:
    return KalshiVenue(
        KalshiConfig(
            rest_url=sim.urls.kalshi_rest,
            ws_url=sim.urls.kalshi_ws,
            key_id="kalshi-key-1",
            private_key_pem=keys.kalshi_private,
            http_attempts=3,
        )
    )


@contextmanager
def running(feeds: list[WebSocketFeed]) -> Iterator[asyncio.Event]:
    stop = asyncio.Event()
    for feed in feeds:
        feed.config.backoff = Backoff(initial=0.05, maximum=0.2)
    tasks = [asyncio.get_running_loop().create_task(feed.run(stop)) for feed in feeds]
    try:
        yield stop
    finally:
        stop.set()
        for task in tasks:
            task.cancel()


def book_matches(store: BookStore, sim: Simulator, venue: VenueId, ours: str, theirs: str) -> bool:
    book = store.book(store.primary(ours)[0])
    if book is None or not book.valid:
        return False
    snapshot = store.snapshot(ours, depth=None)
    engine = sim.book(venue, theirs)
    return {level.price: level.size for level in snapshot.bids} == engine.bids and {
        level.price: level.size for level in snapshot.asks
    } == engine.asks


async def all_match(
    store: BookStore, sim: Simulator, venue: VenueId, pairs: list[tuple[str, str]]
) -> None:
    assert any(sim.book(venue, theirs).bids for _, theirs in pairs), "compare real books"
    await sim.drain()
    await eventually(
        lambda: asyncio.sleep(0, [p for p in pairs if not book_matches(store, sim, venue, *p)]),
        lambda mismatched: not mismatched,
        timeout=15,
    )


async def test_polymarket_books_equal_the_simulator_through_deltas_and_a_disconnect() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        markets = await venue.discover_markets()
        assert markets and all(m.venue is VenueId.POLYMARKET for m in markets)
        pairs = [(i, i) for m in markets for i in (m.yes_instrument_id, m.no_instrument_id)]
        feeds = venue.stream([asset for asset, _ in pairs])
        with running(feeds):
            await all_match(venue.store, sim, VenueId.POLYMARKET, pairs)
            handlers = venue._handlers
            while sum(h.changes_applied for h in handlers) < 1_000:
                sim.advance(5)
                await sim.drain()
                await asyncio.sleep(0.05)
            await all_match(venue.store, sim, VenueId.POLYMARKET, pairs)
            connections = sum(feed.connections for feed in feeds)
            sim.faults.disconnect("polymarket")
            sim.advance(2)
            await eventually(
                lambda: asyncio.sleep(0, sum(feed.connections for feed in feeds)),
                lambda n: n > connections,
                timeout=10,
            )
            sim.advance(3)
            await all_match(venue.store, sim, VenueId.POLYMARKET, pairs)
            for market in markets:
                assert venue.store.is_usable(market.yes_instrument_id, 30)
            assert sum(h.health.malformed for h in handlers) == 0
        await venue.aclose()


async def test_kalshi_books_equal_the_simulator_through_deltas_a_gap_and_a_disconnect() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = kalshi(sim, keys)
        markets = await venue.discover_markets()
        assert markets and all(m.fees.taker_rate > 0 for m in markets)
        # Readers that hold a book before the stream starts (the scanner) must get the YES
        # book flipped for a NO id, never an empty book of its own.
        held = {m.no_instrument_id: venue.store.top_reader(m.no_instrument_id) for m in markets}
        assert all(flipped for _, flipped in held.values())
        pairs = [(m.yes_instrument_id, m.market_id) for m in markets] + [
            (m.no_instrument_id, f"{m.market_id}:no") for m in markets
        ]
        feed = venue.stream([m.market_id for m in markets])
        handler = venue._handler
        assert handler is not None
        with running([feed]):
            await all_match(venue.store, sim, VenueId.KALSHI, pairs)
            for no_instrument, (book, _) in held.items():
                assert book is venue.store.top_reader(no_instrument)[0]
                assert book.asks.prices or book.bids.prices
            while handler.deltas_applied < 1_000:
                sim.advance(5)
                await sim.drain()
                await asyncio.sleep(0.05)
            await all_match(venue.store, sim, VenueId.KALSHI, pairs)
            assert sim.faults.kalshi_seq_gap() >= 1
            sim.advance(2)
            await eventually(lambda: asyncio.sleep(0, handler.gaps), lambda n: n >= 1, timeout=10)
            sim.advance(2)
            await all_match(venue.store, sim, VenueId.KALSHI, pairs)
            connections = feed.connections
            sim.faults.disconnect("kalshi")
            sim.advance(1)
            await eventually(lambda: asyncio.sleep(0, feed.connections), lambda n: n > connections)
            sim.advance(2)
            await all_match(venue.store, sim, VenueId.KALSHI, pairs)
            assert venue.store.health.malformed == 0
        await venue.aclose()


def poly_order(market: Market, cid: str, created: datetime) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        venue=VenueId.POLYMARKET,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id,
        outcome=Outcome.YES,
        side=Side.BUY,
        price=market.tick_size * 2,
        size=D(10),
        time_in_force=TimeInForce.GTC,
        created_at=created,
    )


async def test_polymarket_retried_placement_after_a_lost_response_makes_one_order() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        market = (await venue.discover_markets())[0]
        order = poly_order(market, "opp-1:leg-a", datetime.now(UTC))
        # The venue accepts the order but the response is lost, on every attempt the adapter
        # makes; the retries (and a second call, as a Temporal retry would make) post the
        # identical signed order, which the venue already has.
        sim.faults.http_error(
            502, target="clob", path_prefix="/order", after_processing=True, count=3
        )
        with pytest.raises(RetryableVenueError):  # the adapter gives up; the caller retries
            await venue.place_order(order)
        state = await venue.place_order(order)
        assert state.status is OrderStatus.OPEN and state.venue_order_id
        accepted = [r for r in sim.orders_received(VenueId.POLYMARKET) if r.result == "accepted"]
        assert len(accepted) == 1 and accepted[0].order_id == state.venue_order_id
        assert (await venue.get_order(order.client_order_id)) == state
        cancelled = await venue.cancel_order(order.client_order_id)
        assert cancelled.status is OrderStatus.CANCELLED
        assert await venue.balance() > 0
        await venue.aclose()


async def test_kalshi_retried_placement_after_a_lost_response_makes_one_order() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = kalshi(sim, keys)
        market = (await venue.discover_markets())[0]
        order = OrderRequest(
            client_order_id="opp-2:leg-b",
            venue=VenueId.KALSHI,
            market_id=market.market_id,
            instrument_id=market.no_instrument_id,
            outcome=Outcome.NO,
            side=Side.BUY,
            price=D("0.02"),
            size=D(5),
            time_in_force=TimeInForce.GTC,
        )
        sim.faults.http_error(
            502,
            target="kalshi",
            path_prefix="/trade-api/v2/portfolio/events/orders",
            after_processing=True,
        )
        state = await venue.place_order(order)
        assert state.status is OrderStatus.OPEN
        assert sim.order_counts(VenueId.KALSHI)[order.client_order_id] == 2  # original + retry
        accepted = [r for r in sim.orders_received(VenueId.KALSHI) if r.result == "accepted"]
        assert len(accepted) == 1
        again = await venue.place_order(order)
        assert again.venue_order_id == state.venue_order_id
        assert len([r for r in sim.orders_received(VenueId.KALSHI) if r.result == "accepted"]) == 1
        cancelled = await venue.cancel_order(order.client_order_id)
        assert cancelled.status is OrderStatus.CANCELLED
        assert await venue.balance() > 0
        await venue.aclose()


async def test_throttling_and_engine_restarts_back_off_then_raise_retryable() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        poly = polymarket(sim, keys)
        market = (await poly.discover_markets())[0]
        sim.faults.http_error(425, target="clob", path_prefix="/order", count=1)
        state = await poly.place_order(poly_order(market, "opp-3:a", datetime.now(UTC)))
        assert state.status is OrderStatus.OPEN, "one 425 is retried after a back-off"
        sim.faults.http_error(425, target="clob", path_prefix="/order", count=3)
        with pytest.raises(RetryableVenueError):
            await poly.place_order(poly_order(market, "opp-3:b", datetime.now(UTC)))
        accepted = [r for r in sim.orders_received(VenueId.POLYMARKET) if r.result == "accepted"]
        assert len(accepted) == 1
        await poly.aclose()

        venue = kalshi(sim, keys)
        await venue.discover_markets()
        sim.faults.http_error(429, target="kalshi", path_prefix="/trade-api/v2/portfolio", count=2)
        assert await venue.balance() > 0
        sim.faults.http_error(429, target="kalshi", path_prefix="/trade-api/v2/portfolio", count=3)
        with pytest.raises(RetryableVenueError):
            await venue.balance()
        await venue.aclose()


async def test_rest_books_for_both_outcomes_equal_the_simulator() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        for venue in (polymarket(sim, keys), kalshi(sim, keys)):
            markets = await venue.discover_markets()
            for market in markets[:3]:
                theirs = {
                    market.yes_instrument_id: market.yes_instrument_id
                    if venue.venue_id is VenueId.POLYMARKET
                    else market.market_id,
                    market.no_instrument_id: market.no_instrument_id
                    if venue.venue_id is VenueId.POLYMARKET
                    else f"{market.market_id}:no",
                }
                for ours, engine_id in theirs.items():
                    snapshot = await venue.get_book(ours)
                    engine = sim.book(venue.venue_id, engine_id)
                    assert snapshot.instrument_id == ours
                    assert {lvl.price: lvl.size for lvl in snapshot.bids} == engine.bids
                    assert {lvl.price: lvl.size for lvl in snapshot.asks} == engine.asks
            resolution = await venue.market_resolution(markets[0].market_id)
            assert not resolution.resolved
            await venue.aclose()


async def test_polymarket_gtd_orders_live_as_long_as_the_venue_lets_them() -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        venue = polymarket(sim, keys)
        market = (await venue.discover_markets())[0]
        now = datetime.fromtimestamp(sim.exchange.clock_ms() / 1000, UTC)

        def gtd(cid: str, lifetime: float) -> OrderRequest:
            order = poly_order(market, cid, now)
            ends = now + timedelta(seconds=lifetime)
            return replace(order, time_in_force=TimeInForce.GTD, expires_at=ends)

        # Under two minutes of working life is an expiration under three minutes ahead.
        with pytest.raises(OrderRejectedError, match="at least 3 minutes"):
            await venue.place_order(gtd("opp-gtd:short", 100))
        assert gtd_refusal(VenueId.POLYMARKET, now + timedelta(seconds=100), now) is not None
        state = await venue.place_order(gtd("opp-gtd:ok", 150))
        assert state.status is OrderStatus.OPEN
        sim.advance(145)
        assert (await venue.get_order("opp-gtd:ok")).status is OrderStatus.OPEN  # type: ignore[union-attr]
        sim.advance(10)  # it stops when asked to, a minute before the expiration it carries
        ended = await venue.get_order("opp-gtd:ok")
        assert ended is not None and ended.filled_size == 0
        assert ended.status is OrderStatus.CANCELLED  # Polymarket lists it CANCELED
        await venue.aclose()
