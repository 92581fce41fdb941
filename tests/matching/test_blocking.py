"""Candidate blocking: by what is measured and when, never everything against everything."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pmarb.domain.market import Market, VenueId
from pmarb.matching.blocking import BlockingConfig, candidate_pairs
from pmarb.matching.extract import extract
from tests.matching.fixture_pairs import crypto_pairs, weather_pairs


def _pairs(
    left: list[Market], right: list[Market], config: BlockingConfig | None = None
) -> list[tuple[int, int]]:
    return candidate_pairs(
        left, right, [extract(m) for m in left], [extract(m) for m in right], config
    )


def test_same_window_crypto_markets_meet_and_other_windows_do_not() -> None:
    adjacent, same, _ = crypto_pairs()
    left = [adjacent.kalshi, same.kalshi]
    right = [adjacent.polymarket, same.polymarket]
    # Kalshi 02:00-02:15Z meets nothing (Polymarket's windows end 02:30Z and 03:00Z);
    # the two 02:45-03:00Z windows meet.
    assert _pairs(left, right) == [(1, 1)]


def test_weather_blocks_by_city_quantity_and_day() -> None:
    pairs = weather_pairs()
    left = [pair.kalshi for pair in pairs]
    right = [pair.polymarket for pair in pairs]
    assert _pairs(left, right) == [(i, i) for i in range(len(pairs))]
    next_day = [
        replace(
            m,
            title=m.title.replace("Aug 12", "Aug 13"),
            rules=m.rules.replace("12 Aug", "13 Aug"),
        )
        for m in right
    ]
    assert _pairs(left, next_day) == []


def _game(venue: VenueId, market_id: str, title: str, close: datetime) -> Market:
    return Market(
        venue=venue,
        market_id=market_id,
        title=title,
        yes_instrument_id=f"{market_id}-y",
        no_instrument_id=f"{market_id}-n",
        close_time=close,
    )


def test_unparsed_markets_meet_on_shared_entities_and_nearby_dates() -> None:
    when = datetime(2026, 10, 1, tzinfo=UTC)
    left = [
        _game(VenueId.KALSHI, "k1", "Will Marco Rubio win the 2028 presidential election?", when),
        _game(VenueId.KALSHI, "k2", "Arsenal vs Chelsea winner?", when),
    ]
    right = [
        _game(VenueId.POLYMARKET, "p1", "Presidential Election Winner 2028: Marco Rubio", when),
        _game(VenueId.POLYMARKET, "p2", "Arsenal vs. Chelsea", when),
        _game(VenueId.POLYMARKET, "p3", "Arsenal vs. Chelsea", when + timedelta(days=400)),
        _game(
            VenueId.POLYMARKET, "p4", "Will Gavin Newsom win the 2028 presidential election?", when
        ),
    ]
    pairs = _pairs(left, right)
    assert (0, 0) in pairs and (1, 1) in pairs
    assert (1, 2) not in pairs  # the same teams a year later
    assert (0, 1) not in pairs and (1, 0) not in pairs


def test_a_token_in_too_many_titles_names_no_entity() -> None:
    when = datetime(2026, 10, 1, tzinfo=UTC)
    left = [
        _game(VenueId.KALSHI, f"k{i}", f"Bitcoin conference {i} keynote speaker Alice{i}?", when)
        for i in range(5)
    ]
    right = [
        _game(VenueId.POLYMARKET, f"p{i}", f"Bitcoin conference {i} keynote speaker Bob{i}?", when)
        for i in range(5)
    ]
    tight = BlockingConfig(max_token_frequency=4, min_shared_tokens=2)
    # "bitcoin", "conference", "keynote", "speaker" are everywhere; only the numbers are rare,
    # and one shared rare token is not enough.
    assert _pairs(left, right, tight) == []
