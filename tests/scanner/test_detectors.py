"""Walks and detectors on explicit books: exact sizes, edges and fees."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from pmarb.domain.book import BookSnapshot, Level
from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import OpportunityKind
from pmarb.domain.parity import Outcome
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import (
    FairValueQuote,
    MatchedPair,
    cross_venue,
    intra_venue,
    oracle_lag,
)
from pmarb.scanner.walk import LegLadder, _walk, walk_bundle

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
KALSHI = FeeSchedule(taker_rate=D("0.07"), rounding_step=D("0.01"))


def levels(*pairs: tuple[str, str]) -> tuple[Level, ...]:
    return tuple(Level(D(p), D(s)) for p, s in pairs)


def book(
    instrument: str,
    asks: tuple[Level, ...],
    bids: tuple[Level, ...] = (),
    venue: VenueId = VenueId.KALSHI,
) -> BookSnapshot:
    return BookSnapshot(venue, instrument, bids, asks, NOW)


def market(
    venue: VenueId = VenueId.KALSHI,
    market_id: str = "M",
    fees: FeeSchedule = KALSHI,
) -> Market:
    return Market(
        venue=venue,
        market_id=market_id,
        title="t",
        yes_instrument_id=f"{market_id}:y",
        no_instrument_id=f"{market_id}:n",
        fees=fees,
        close_time=NOW + timedelta(hours=1),
    )


def test_bundle_walk_takes_every_chunk_that_still_pays() -> None:
    walk = walk_bundle(
        (
            LegLadder(levels(("0.40", "10"), ("0.42", "10")), NO_FEES),
            LegLadder(levels(("0.50", "5"), ("0.55", "20")), NO_FEES),
        )
    )
    assert walk is not None
    assert walk.size == D("20")
    assert walk.cost == D("18.95")
    assert walk.legs[0].fills == levels(("0.40", "10"), ("0.42", "10"))
    assert walk.legs[1].fills == levels(("0.50", "5"), ("0.55", "15"))


def test_bundle_walk_stops_where_fees_eat_the_marginal_chunk() -> None:
    walk = walk_bundle(
        (
            LegLadder(levels(("0.45", "10"), ("0.48", "10")), KALSHI),
            LegLadder(levels(("0.45", "10"), ("0.50", "10")), KALSHI),
        )
    )
    assert walk is not None and walk.size == D("10")
    # 10 @ 0.45 on each leg: fee ceil(0.07·10·0.45·0.55 = 0.17325) = 0.18 per leg.
    assert walk.cost == D("9.00") + D("0.36")
    assert walk.edge == (D("10") - D("9.36")) / 10


def test_no_walk_when_the_best_levels_already_cost_one() -> None:
    assert (
        walk_bundle(
            (LegLadder(levels(("0.50", "10")), NO_FEES), LegLadder(levels(("0.50", "10")), NO_FEES))
        )
        is None
    )


def test_intra_venue_opportunity_carries_legs_quotes_and_expiry() -> None:
    m = market()
    found = intra_venue(
        m,
        book("M:y", levels(("0.40", "50"))),
        book("M:n", levels(("0.50", "30"))),
        NOW,
        ScannerConfig(),
    )
    assert found is not None and found.kind is OpportunityKind.INTRA_VENUE
    assert found.size == D("30")
    assert {leg.outcome for leg in found.legs} == {Outcome.YES, Outcome.NO}
    assert all(q.observed_at == NOW for q in found.quotes)
    assert found.expires_at == NOW + timedelta(seconds=5)
    assert found.resolves_at == m.close_time
    fee = D("0.51") + D("0.53")  # 30@0.40: ceil(0.504)=0.51; 30@0.50: ceil(0.525)=0.53
    assert found.edge == (D("30") - D("12") - D("15") - fee) / 30


def test_a_fee_tight_market_produces_nothing() -> None:
    assert (
        intra_venue(
            market(),
            book("M:y", levels(("0.49", "50"))),
            book("M:n", levels(("0.50", "50"))),
            NOW,
            ScannerConfig(),
        )
        is None
    )


def test_signature_names_the_situation_not_the_prices() -> None:
    m = market()
    yes, no = book("M:y", levels(("0.40", "50"))), book("M:n", levels(("0.50", "30")))
    first = intra_venue(m, yes, no, NOW, ScannerConfig())
    again = intra_venue(m, yes, no, NOW + timedelta(seconds=1), ScannerConfig())
    moved = intra_venue(m, book("M:y", levels(("0.41", "50"))), no, NOW, ScannerConfig())
    assert first and again and moved
    assert first.business_key == again.business_key == moved.business_key
    other = intra_venue(
        market(market_id="N"),
        book("N:y", levels(("0.40", "50"))),
        book("N:n", levels(("0.50", "30"))),
        NOW,
        ScannerConfig(),
    )
    assert other is not None and other.business_key != first.business_key


def test_cross_venue_orientation() -> None:
    a = market(VenueId.POLYMARKET, "P", NO_FEES)
    b = market(VenueId.KALSHI, "K", NO_FEES)
    books_a = (book("P:y", levels(("0.40", "10"))), book("P:n", levels(("0.62", "10"))))
    books_b = (book("K:y", levels(("0.45", "10"))), book("K:n", levels(("0.55", "10"))))
    same = cross_venue(MatchedPair(1, a, b, inverted=False), books_a, books_b, NOW, ScannerConfig())
    assert same is not None
    assert [(leg.venue, leg.outcome) for leg in same.legs] == [
        (VenueId.POLYMARKET, Outcome.YES),
        (VenueId.KALSHI, Outcome.NO),
    ]
    assert same.matched_pair_id == 1
    inverted = cross_venue(
        MatchedPair(2, a, b, inverted=True), books_a, books_b, NOW, ScannerConfig()
    )
    assert inverted is not None
    assert [leg.outcome for leg in inverted.legs] == [Outcome.YES, Outcome.YES]


def test_oracle_lag_buys_while_each_level_clears_the_threshold() -> None:
    m = market()
    yes = book("M:y", levels(("0.50", "10"), ("0.55", "10"), ("0.59", "10")))
    no = book("M:n", levels(("0.45", "10")))
    fair = FairValueQuote(D("0.60"), D("0.01"), NOW)
    found = oracle_lag(m, yes, no, fair, NOW, ScannerConfig(max_slippage=None))
    assert found is not None and found.kind is OpportunityKind.ORACLE_LAG
    (leg,) = found.legs
    assert leg.outcome is Outcome.YES and found.size == D("20") and leg.limit_price == D("0.55")
    assert found.fair_value == D("0.60") and found.fair_value_stdev == D("0.01")
    assert found.edge == D("0.60") - D("0.525") - D("0.36") / 20
    uncertain = FairValueQuote(D("0.60"), D("0.1"), NOW)
    assert oracle_lag(m, yes, no, uncertain, NOW, ScannerConfig(max_slippage=None)) is None


def test_walks_stop_at_the_slippage_limit() -> None:
    m = market()
    yes = book("M:y", levels(("0.50", "10"), ("0.52", "10"), ("0.55", "10")))
    no = book("M:n", levels(("0.45", "10")))
    fair = FairValueQuote(D("0.70"), D("0.01"), NOW)
    found = oracle_lag(m, yes, no, fair, NOW, ScannerConfig(max_slippage=D("0.02")))
    assert found is not None and found.size == D("20") and found.legs[0].limit_price == D("0.52")


@pytest.mark.parametrize("seed", range(20))
def test_two_leg_walk_is_the_general_walk_to_the_last_digit(seed: int) -> None:
    rng = random.Random(seed)
    schedules = (KALSHI, NO_FEES, FeeSchedule(taker_rate=D("0.0175")))

    def ladder() -> LegLadder:
        price = rng.randint(20, 60)
        asks = []
        for _ in range(rng.randint(1, 6)):
            # Sometimes a repeated price (a merged fill), sizes with and without decimals.
            price += rng.choice([0, 1, 1, 2])
            size = D(rng.randint(1, 40)) / rng.choice([1, 1, 10, 4])
            asks.append(Level(D(price) / 100, size))
        return LegLadder(tuple(asks), rng.choice(schedules), D(rng.choice([0, 0, 3])))

    for _ in range(50):
        legs = (ladder(), ladder())
        max_size = rng.choice([None, None, D(rng.randint(1, 30))])
        floor = rng.choice([ZERO, D("0.05")])
        pair = walk_bundle(legs, max_size=max_size, min_chunk_profit=floor)
        general = (
            _walk(legs, max_size, floor) if sum(leg.asks[0].price for leg in legs) < 1 else None
        )
        assert repr(pair) == repr(general)
