"""Polymarket's taker delay: read from recorded Gamma payloads, applied by the paper venue.

The paper venue's book comes from the real market-channel handler; its sleep advances a fake
clock and lets the test act (move the book, cancel, place another order) during each wait.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import DELAYED_CANCEL_REFUSED
from pmarb.feeds.health import FeedHealth
from pmarb.venues.base import OrderRejectedError
from pmarb.venues.paper.venue import PaperConfig, PaperVenue
from pmarb.venues.polymarket.adapter import PolymarketConfig, PolymarketVenue
from pmarb.venues.polymarket.gamma import market_decoder, to_market
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.venues.store import BookStore
from tests.support import FIXTURES
from tests.venues.conftest import raw_fixture

LATENCY = 0.05


def recorded_market(path: Path) -> Market:
    market = to_market(market_decoder.decode(path.read_bytes()))
    assert market is not None
    return market


def test_recorded_gamma_payloads_carry_the_delay_their_markets_have() -> None:
    sports = recorded_market(FIXTURES / "venues/polymarket/gamma_market_sports_seconds_delay.json")
    assert sports.taker_delay_seconds == 3.0  # ``secondsDelay: 3`` on a CS2 moneyline
    # A 5-minute crypto round (2026-08, with cryptoMarketConfig) and a 15-minute one recorded
    # in 2026-02 (no cryptoMarketConfig, only its Up/Down outcomes) are up/down markets.
    five = recorded_market(FIXTURES / "venues/polymarket/gamma_market_crypto_updown_5m.json")
    fifteen = recorded_market(
        FIXTURES
        / "oracles/polymarket_gamma/market_btc-updown-15m-1771640100_captured_2026-02-21.json"
    )
    assert five.taker_delay_seconds == fifteen.taker_delay_seconds == 0.25
    politics = to_market(market_decoder.decode(raw_fixture("polymarket", "gamma_market.json")))
    assert politics is not None and politics.taker_delay_seconds == 0.0


def test_a_negative_seconds_delay_is_a_clear_error() -> None:
    payload: dict[str, Any] = json.loads(
        (FIXTURES / "venues/polymarket/gamma_market_sports_seconds_delay.json").read_text()
    )
    payload["secondsDelay"] = -1
    with pytest.raises(ValueError, match="taker delay"):
        to_market(market_decoder.decode(json.dumps(payload)))


MARKET = recorded_market(FIXTURES / "venues/polymarket/gamma_market_crypto_updown_5m.json")
UP = MARKET.yes_instrument_id


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A paper venue on an up/down market: Up asks 0.55 x 40, 0.57 x 100; bid 0.53 x 60."""

    def __init__(self, market: Market = MARKET, balance: str = "100") -> None:
        self.clock = Clock()
        self.store = BookStore(
            VenueId.POLYMARKET,
            FeedHealth("p", clock=self.clock),
            clock=self.clock,
            wall_clock=self.clock,
        )
        self.handler = MarketChannelHandler(self.store)
        self.sleeps: list[float] = []
        # Called with the index of the sleep (0: latency, 1: the taker delay) while it lasts.
        self.during: dict[int, Callable[[], Awaitable[None]]] = {}
        self.paper = PaperVenue(
            PolymarketVenue(PolymarketConfig(gamma_url="http://127.0.0.1:9")),
            self.store,
            PaperConfig(starting_balance=D(balance), latency=LATENCY, max_book_age=5),
            sleep=self._sleep,
            wall_clock=self.clock,
        )
        self.paper.add_market(market)
        self.book(asks=[("0.57", "100"), ("0.55", "40")], bids=[("0.53", "60")])

    async def _sleep(self, seconds: float) -> None:
        index = len(self.sleeps)
        self.sleeps.append(seconds)
        self.clock.now += seconds
        action = self.during.get(index)
        if action is not None:
            await action()

    def book(self, *, asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> None:
        """A full book message; the venue lists each side best level LAST."""
        self.handler.on_message(
            json.dumps(
                {
                    "event_type": "book",
                    "asset_id": UP,
                    "market": MARKET.market_id,
                    "bids": [{"price": p, "size": s} for p, s in bids],
                    "asks": [{"price": p, "size": s} for p, s in asks],
                    "timestamp": str(int(self.clock.now * 1000)),
                }
            )
        )


def order(
    cid: str,
    size: str,
    price: str,
    tif: TimeInForce = TimeInForce.FOK,
    side: Side = Side.BUY,
    *,
    post_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        venue=VenueId.POLYMARKET,
        market_id=MARKET.market_id,
        instrument_id=UP,
        outcome=Outcome.YES,
        side=side,
        price=D(price),
        size=D(size),
        time_in_force=tif,
        post_only=post_only,
    )


async def test_a_taker_waits_latency_plus_the_delay_and_sees_the_book_as_of_then() -> None:
    h = Harness()

    async def ask_moves_away() -> None:
        h.book(asks=[("0.60", "100"), ("0.58", "100")], bids=[("0.53", "60")])

    h.during[1] = ask_moves_away
    state = await h.paper.place_order(order("fok", "40", "0.56"))
    assert h.sleeps == [LATENCY, 0.25]
    # 40 were visible within the limit on arrival; after the delay none are: killed.
    assert state.status is OrderStatus.CANCELLED and state.filled_size == 0
    assert await h.paper.balance() == D("100") and await h.paper.fills() == []

    # The same order on a market without the delay fills at arrival, before the move.
    plain = Harness(replace(MARKET, taker_delay_seconds=0.0))
    plain.during[1] = ask_moves_away  # never reached: there is no second wait
    filled = await plain.paper.place_order(order("fok", "40", "0.56"))
    assert plain.sleeps == [LATENCY]
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("0.55")


async def test_a_fak_takes_what_is_left_after_the_delay() -> None:
    h = Harness()

    async def half_taken() -> None:
        h.book(asks=[("0.57", "100"), ("0.55", "15")], bids=[("0.53", "60")])

    h.during[1] = half_taken
    state = await h.paper.place_order(order("fak", "40", "0.56", TimeInForce.FAK))
    assert state.status is OrderStatus.CANCELLED and state.filled_size == D("15")
    assert [(f.price, f.size, f.is_taker) for f in await h.paper.fills()] == [
        (D("0.55"), D("15"), True)
    ]


async def test_during_the_delay_the_order_is_pending_uncancellable_and_its_cash_reserved() -> None:
    h = Harness(balance="30")
    seen: dict[str, Any] = {}
    worst = D("0.56") * 40 + MARKET.fees.fee(D("0.56"), D("40"))

    async def meanwhile() -> None:
        seen["state"] = await h.paper.get_order("fok")
        seen["cancel"] = await h.paper.cancel_order("fok")
        seen["free"] = await h.paper.balance()
        with pytest.raises(OrderRejectedError) as refused:  # the held cash is not free
            await h.paper.place_order(order("second", "20", "0.56"))
        seen["second"] = refused.value.code
        seen["again"] = await h.paper.place_order(order("fok", "40", "0.56"))

    h.during[1] = meanwhile
    state = await h.paper.place_order(order("fok", "40", "0.56"))
    held: OrderState = seen["state"]
    assert held.status is OrderStatus.PENDING and held.filled_size == 0
    assert seen["cancel"].status is OrderStatus.PENDING
    assert seen["cancel"].reason == DELAYED_CANCEL_REFUSED
    assert seen["free"] == D("30") - worst
    assert seen["second"] == "insufficient_balance"
    assert seen["again"].status is OrderStatus.PENDING  # the same order is not placed twice
    # The refused cancel changed nothing: the order matched once the delay was over.
    assert state.status is OrderStatus.FILLED and state.filled_size == D("40")
    fee = MARKET.fees.fee(D("0.55"), D("40"))
    assert await h.paper.balance() == D("30") - D("0.55") * 40 - fee
    # After the delay a cancel is an ordinary one again (here: nothing left to cancel).
    assert (await h.paper.cancel_order("fok")).status is OrderStatus.FILLED


async def test_a_delayed_sell_claims_its_shares() -> None:
    h = Harness()
    await h.paper.place_order(order("buy", "40", "0.55"))
    h.sleeps.clear()
    seen: dict[str, str] = {}

    async def sell_the_same_shares() -> None:
        with pytest.raises(OrderRejectedError) as refused:
            await h.paper.place_order(order("sell-2", "40", "0.50", side=Side.SELL))
        seen["code"] = refused.value.code

    h.during[1] = sell_the_same_shares
    sold = await h.paper.place_order(order("sell-1", "40", "0.50", side=Side.SELL))
    assert seen["code"] == "insufficient_position"
    assert sold.status is OrderStatus.FILLED and sold.average_price == D("0.53")


async def test_makers_and_resting_limits_are_not_held() -> None:
    h = Harness()
    resting = await h.paper.place_order(order("rest", "10", "0.54", TimeInForce.GTC))
    post = await h.paper.place_order(order("post", "10", "0.54", TimeInForce.GTC, post_only=True))
    assert h.sleeps == [LATENCY, LATENCY]
    assert resting.status is OrderStatus.OPEN and post.status is OrderStatus.OPEN
    # A marketable limit order takes liquidity, so it is held, then rests what it cannot take.
    h.sleeps.clear()
    crossing = await h.paper.place_order(order("cross", "50", "0.55", TimeInForce.GTC))
    assert h.sleeps == [LATENCY, 0.25]
    assert crossing.status is OrderStatus.PARTIALLY_FILLED and crossing.filled_size == D("40")


async def test_an_interrupted_hold_ends_the_order_and_frees_its_cash() -> None:
    h = Harness()

    async def stop() -> None:
        raise asyncio.CancelledError

    h.during[1] = stop
    with pytest.raises(asyncio.CancelledError):
        await h.paper.place_order(order("fok", "40", "0.56"))
    state = await h.paper.get_order("fok")
    assert state is not None and state.status is OrderStatus.CANCELLED
    assert await h.paper.balance() == D("100")
