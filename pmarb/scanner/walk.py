"""Walking several ask ladders together for a bundle that pays 1 per unit at resolution.

A YES+NO pair, a neg-risk set of YES outcomes, or a matched pair across venues all pay exactly
one per completed unit. Buying more walks every leg's asks at once; each extra chunk is worth
buying only while its marginal cost — the sum of each leg's current level plus that chunk's fees
— stays below one. Fees are charged per level (each level is a separate fill at the venue and
rounds on its own), so the result is never more optimistic than the venue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pmarb.domain.book import Level
from pmarb.domain.fees import FeeSchedule
from pmarb.domain.money import ONE, ZERO


@dataclass(frozen=True, slots=True)
class LegLadder:
    asks: tuple[Level, ...]  # best first
    fees: FeeSchedule
    min_size: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class LegFill:
    fills: tuple[Level, ...]
    notional: Decimal
    fee: Decimal

    @property
    def size(self) -> Decimal:
        return sum((level.size for level in self.fills), ZERO)

    @property
    def vwap(self) -> Decimal:
        size = self.size
        return self.notional / size if size > ZERO else ZERO

    @property
    def worst_price(self) -> Decimal:
        return self.fills[-1].price if self.fills else ZERO


@dataclass(frozen=True, slots=True)
class BundleWalk:
    size: Decimal
    legs: tuple[LegFill, ...]

    @property
    def cost(self) -> Decimal:
        return sum((leg.notional + leg.fee for leg in self.legs), ZERO)

    @property
    def profit(self) -> Decimal:
        return self.size - self.cost

    @property
    def edge(self) -> Decimal:
        """Profit per unit after fees."""
        return self.profit / self.size if self.size > ZERO else ZERO


def walk_bundle(
    legs: tuple[LegLadder, ...],
    *,
    max_size: Decimal | None = None,
    min_chunk_profit: Decimal = ZERO,
) -> BundleWalk | None:
    """The most profitable size up to ``max_size``; None when no unit is worth buying."""
    if not legs:
        return None
    books = [leg.asks for leg in legs]
    if not all(books):
        return None
    # Cheap rejection first: if the best levels already cost one or more, nothing follows.
    best = ZERO
    for asks in books:
        best += asks[0].price
    if best >= ONE:
        return None
    if len(legs) == 2:
        return _walk_pair(legs[0], legs[1], max_size, min_chunk_profit)
    return _walk(legs, max_size, min_chunk_profit)


def _walk(
    legs: tuple[LegLadder, ...], max_size: Decimal | None, min_chunk_profit: Decimal
) -> BundleWalk | None:
    """Any number of legs, each with asks. Runs when a gap is found, so on the detection-latency
    path: plain lists and locals, no per-chunk objects. The Decimal operations and their order
    are the definition's (``_walk_pair`` repeats them for two legs)."""
    books = [leg.asks for leg in legs]
    fee_of = [leg.fees.fee for leg in legs]
    count = len(legs)
    index = [0] * count
    level = [asks[0] for asks in books]
    left = [first.size for first in level]
    # Per leg, the chunks taken so far with consecutive chunks at one price merged (one venue
    # fill per level): [price, size] pairs.
    taken: list[list[list[Decimal]]] = [[] for _ in legs]
    size = ZERO
    while True:
        chunk = min(left)
        if max_size is not None:
            chunk = min(chunk, max_size - size)
        if chunk <= ZERO:
            break
        prices = [current.price for current in level]
        fees = ZERO
        total = ZERO
        for fee, price in zip(fee_of, prices, strict=True):
            fees += fee(price, chunk)
            total += price
        if chunk - total * chunk - fees <= min_chunk_profit:
            break
        exhausted = False
        for n in range(count):
            price = prices[n]
            fills = taken[n]
            if fills and fills[-1][0] == price:
                fills[-1][1] += chunk
            else:
                fills.append([price, chunk])
            left[n] -= chunk
        size += chunk
        for n in range(count):
            if left[n] == ZERO:
                index[n] += 1
                asks = books[n]
                if index[n] >= len(asks):
                    exhausted = True
                    break
                level[n] = asks[index[n]]
                left[n] = level[n].size
        if exhausted:
            break
    if size <= ZERO or any(size < leg.min_size for leg in legs):
        return None
    fills_of = tuple(_leg_fill(fee_of[n], taken[n]) for n in range(count))
    result = BundleWalk(size, fills_of)
    return result if result.profit > ZERO else None


def _walk_pair(
    leg_a: LegLadder, leg_b: LegLadder, max_size: Decimal | None, min_chunk_profit: Decimal
) -> BundleWalk | None:
    """``_walk`` for two legs (every binary market and matched pair) in scalar locals: the same
    Decimal operations in the same order, so the same results to the last digit."""
    asks_a, asks_b = leg_a.asks, leg_b.asks
    fee_a, fee_b = leg_a.fees.fee, leg_b.fees.fee
    index_a = index_b = 0
    level_a, level_b = asks_a[0], asks_b[0]
    left_a, left_b = level_a.size, level_b.size
    taken_a: list[list[Decimal]] = []
    taken_b: list[list[Decimal]] = []
    size = ZERO
    while True:
        chunk = min(left_a, left_b)
        if max_size is not None:
            chunk = min(chunk, max_size - size)
        if chunk <= ZERO:
            break
        price_a, price_b = level_a.price, level_b.price
        fees = ZERO + fee_a(price_a, chunk) + fee_b(price_b, chunk)
        if chunk - (ZERO + price_a + price_b) * chunk - fees <= min_chunk_profit:
            break
        if taken_a and taken_a[-1][0] == price_a:
            taken_a[-1][1] += chunk
        else:
            taken_a.append([price_a, chunk])
        if taken_b and taken_b[-1][0] == price_b:
            taken_b[-1][1] += chunk
        else:
            taken_b.append([price_b, chunk])
        left_a -= chunk
        left_b -= chunk
        size += chunk
        if left_a == ZERO:
            index_a += 1
            if index_a >= len(asks_a):
                break
            level_a = asks_a[index_a]
            left_a = level_a.size
        if left_b == ZERO:
            index_b += 1
            if index_b >= len(asks_b):
                break
            level_b = asks_b[index_b]
            left_b = level_b.size
    if size <= ZERO or size < leg_a.min_size or size < leg_b.min_size:
        return None
    result = BundleWalk(size, (_leg_fill(fee_a, taken_a), _leg_fill(fee_b, taken_b)))
    return result if result.profit > ZERO else None


def _leg_fill(fee: Callable[[Decimal, Decimal], Decimal], merged: list[list[Decimal]]) -> LegFill:
    """Price one leg's fills and their fees (each level is its own fill, rounded on its own)."""
    notional = ZERO
    fees = ZERO
    for price, size in merged:
        notional += price * size
        fees += fee(price, size)
    return LegFill(tuple(Level(price, size) for price, size in merged), notional, fees)
