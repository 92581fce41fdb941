"""Blocking 20,000 × 20,000 synthetic markets on one core.

Prints the proposition-extraction time, the blocking time with its goal (≤ 10 s) beside it,
and how many candidate pairs came out of the 400 million possible ones.

    .venv/bin/python benchmarks/matching_bench.py [--size 20000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pmarb.domain.market import Market, VenueId
from pmarb.matching.blocking import candidate_pairs
from pmarb.matching.extract import extract

GOAL_SECONDS = 10.0
CITIES = [
    ("New York City", "Central Park", "LaGuardia Airport"),
    ("Chicago", "Midway", "O'Hare"),
    ("Miami", "Miami International Airport", "Miami International Airport"),
    ("Austin", "Austin-Bergstrom", "Austin-Bergstrom"),
]
ASSETS = [("Bitcoin", "BTC", 80_000), ("Ethereum", "ETH", 3_000), ("Solana", "SOL", 150)]
SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mu",
    "sel",
    "van",
    "dor",
    "per",
    "lin",
    "gas",
    "qua",
    "zen",
    "bol",
    "mir",
    "tek",
    "has",
    "ulo",
    "fen",
]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def _kalshi(i: int, rng: random.Random, start: datetime, names: list[str]) -> Market:
    kind = rng.random()
    close = start + timedelta(hours=rng.randrange(24 * 30))
    ticker = f"KX-{i}"
    if kind < 0.35:
        asset, _, level = rng.choice(ASSETS)
        strike = Decimal(level) * Decimal(rng.randrange(90, 110)) / 100
        at = close.astimezone(UTC)
        rules = (
            f"If the simple average of the sixty seconds of CF Benchmarks' {asset} Real-Time "
            f"Index before {at:%-I} PM EDT is above {strike - Decimal('0.01')} at {at:%-I} PM "
            f"EDT on {at:%b %-d, %Y}, then the market resolves to Yes."
        )
        title, subtitle = f"{asset} price on {at:%b %-d, %Y}?", f"${strike:,} or above"
    elif kind < 0.55:
        city, station, _ = rng.choice(CITIES)
        low = rng.randrange(40, 95)
        day = close.date()
        rules = (
            f"If the highest temperature recorded in {station}, {city} for {day:%B %-d, %Y} as "
            "reported by the National Weather Service's Climatological Report (Daily), is "
            f"between {low}-{low + 1}°, then the market resolves to Yes."
        )
        title, subtitle = (
            f"Highest temperature in {city} on {day:%b %-d, %Y}?",
            f"{low}° to {low + 1}°",
        )
    else:
        a, b = rng.sample(names, 2)
        title, subtitle = f"{a} vs {b} winner?", a
        rules = f"If {a} wins the {a} vs {b} game originally scheduled for {close:%b %-d, %Y}, Yes."
    return Market(
        venue=VenueId.KALSHI,
        market_id=ticker,
        title=title,
        subtitle=subtitle,
        rules=rules,
        yes_instrument_id=f"{ticker}:yes",
        no_instrument_id=f"{ticker}:no",
        close_time=close,
    )


def _polymarket(i: int, rng: random.Random, start: datetime, names: list[str]) -> Market:
    kind = rng.random()
    close = start + timedelta(hours=rng.randrange(24 * 30))
    outcomes = ("Yes", "No")
    if kind < 0.35:
        asset, _, level = rng.choice(ASSETS)
        strike = Decimal(level) * Decimal(rng.randrange(90, 110)) / 100
        title = f"Will the price of {asset} be above ${strike:,} on {close:%B %-d}?"
        rules = (
            "This market will resolve to Yes if the Binance 1 minute candle for "
            f"{asset[:3].upper()}/USDT 12:00 in the ET timezone (noon) on the date specified in "
            "the title has a final Close price higher than the price specified in the title."
        )
    elif kind < 0.55:
        city, _, station = rng.choice(CITIES)
        low = rng.randrange(40, 95)
        title = (
            f"Will the highest temperature in {city} be between {low}-{low + 1}°F "
            f"on {close:%B %-d}?"
        )
        rules = (
            f"This market will resolve to the temperature range that contains the highest "
            f"temperature recorded at the {station} Station in degrees Fahrenheit. The resolution "
            "source for this market will be information from Wunderground, specifically the "
            "highest temperature recorded for all times on this day."
        )
    else:
        a, b = rng.sample(names, 2)
        title, outcomes = f"{a} vs. {b}", (a, b)
        rules = "This market resolves to the winner of the game. If postponed, resolves 50-50."
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=f"pm-{i}",
        title=title,
        rules=rules,
        outcome_names=outcomes,
        yes_instrument_id=f"pm-{i}-yes",
        no_instrument_id=f"pm-{i}-no",
        close_time=close,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    size = parser.parse_args().size
    rng = random.Random(parser.parse_args().seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    names = sorted({_name(rng) for _ in range(6000)})
    left = [_kalshi(i, rng, start, names) for i in range(size)]
    right = [_polymarket(i, rng, start, names) for i in range(size)]

    began = time.perf_counter()
    left_props = [extract(m) for m in left]
    right_props = [extract(m) for m in right]
    extracted = time.perf_counter() - began

    began = time.perf_counter()
    pairs = candidate_pairs(left, right, left_props, right_props)
    blocked = time.perf_counter() - began

    print(f"markets: {size:,} x {size:,} ({size * size:,} possible pairs)")
    print(f"proposition extraction: {extracted:.2f} s ({2 * size / extracted:,.0f} markets/s)")
    print(f"blocking: {blocked:.2f} s   goal: <= {GOAL_SECONDS:.0f} s   ", end="")
    print("OK" if blocked <= GOAL_SECONDS else "OVER GOAL")
    print(f"extraction + blocking: {extracted + blocked:.2f} s")
    print(f"candidate pairs: {len(pairs):,} ({len(pairs) / size:.2f} per market)")


if __name__ == "__main__":
    main()
