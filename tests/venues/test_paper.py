"""Paper fills against a live book store fed by the real Kalshi stream handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderRequest, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.feeds.health import FeedHealth
from pmarb.venues.base import OrderRejectedError, StaleBookError
from pmarb.venues.kalshi import fees
from pmarb.venues.kalshi.adapter import KalshiConfig, KalshiVenue
from pmarb.venues.kalshi.stream import KalshiStreamHandler
from pmarb.venues.paper.venue import PaperConfig, PaperVenue
from pmarb.venues.store import BookStore

TICKER = "KXTEST-26-T1"
MARKET = Market(
    venue=VenueId.KALSHI,
    market_id=TICKER,
    title="test",
    yes_instrument_id=f"{TICKER}:yes",
    no_instrument_id=f"{TICKER}:no",
    fees=fees.fee_schedule("quadratic"),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, balance: str = "1000") -> None:
        self.clock = Clock()
        self.store = BookStore(
            VenueId.KALSHI,
            FeedHealth("k", clock=self.clock),
            clock=self.clock,
            wall_clock=self.clock,
        )
        self.handler = KalshiStreamHandler(self.store, use_yes_price=False)
        self.seq = 1
        self.during_latency: Callable[[], None] | None = None
        self.paper = PaperVenue(
            KalshiVenue(KalshiConfig(rest_url="http://127.0.0.1:9")),
            self.store,
            PaperConfig(starting_balance=D(balance), latency=0.2, max_book_age=5),
            sleep=self._sleep,
            wall_clock=self.clock,
        )
        self.paper.add_market(MARKET)
        # YES bids 0.40 x 50, 0.38 x 100; NO bids 0.56 x 146, 0.54 x 20, 0.53 x 10
        # → YES asks 0.44 x 146, 0.46 x 20, 0.47 x 10.
        self.send(
            {
                "type": "orderbook_snapshot",
                "sid": 1,
                "seq": 1,
                "msg": {
                    "market_ticker": TICKER,
                    "yes_dollars_fp": [["0.3800", "100.00"], ["0.4000", "50.00"]],
                    "no_dollars_fp": [
                        ["0.5300", "10.00"],
                        ["0.5400", "20.00"],
                        ["0.5600", "146.00"],
                    ],
                },
            }
        )

    async def _sleep(self, seconds: float) -> None:
        self.clock.now += seconds
        if self.during_latency is not None:
            self.during_latency()

    def send(self, message: dict[str, Any]) -> None:
        self.handler.on_message(json.dumps(message))

    def delta(self, price: str, change: str, side: str) -> None:
        self.seq += 1
        self.send(
            {
                "type": "orderbook_delta",
                "sid": 1,
                "seq": self.seq,
                "msg": {
                    "market_ticker": TICKER,
                    "price_dollars": price,
                    "delta_fp": change,
                    "side": side,
                },
            }
        )


def order(
    cid: str,
    size: str,
    price: str,
    tif: TimeInForce = TimeInForce.FOK,
    side: Side = Side.BUY,
    outcome: Outcome = Outcome.YES,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        venue=VenueId.KALSHI,
        market_id=TICKER,
        instrument_id=f"{TICKER}:{outcome.value}",
        outcome=outcome,
        side=side,
        price=D(price),
        size=D(size),
        time_in_force=tif,
    )


async def test_fok_larger_than_visible_depth_does_not_fill() -> None:
    h = Harness()
    state = await h.paper.place_order(order("a", "177", "0.47"))  # 176 visible up to 0.47
    assert state.status is OrderStatus.CANCELLED and state.filled_size == 0
    assert await h.paper.balance() == D("1000")
    assert await h.paper.fills() == []
    # The limit price counts too: 176 exist, but only 166 at or below 0.46.
    state = await h.paper.place_order(order("b", "170", "0.46"))
    assert state.status is OrderStatus.CANCELLED


async def test_three_level_walk_exact_vwap_and_fee() -> None:
    h = Harness()
    state = await h.paper.place_order(order("walk", "170", "0.47"))
    assert state.status is OrderStatus.FILLED and state.filled_size == D("170")
    # 146 @ 0.44 + 20 @ 0.46 + 4 @ 0.47 = 64.24 + 9.20 + 1.88 = 75.32
    assert state.average_price == D("75.32") / D("170")
    # Per fill, rounded up to the cent: 0.07·146·0.44·0.56 = 2.518… → 2.52;
    # 0.07·20·0.46·0.54 = 0.34776 → 0.35; 0.07·4·0.47·0.53 = 0.069748 → 0.07.
    assert state.fees == D("2.94")
    fills = await h.paper.fills()
    assert [(f.price, f.size, f.fee, f.is_taker) for f in fills] == [
        (D("0.44"), D("146"), D("2.52"), True),
        (D("0.46"), D("20"), D("0.35"), True),
        (D("0.47"), D("4"), D("0.07"), True),
    ]
    assert await h.paper.balance() == D("1000") - D("75.32") - D("2.94")
    [position] = await h.paper.positions()
    assert (position.outcome, position.size, position.average_price) == (
        Outcome.YES,
        D("170"),
        D("75.32") / D("170"),
    )


async def test_stale_or_invalidated_feed_rejects() -> None:
    h = Harness()
    h.clock.now += 10  # no data for longer than max_book_age
    with pytest.raises(StaleBookError):
        await h.paper.place_order(order("late", "1", "0.50"))
    h.delta("0.3800", "1.00", "yes")  # data again
    assert (await h.paper.place_order(order("ok", "1", "0.50"))).status is OrderStatus.FILLED
    h.delta("0.3800", "1.00", "yes")
    h.seq += 1  # a lost delta: the book is invalid until a new snapshot
    h.delta("0.3800", "1.00", "yes")
    with pytest.raises(StaleBookError):
        await h.paper.place_order(order("gap", "1", "0.50"))


async def test_consumed_depth_is_not_reused_until_the_level_changes() -> None:
    h = Harness()
    assert (await h.paper.place_order(order("first", "146", "0.44"))).status is OrderStatus.FILLED
    again = await h.paper.place_order(order("second", "1", "0.44", TimeInForce.FAK))
    assert again.status is OrderStatus.CANCELLED and again.filled_size == 0
    h.delta("0.5600", "-100.00", "no")  # the venue now shows 46 left at 0.44
    third = await h.paper.place_order(order("third", "50", "0.44", TimeInForce.FAK))
    assert third.filled_size == D("46")


async def test_the_order_sees_the_book_after_the_latency() -> None:
    h = Harness()
    h.during_latency = lambda: h.delta("0.5600", "-146.00", "no")  # best ask vanishes meanwhile
    state = await h.paper.place_order(order("slow", "10", "0.46", TimeInForce.FAK))
    assert state.filled_size == D("10") and state.average_price == D("0.46")


async def test_resting_order_fills_only_when_the_book_trades_through_it() -> None:
    h = Harness()
    state = await h.paper.place_order(order("rest", "30", "0.42", TimeInForce.GTC))
    assert state.status is OrderStatus.OPEN
    reserved = D("0.42") * 30 + MARKET.fees.fee(D("0.42"), D("30"))
    assert await h.paper.balance() == D("1000") - reserved
    h.delta("0.5800", "10.00", "no")  # a YES ask at exactly 0.42: touching, not through
    assert (await h.paper.get_order("rest")).status is OrderStatus.OPEN  # type: ignore[union-attr]
    h.delta("0.5900", "25.00", "no")  # a YES ask at 0.41: through the bid
    state = await h.paper.get_order("rest")  # type: ignore[assignment]
    assert state is not None and state.filled_size == D("25") and state.average_price == D("0.42")
    assert state.status is OrderStatus.PARTIALLY_FILLED
    assert state.fees == 0, "makers pay nothing on a plain quadratic series"
    cancelled = await h.paper.cancel_order("rest")
    assert cancelled.status is OrderStatus.CANCELLED
    assert await h.paper.balance() == D("1000") - D("0.42") * 25


async def test_no_orders_take_the_shared_ladder_through_parity() -> None:
    h = Harness()
    # Buying NO lifts NO asks = 1 − YES bids: 0.60 x 50, 0.62 x 100.
    state = await h.paper.place_order(order("no", "60", "0.62", outcome=Outcome.NO))
    assert state.filled_size == D("60")
    assert state.average_price == (D("0.60") * 50 + D("0.62") * 10) / 60
    # The YES bids it consumed are gone for a YES seller too (no double use).
    await h.paper.place_order(order("yes-buy", "10", "0.44"))
    sell = await h.paper.place_order(order("yes-sell", "10", "0.38", TimeInForce.FAK, Side.SELL))
    assert sell.filled_size == D("10") and sell.average_price == D("0.38")


async def test_balance_and_holdings_limit_orders() -> None:
    h = Harness(balance="10")
    with pytest.raises(OrderRejectedError):
        await h.paper.place_order(order("big", "100", "0.44"))
    with pytest.raises(OrderRejectedError):
        await h.paper.place_order(order("short", "1", "0.40", side=Side.SELL))
    assert (await h.paper.place_order(order("small", "10", "0.44"))).status is OrderStatus.FILLED
    assert await h.paper.balance() == D("10") - D("4.40") - D("0.18")
    assert (await h.paper.place_order(order("small", "10", "0.44"))).filled_size == D("10")
    assert len(await h.paper.fills()) == 1, "the same client order id is the same order"
    assert h.paper.paper is True


async def test_a_good_til_date_order_expires_when_its_time_comes() -> None:
    h = Harness()
    now = datetime.fromtimestamp(h.clock.now, UTC)
    resting = replace(
        order("gtd", "10", "0.30", tif=TimeInForce.GTC),
        time_in_force=TimeInForce.GTD,
        expires_at=now + timedelta(seconds=60),
    )
    state = await h.paper.place_order(resting)
    assert state.status is OrderStatus.OPEN
    assert await h.paper.balance() < D("1000"), "its cost is reserved while it rests"
    h.clock.now += 30
    assert (await h.paper.get_order("gtd")).status is OrderStatus.OPEN  # type: ignore[union-attr]
    h.clock.now += 31
    ended = await h.paper.get_order("gtd")
    assert ended is not None and ended.status is OrderStatus.EXPIRED and ended.filled_size == 0
    assert await h.paper.balance() == D("1000"), "the reservation is released"
    past = replace(resting, client_order_id="late", expires_at=now)
    with pytest.raises(OrderRejectedError, match="future expiration"):
        await h.paper.place_order(past)


async def test_a_settled_market_pays_its_holdings_into_cash_and_ends_its_orders() -> None:
    h = Harness()
    await h.paper.place_order(order("yes", "10", "0.44"))  # 4.40 + 0.18 fee
    await h.paper.place_order(order("no", "5", "0.60", outcome=Outcome.NO))  # 3.00 + 0.09 fee
    resting = await h.paper.place_order(order("rest", "20", "0.30", TimeInForce.GTC))
    assert resting.status is OrderStatus.OPEN
    spent = D("4.40") + D("0.18") + D("3.00") + D("0.09")
    reserved = D("0.30") * 20 + MARKET.fees.fee(D("0.30"), D("20"))
    assert await h.paper.balance() == D("1000") - spent - reserved
    # YES wins: each YES share pays 1, each NO share 0; the resting buy can never fill now.
    assert h.paper.settle(TICKER, D(1)) == D(10)
    assert await h.paper.balance() == D("1000") - spent + D(10)
    assert [p.size for p in await h.paper.positions()] == [0, 0]
    assert {p.outcome: p.realized_pnl for p in await h.paper.positions()} == {
        Outcome.YES: D(10) - D("4.40") - D("0.18"),
        Outcome.NO: -D("3.00") - D("0.09"),
    }
    ended = await h.paper.get_order("rest")
    assert ended is not None and ended.status is OrderStatus.CANCELLED
    assert h.paper.settle(TICKER, D(1)) == 0, "settling again pays nothing"
    assert await h.paper.balance() == D("1000") - spent + D(10)
    with pytest.raises(OrderRejectedError):
        await h.paper.place_order(order("late", "1", "0.40", side=Side.SELL))
