"""The replay exchange says how long the venue holds each order (its taker delay)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from pmarb.backtest.events import NANOS, BookUpdate
from pmarb.backtest.exchange import ReplayClock, ReplayExchange
from pmarb.domain.bid import PlannedOrder
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderPurpose, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import POLYMARKET_UP_DOWN_TAKER_DELAY
from pmarb.lifecycle.messages import OrderToSend

UP_DOWN = Market(
    venue=VenueId.POLYMARKET,
    market_id="0xupdown",
    title="Bitcoin Up or Down",
    yes_instrument_id="up",
    no_instrument_id="down",
    outcome_names=("Up", "Down"),
    taker_delay_seconds=POLYMARKET_UP_DOWN_TAKER_DELAY,
)
POLITICS = replace(
    UP_DOWN,
    market_id="0xpolitics",
    yes_instrument_id="yes",
    no_instrument_id="no",
    outcome_names=("Yes", "No"),
    taker_delay_seconds=0.0,
)
KALSHI = Market(
    venue=VenueId.KALSHI,
    market_id="KXBTC15M-T",
    title="BTC up in 15 minutes?",
    yes_instrument_id="KXBTC15M-T:yes",
    no_instrument_id="KXBTC15M-T:no",
)


def micros(text: str) -> int:
    return int(D(text) * 1_000_000)


def book(ns: int, venue: VenueId, instrument: str, bid: str, ask: str, size: str) -> BookUpdate:
    return BookUpdate(
        ns, venue, instrument, (micros(bid),), (micros(size),), (micros(ask),), (micros(size),)
    )


def planned(
    market: Market,
    price: str,
    tif: TimeInForce = TimeInForce.FOK,
    *,
    side: Side = Side.BUY,
    post_only: bool = False,
) -> PlannedOrder:
    return PlannedOrder(
        leg="a",
        venue=market.venue,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id,
        outcome=Outcome.YES,
        side=side,
        limit_price=D(price),
        size=D(10),
        time_in_force=tif,
        expected_price=D(price),
        post_only=post_only,
    )


def exchange() -> tuple[ReplayExchange, ReplayClock]:
    clock = ReplayClock(10 * NANOS)
    replay = ReplayExchange([UP_DOWN, POLITICS, KALSHI], clock, max_book_age=10.0)
    replay.apply(book(clock.ns, VenueId.POLYMARKET, "up", "0.53", "0.55", "40"))
    replay.apply(book(clock.ns, VenueId.POLYMARKET, "yes", "0.53", "0.55", "40"))
    replay.apply(book(clock.ns, VenueId.KALSHI, "KXBTC15M-T:yes", "0.53", "0.55", "40"))
    return replay, clock


def test_takers_on_a_delayed_market_are_held_and_nothing_else_is() -> None:
    replay, _ = exchange()
    assert replay.order_delay(planned(UP_DOWN, "0.55")) == 0.25
    assert replay.order_delay(planned(UP_DOWN, "0.60", TimeInForce.GTC)) == 0.25
    assert replay.order_delay(planned(UP_DOWN, "0.53", side=Side.SELL)) == 0.25
    # Resting on arrival, post-only, or on a market without a delay: not held.
    assert replay.order_delay(planned(UP_DOWN, "0.54", TimeInForce.GTC)) == 0.0
    assert replay.order_delay(planned(UP_DOWN, "0.54", side=Side.SELL)) == 0.0
    assert replay.order_delay(planned(UP_DOWN, "0.54", TimeInForce.GTC, post_only=True)) == 0.0
    assert replay.order_delay(planned(POLITICS, "0.55")) == 0.0
    assert replay.order_delay(planned(KALSHI, "0.55")) == 0.0
    unknown = replace(planned(UP_DOWN, "0.55"), market_id="0xunknown")
    assert replay.order_delay(unknown) == 0.0


def test_an_order_handed_over_after_its_delay_fills_against_the_book_as_of_then() -> None:
    replay, clock = exchange()
    order = planned(UP_DOWN, "0.56")
    delay = replay.order_delay(order)
    # What the lifecycle driver does: the order reaches the paper venue at decision time plus
    # latency plus the venue's delay, by when the ask has moved past the limit.
    clock.ns += int((0.05 + delay) * NANOS)
    replay.apply(book(clock.ns, VenueId.POLYMARKET, "up", "0.55", "0.58", "40"))
    # The paper venue's own hold runs on the replay's no-op sleep: placing does not suspend.
    (outcome,) = replay.place("wf", OrderPurpose.OPEN, (OrderToSend("wf:a", order),), None)
    assert outcome.status is OrderStatus.CANCELLED and outcome.filled == 0
