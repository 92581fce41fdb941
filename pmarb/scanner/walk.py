"""Walking several ask ladders together for a bundle that pays 1 per unit at resolution.

A YES+NO pair, a neg-risk set of YES outcomes, or a matched pair across venues all pay exactly
one per completed unit. Buying more walks every leg's asks at once; each extra chunk is worth
buying only while its marginal cost — the sum of each leg's current level plus that chunk's fees
— stays below one. Fees are charged per level (each level is a separate fill at the venue and
rounds on its own), so the result is never more optimistic than the venue.
"""

from __future__ import annotations

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
    if not legs or any(not leg.asks for leg in legs):
        return None
    # Cheap rejection first: if the best levels already cost one or more, nothing follows.
    if sum((leg.asks[0].price for leg in legs), ZERO) >= ONE:
        return None
    index = [0] * len(legs)
    left = [leg.asks[0].size for leg in legs]
    taken: list[list[Level]] = [[] for _ in legs]
    size = ZERO
    while True:
        chunk = min(left)
        if max_size is not None:
            chunk = min(chunk, max_size - size)
        if chunk <= ZERO:
            break
        prices = [leg.asks[i].price for leg, i in zip(legs, index, strict=True)]
        fees = sum(
            (leg.fees.fee(price, chunk) for leg, price in zip(legs, prices, strict=True)), ZERO
        )
        if chunk - sum(prices, ZERO) * chunk - fees <= min_chunk_profit:
            break
        for n, price in enumerate(prices):
            taken[n].append(Level(price, chunk))
            left[n] -= chunk
        size += chunk
        exhausted = False
        for n, leg in enumerate(legs):
            if left[n] == ZERO:
                index[n] += 1
                if index[n] >= len(leg.asks):
                    exhausted = True
                    break
                left[n] = leg.asks[index[n]].size
        if exhausted:
            break
    if size <= ZERO or any(size < leg.min_size for leg in legs):
        return None
    fills = tuple(_leg_fill(leg, taken[n]) for n, leg in enumerate(legs))
    result = BundleWalk(size, fills)
    return result if result.profit > ZERO else None


def _leg_fill(leg: LegLadder, chunks: list[Level]) -> LegFill:
    """Merge chunks at the same price (one venue fill per level) and price their fees."""
    merged: list[Level] = []
    for level in chunks:
        if merged and merged[-1].price == level.price:
            merged[-1] = Level(level.price, merged[-1].size + level.size)
        else:
            merged.append(level)
    notional = sum((level.price * level.size for level in merged), ZERO)
    fee = sum((leg.fees.fee(level.price, level.size) for level in merged), ZERO)
    return LegFill(tuple(merged), notional, fee)
