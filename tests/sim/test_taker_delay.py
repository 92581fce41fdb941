"""The simulated matching engine holds API takers on a market with a taker delay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import DELAYED_CANCEL_REFUSED
from pmarb.sim.exchange import Exchange, OrderError, SimMarket, Ticket
from pmarb.sim.scenario import polymarket_fees

D = Decimal
KEY = "polymarket:updown"


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def _exchange(cash: str = "1000") -> tuple[Exchange, Clock]:
    clock = Clock()
    exchange = Exchange(clock, starting_cash=D(cash))
    exchange.add_market(
        SimMarket(
            key=KEY,
            venue=VenueId.POLYMARKET,
            market_id="0xcond",
            yes_id="up",
            no_id="down",
            title="Bitcoin Up or Down",
            rules="",
            tick=D("0.01"),
            min_size=D("5"),
            fees=polymarket_fees("0.07"),
            outcomes=("Up", "Down"),
            taker_delay_ms=250,
        )
    )
    exchange.account(VenueId.POLYMARKET, "maker", unlimited=True)
    return exchange, clock


def _ticket(
    account: str,
    side: Side,
    price: str,
    size: str,
    tif: TimeInForce,
    *,
    api: bool = True,
    post_only: bool = False,
) -> Ticket:
    return Ticket(
        VenueId.POLYMARKET,
        account,
        KEY,
        Outcome.YES,
        side,
        D(price),
        D(size),
        tif,
        post_only=post_only,
        api=api,
    )


def test_an_api_taker_is_held_then_matched_against_the_book_as_of_then() -> None:
    exchange, clock = _exchange()
    ask = exchange.submit(_ticket("maker", Side.SELL, "0.50", "10", TimeInForce.GTC, api=False))
    held = exchange.submit(_ticket("taker", Side.BUY, "0.50", "10", TimeInForce.FOK))
    assert held.status is OrderStatus.PENDING and held.is_held and held.filled == 0
    assert exchange.books[KEY].ask_sizes == {5000: 10_000_000}  # nothing taken yet
    with pytest.raises(OrderError) as refused:
        exchange.cancel(held.order_id)
    assert refused.value.code == "delayed" and refused.value.message == DELAYED_CANCEL_REFUSED
    clock.ms += 249
    exchange.release_held()
    assert held.is_held  # not a millisecond early
    # The maker may still pull its quote during the delay: that is what the delay is for.
    exchange.cancel(ask.order_id)
    clock.ms += 1
    exchange.release_held()
    assert not held.is_held
    assert held.status is OrderStatus.CANCELLED and held.reason == "fok_not_filled"


def test_a_held_order_that_still_crosses_fills_once_released() -> None:
    exchange, clock = _exchange()
    exchange.submit(_ticket("maker", Side.SELL, "0.50", "10", TimeInForce.GTC, api=False))
    held = exchange.submit(_ticket("taker", Side.BUY, "0.55", "15", TimeInForce.GTC))
    clock.ms += 250
    exchange.release_held()
    assert held.status is OrderStatus.PARTIALLY_FILLED and held.filled == 10_000_000
    assert held.resting_size == 5_000_000  # the rest now rests, at its limit
    assert held.average_price == D("0.50")


def test_held_funds_are_committed_against_other_orders() -> None:
    exchange, clock = _exchange(cash="10")
    exchange.submit(_ticket("maker", Side.SELL, "0.50", "30", TimeInForce.GTC, api=False))
    held = exchange.submit(_ticket("taker", Side.BUY, "0.50", "15", TimeInForce.FOK))  # 7.50
    with pytest.raises(OrderError) as refused:  # 4.00 more than the 2.50 left free
        exchange.submit(_ticket("taker", Side.BUY, "0.40", "10", TimeInForce.GTC))
    assert refused.value.code == "insufficient_balance"
    clock.ms += 250
    exchange.release_held()
    assert held.status is OrderStatus.FILLED and held.fees > 0
    assert exchange.account(VenueId.POLYMARKET, "taker").cash == D("2.50") - held.fees
    # Once it has matched, what is left is free again.
    exchange.submit(_ticket("taker", Side.BUY, "0.10", "20", TimeInForce.GTC))


def test_makers_post_only_and_the_scenario_flow_are_not_held() -> None:
    exchange, _ = _exchange()
    exchange.submit(_ticket("maker", Side.SELL, "0.50", "100", TimeInForce.GTC, api=False))
    resting = exchange.submit(_ticket("taker", Side.BUY, "0.45", "10", TimeInForce.GTC))
    assert resting.status is OrderStatus.OPEN and not resting.is_held
    post = exchange.submit(
        _ticket("taker", Side.BUY, "0.44", "10", TimeInForce.GTC, post_only=True)
    )
    assert post.status is OrderStatus.OPEN and not post.is_held
    noise = exchange.submit(_ticket("noise", Side.BUY, "0.50", "5", TimeInForce.FAK, api=False))
    assert noise.status is OrderStatus.FILLED  # not an API order: matched at once
    cancelled = exchange.cancel(resting.order_id)  # and a resting order cancels as ever
    assert cancelled.status is OrderStatus.CANCELLED
