"""Evaluations per second of each fair-value model (closed forms; the scanner calls them on every
relevant tick). No goal has been set; each line prints its figure with that said beside it.

Run: .venv/bin/python benchmarks/fair_value_bench.py [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pmarb.domain.market import Market, VenueId
from pmarb.oracles.fair_value import (
    Basis,
    Comparison,
    CryptoInputs,
    CryptoSettlement,
    EmpiricalError,
    NormalError,
    RealizedVolatility,
    Reference,
    SettlementIndex,
    TemperatureBracket,
    Volatility,
    average_digital,
    average_up_down,
    bracket_probability,
    price_crypto,
    settlement_for,
    spot_digital,
    up_down_spot,
)

GOAL = "goal: none set"


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call``, timed in batches for at least ``seconds``."""
    batch, calls, elapsed = 1000, 0, 0.0
    start = time.perf_counter()
    while elapsed < seconds:
        for _ in range(batch):
            call()
        calls += batch
        elapsed = time.perf_counter() - start
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="time per model")
    seconds = parser.parse_args().seconds

    vol = Volatility.annualised(0.6, 0.06)
    basis = Basis(mean=-2e-4, variance=1e-8, mean_stdev=1e-5)
    close = datetime(2026, 2, 21, 3, 0, tzinfo=UTC)
    kalshi_15m = CryptoSettlement(
        index=SettlementIndex.CF_BRTI,
        asset="BTC",
        quote="USD",
        averaging_seconds=60,
        comparison=Comparison.GE,
        reference=Reference.WINDOW_OPEN,
        window_start=close - timedelta(minutes=15),
        settles_at=close,
    )
    inputs = CryptoInputs(
        now=close - timedelta(seconds=200),
        spot=68_015.18,
        vol=vol,
        basis=basis,
        open_value=68_005.7,
    )
    rng = random.Random(1)
    errors = [rng.gauss(0.5, 2.5) for _ in range(60)]
    normal, empirical = NormalError.calibrate(errors), EmpiricalError.calibrate(errors)
    bracket = TemperatureBracket.between(88, 89)
    estimator = RealizedVolatility(sample_seconds=1.0, window_seconds=900.0)
    clock = iter(range(10**9))
    market = Market(
        VenueId.KALSHI,
        "KXBTCD-25SEP2117-T115749.99",
        "Bitcoin price on Sep 21, 2025?",
        "y",
        "n",
        rules="If the simple average of the sixty seconds of CF Benchmarks' Bitcoin Real-Time "
        "Index (BRTI) before 5 PM EDT is above 115749.99 at 5 PM EDT on Sep 21, 2025, then the "
        "market resolves to Yes.",
    )

    cases: list[tuple[str, Callable[[], object]]] = [
        ("spot digital (print settlement)", lambda: spot_digital(80_100, 80_000, vol, 600)),
        (
            "average digital, u ≥ w (BRTI 60 s ahead)",
            lambda: average_digital(80_100, 80_000, vol, 600, 60, basis=basis),
        ),
        (
            "average digital, u < w (partly observed)",
            lambda: average_digital(80_010, 80_020, vol, 20, 60, observed_average=80_030),
        ),
        (
            "up/down against the opening print",
            lambda: up_down_spot(80_030, vol, 240, 900, open_value=80_000, tick=0.01),
        ),
        (
            "average up/down, opening average running",
            lambda: average_up_down(80_000, vol, 920, 900, 60, observed_start_average=80_020),
        ),
        ("price_crypto dispatch (Kalshi 15 min)", lambda: price_crypto(kalshi_15m, inputs)),
        ("weather bracket, normal error", lambda: bracket_probability(bracket, 87.0, normal)),
        (
            "weather bracket, empirical error (60 past errors)",
            lambda: bracket_probability(bracket, 87.0, empirical),
        ),
        (
            "realised-vol update (per tick)",
            lambda: estimator.update(float(next(clock)) * 0.25, 80_000.0 + rng.random()),
        ),
        ("settlement_for (per market, not per tick)", lambda: settlement_for(market)),
    ]
    width = max(len(name) for name, _ in cases)
    print(f"{'model':<{width}}  evaluations/s")
    for name, call in cases:
        print(f"{name:<{width}}  {rate(call, seconds):>13,.0f}   ({GOAL})")
    # Sanity: the figures above are for real answers, not errors.
    assert Decimal(0) < price_crypto(kalshi_15m, inputs).probability < Decimal(1)


if __name__ == "__main__":
    main()
