"""Detectors: one market or pair's books (and fair value) in, at most one opportunity out.

- intra-venue: buying YES and NO of one binary market costs less than the 1 it pays;
- neg-risk bundle: buying YES of every outcome of a complete, non-augmented neg-risk event;
- cross-venue: a pair the matcher marked tradable, in both directions (equivalent: YES here +
  NO there; inverted: YES + YES, NO + NO);
- oracle lag: a side's ask is below its fair value by more than the model's uncertainty allows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from pmarb.domain.book import BookSnapshot, Level
from pmarb.domain.market import Market
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg, QuoteStamp
from pmarb.domain.parity import Outcome, Side
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.walk import LegLadder, walk_bundle


@dataclass(frozen=True, slots=True)
class MatchedPair:
    """A pair the matcher decided is the same contract (``inverted``: YES here is NO there)."""

    match_id: int
    a: Market
    b: Market
    inverted: bool


@dataclass(frozen=True, slots=True)
class BundleSide:
    """One leg of a bundle: which market's which outcome, and that outcome's book."""

    market: Market
    outcome: Outcome
    book: BookSnapshot


@dataclass(frozen=True, slots=True)
class FairValueQuote:
    """A model's probability that YES settles true, with its standard deviation."""

    probability: Decimal
    stdev: Decimal
    observed_at: datetime

    def of(self, outcome: Outcome) -> Decimal:
        """The probability that ``outcome`` settles true."""
        return self.probability if outcome is Outcome.YES else ONE - self.probability


def signature(kind: OpportunityKind, parts: Sequence[str]) -> str:
    """What identifies one situation: its kind and the instruments it buys. Prices are left out
    on purpose: quotes move while a gap persists, and a persisting gap is one opportunity. The
    scanner turns this into a business key (with the time of first emission)."""
    return _signature(kind, tuple(parts))


@lru_cache(maxsize=1 << 16)
def _signature(kind: OpportunityKind, parts: tuple[str, ...]) -> str:
    # The same few thousand situations recur (one or two per detector): hash each once.
    digest = hashlib.sha256("|".join([kind.value, *parts]).encode()).hexdigest()
    return f"{kind.value}-{digest[:20]}"


def _leg(
    name: str, side: BundleSide, size: Decimal, fills: tuple[Level, ...], vwap: Decimal
) -> OpportunityLeg:
    market = side.market
    return OpportunityLeg(
        name=name,
        venue=market.venue,
        market_id=market.market_id,
        instrument_id=side.book.instrument_id,
        outcome=side.outcome,
        side=Side.BUY,
        limit_price=fills[-1].price,
        size=size,
        expected_price=vwap,
        fees=market.fees,
        min_size=market.min_size,
        tick_size=market.tick_size,
    )


def _within_slippage(book: BookSnapshot, config: ScannerConfig) -> tuple[Level, ...]:
    asks = book.asks[: config.depth]
    if config.max_slippage is None or not asks:
        return asks
    worst = asks[0].price + config.max_slippage
    return tuple(level for level in asks if level.price <= worst)


def _quote(side: BundleSide) -> QuoteStamp:
    best = side.book.best_ask
    assert best is not None
    return QuoteStamp(
        side.market.venue, side.book.instrument_id, best.price, best.size, side.book.received_at
    )


def _resolves_at(markets: Sequence[Market]) -> datetime | None:
    times = [m.observation_time or m.close_time for m in markets]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def bundle(
    kind: OpportunityKind,
    sides: Sequence[BundleSide],
    now: datetime,
    config: ScannerConfig,
    *,
    matched_pair_id: int | None = None,
    key_suffix: str = "",
) -> Opportunity | None:
    """The bundle's executable size and edge after fees, or None if it does not pay.

    Every detector's ``key_suffix`` is appended to the situation's signature to make the
    business key (the scanner appends the time of first emission)."""
    ladders = tuple(
        LegLadder(_within_slippage(side.book, config), side.market.fees, side.market.min_size)
        for side in sides
    )
    walk = walk_bundle(ladders)
    if walk is None:
        return None
    size = walk.size
    profit = walk.profit
    edge = profit / size if size > ZERO else ZERO  # BundleWalk.edge, without a second profit
    if edge < config.min_arb_edge or profit < config.min_arb_profit:
        return None
    names = [f"{side.market.venue}-{side.outcome}" for side in sides]
    if len(set(names)) != len(names):
        names = [f"leg{n}-{side.outcome}" for n, side in enumerate(sides)]
    legs = tuple(
        _leg(name, side, size, fill.fills, fill.vwap)
        for name, side, fill in zip(names, sides, walk.legs, strict=True)
    )
    parts = [f"{leg.venue}:{leg.instrument_id}" for leg in legs]
    return Opportunity(
        kind=kind,
        business_key=signature(kind, parts) + key_suffix,
        legs=legs,
        size=size,
        edge=edge,
        detected_at=now,
        expires_at=now + timedelta(seconds=config.arb_validity_seconds),
        quotes=tuple(_quote(side) for side in sides),
        resolves_at=_resolves_at([side.market for side in sides]),
        matched_pair_id=matched_pair_id,
    )


