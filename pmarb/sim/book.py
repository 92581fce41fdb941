"""One binary market's order book on the YES leg: price-time priority in integer units.

A NO order is entered as its YES-leg equivalent (buying NO at q rests as an ask at 1 − q), so a
market has exactly one book and the NO side can never drift from it. The book only keeps resting
orders and their FIFO queues; who may trade, fees and balances belong to the exchange.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pmarb.domain.parity import Side


@dataclass(eq=False, slots=True)
class RestingOrder:
    """The book's view of one order: its YES-leg side and price and what is left of it."""

    order_id: str
    account: str
    side: Side
    price: int
    remaining: int
    sequence: int


@dataclass(frozen=True, slots=True)
class Match:
    maker: RestingOrder
    price: int
    size: int


@dataclass(slots=True)
class Book:
    bids: dict[int, deque[RestingOrder]] = field(default_factory=dict)
    asks: dict[int, deque[RestingOrder]] = field(default_factory=dict)
    bid_sizes: dict[int, int] = field(default_factory=dict)
    ask_sizes: dict[int, int] = field(default_factory=dict)
    # (side, price) of every level touched since the last drain, in first-touch order.
    touched: dict[tuple[Side, int], int] = field(default_factory=dict)
    _sequence: int = 0

    def best_bid(self) -> int | None:
        return max(self.bid_sizes) if self.bid_sizes else None

    def best_ask(self) -> int | None:
        return min(self.ask_sizes) if self.ask_sizes else None

    def sizes(self, side: Side) -> dict[int, int]:
        return self.bid_sizes if side is Side.BUY else self.ask_sizes

    def level_size(self, side: Side, price: int) -> int:
        return self.sizes(side).get(price, 0)

    def levels(self, side: Side) -> list[tuple[int, int]]:
        """(price, size) best first."""
        sizes = self.sizes(side)
        return sorted(sizes.items(), reverse=side is Side.BUY)

    def crossing_size(self, side: Side, limit: int, exclude_account: str | None = None) -> int:
        """How much an order on ``side`` limited at ``limit`` could take right now."""
        total = 0
        queues = self.asks if side is Side.BUY else self.bids
        for price, queue in queues.items():
            if (side is Side.BUY and price <= limit) or (side is Side.SELL and price >= limit):
                total += sum(o.remaining for o in queue if o.account != exclude_account)
        return total

    def would_cross(self, side: Side, limit: int) -> bool:
        if side is Side.BUY:
            best = self.best_ask()
            return best is not None and best <= limit
        best = self.best_bid()
        return best is not None and best >= limit

    def next_maker(self, side: Side, limit: int) -> RestingOrder | None:
        """The resting order an incoming order on ``side`` would meet first, if it crosses."""
        if side is Side.BUY:
            best = self.best_ask()
            if best is None or best > limit:
                return None
            return self.asks[best][0]
        best = self.best_bid()
        if best is None or best < limit:
            return None
        return self.bids[best][0]

    def take(self, maker: RestingOrder, size: int) -> Match:
        """Fill ``size`` of the resting ``maker`` (which must be at the head of its queue)."""
        if size <= 0 or size > maker.remaining:
            raise ValueError(f"cannot take {size} of an order with {maker.remaining} left")
        maker.remaining -= size
        self._adjust(maker.side, maker.price, -size)
        if maker.remaining == 0:
            queue = self._queues(maker.side)[maker.price]
            queue.popleft()
            if not queue:
                del self._queues(maker.side)[maker.price]
        return Match(maker=maker, price=maker.price, size=size)

    def add(self, order_id: str, account: str, side: Side, price: int, size: int) -> RestingOrder:
        if size <= 0:
            raise ValueError("a resting order needs a positive size")
        self._sequence += 1
        resting = RestingOrder(order_id, account, side, price, size, self._sequence)
        self._queues(side).setdefault(price, deque()).append(resting)
        self._adjust(side, price, size)
        return resting

    def remove(self, resting: RestingOrder) -> int:
        """Take a resting order off the book; returns the size removed (0 if already gone)."""
        queue = self._queues(resting.side).get(resting.price)
        if queue is None or resting not in queue or resting.remaining == 0:
            return 0
        queue.remove(resting)
        if not queue:
            del self._queues(resting.side)[resting.price]
        removed = resting.remaining
        resting.remaining = 0
        self._adjust(resting.side, resting.price, -removed)
        return removed

    def reduce(self, resting: RestingOrder, by: int) -> None:
        """Shrink a resting order in place (keeps its queue position)."""
        if by <= 0 or by >= resting.remaining:
            raise ValueError("reduce by a positive amount smaller than what remains")
        resting.remaining -= by
        self._adjust(resting.side, resting.price, -by)

    def drain_touched(self) -> list[tuple[Side, int, int, int]]:
        """(side, price, size before, size now) of every level touched since the last drain."""
        changes = [
            (side, price, before, self.level_size(side, price))
            for (side, price), before in self.touched.items()
        ]
        self.touched.clear()
        return [change for change in changes if change[2] != change[3]]

    def _queues(self, side: Side) -> dict[int, deque[RestingOrder]]:
        return self.bids if side is Side.BUY else self.asks

    def _adjust(self, side: Side, price: int, delta: int) -> None:
        sizes = self.sizes(side)
        before = sizes.get(price, 0)
        self.touched.setdefault((side, price), before)
        after = before + delta
        if after < 0:
            raise AssertionError(f"level {side} {price} went negative")
        if after == 0:
            sizes.pop(price, None)
        else:
            sizes[price] = after