def intra_venue(
    market: Market,
    yes: BookSnapshot,
    no: BookSnapshot,
    now: datetime,
    config: ScannerConfig,
    *,
    key_suffix: str = "",
) -> Opportunity | None:
    return bundle(
        OpportunityKind.INTRA_VENUE,
        (BundleSide(market, Outcome.YES, yes), BundleSide(market, Outcome.NO, no)),
        now,
        config,
        key_suffix=key_suffix,
    )


def neg_risk(
    outcomes: Sequence[tuple[Market, BookSnapshot]],
    now: datetime,
    config: ScannerConfig,
    *,
    key_suffix: str = "",
) -> Opportunity | None:
    """YES of every named outcome. The caller passes only complete, non-augmented events."""
    if len(outcomes) < 2:
        return None
    return bundle(
        OpportunityKind.INTRA_VENUE,
        tuple(BundleSide(market, Outcome.YES, book) for market, book in outcomes),
        now,
        config,
        key_suffix=key_suffix,
    )


def cross_venue(
    pair: MatchedPair,
    books_a: tuple[BookSnapshot, BookSnapshot],
    books_b: tuple[BookSnapshot, BookSnapshot],
    now: datetime,
    config: ScannerConfig,
    *,
    key_suffix: str = "",
) -> Opportunity | None:
    """The better of the pair's two directions (books are (YES, NO) for each market)."""
    found = []
    for direction in CROSS_DIRECTIONS:
        out_a, out_b = cross_outcomes(pair, direction)
        book_a = books_a[0] if out_a is Outcome.YES else books_a[1]
        book_b = books_b[0] if out_b is Outcome.YES else books_b[1]
        found.append(
            cross_direction(pair, direction, book_a, book_b, now, config, key_suffix=key_suffix)
        )
    return better(found)


CROSS_DIRECTIONS = (0, 1)
"""A pair's two directions, in the order ``cross_venue`` tries them (ties go to the first)."""


def cross_outcomes(pair: MatchedPair, direction: int) -> tuple[Outcome, Outcome]:
    """What one direction buys on market a and on market b: together they pay exactly one."""
    if pair.inverted:
        return (Outcome.YES, Outcome.YES) if direction == 0 else (Outcome.NO, Outcome.NO)
    return (Outcome.YES, Outcome.NO) if direction == 0 else (Outcome.NO, Outcome.YES)


def cross_direction(
    pair: MatchedPair,
    direction: int,
    book_a: BookSnapshot,
    book_b: BookSnapshot,
    now: datetime,
    config: ScannerConfig,
    *,
    key_suffix: str = "",
) -> Opportunity | None:
    """One direction of a pair, given the books of the outcomes ``cross_outcomes`` names."""
    out_a, out_b = cross_outcomes(pair, direction)
    return bundle(
        OpportunityKind.CROSS_VENUE,
        (BundleSide(pair.a, out_a, book_a), BundleSide(pair.b, out_b, book_b)),
        now,
        config,
        matched_pair_id=pair.match_id,
        key_suffix=key_suffix,
    )


def better(found: Sequence[Opportunity | None]) -> Opportunity | None:
    """The candidate with the largest expected profit (the first of equals)."""
    candidates = [opportunity for opportunity in found if opportunity is not None]
    return max(candidates, key=lambda o: o.expected_profit, default=None)


def oracle_lag(
    market: Market,
    yes: BookSnapshot,
    no: BookSnapshot,
    fair: FairValueQuote,
    now: datetime,
    config: ScannerConfig,
    *,
    key_suffix: str = "",
) -> Opportunity | None:
    """Buy the side priced below fair value by more than ``max(min edge, k·stdev)``."""
    threshold = max(config.min_oracle_edge, config.oracle_stdevs * fair.stdev)
    best: Opportunity | None = None
    for outcome, book, value in (
        (Outcome.YES, yes, fair.probability),
        (Outcome.NO, no, ONE - fair.probability),
    ):
        taken: list[Level] = []
        for level in _within_slippage(book, config):
            per_unit_fee = market.fees.fee(level.price, level.size) / level.size
            if value - level.price - per_unit_fee < threshold:
                break
            taken.append(level)
        if not taken:
            continue
        size = sum((level.size for level in taken), ZERO)
        if size < market.min_size:
            continue
        notional = sum((level.price * level.size for level in taken), ZERO)
        fees = sum((market.fees.fee(level.price, level.size) for level in taken), ZERO)
        vwap = notional / size
        edge = value - vwap - fees / size
        side = BundleSide(market, outcome, book)
        leg = _leg(f"{market.venue}-{outcome}", side, size, tuple(taken), vwap)
        opportunity = Opportunity(
            kind=OpportunityKind.ORACLE_LAG,
            business_key=signature(
                OpportunityKind.ORACLE_LAG,
                [f"{market.venue}:{book.instrument_id}"],
            )
            + key_suffix,
            legs=(leg,),
            size=size,
            edge=edge,
            detected_at=now,
            expires_at=now + timedelta(seconds=config.oracle_validity_seconds),
            quotes=(
                _quote(side),
                QuoteStamp(market.venue, f"fair:{market.market_id}", value, ZERO, fair.observed_at),
            ),
            fair_value=value,
            fair_value_stdev=fair.stdev,
            resolves_at=_resolves_at([market]),
        )
        if best is None or opportunity.expected_profit > best.expected_profit:
            best = opportunity
    return best
