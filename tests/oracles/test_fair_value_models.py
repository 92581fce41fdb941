"""The closed forms against symmetry, limits and seeded Monte Carlo simulation of the paths."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from pmarb.oracles.fair_value import (
    Basis,
    Comparison,
    InvalidModelInput,
    Volatility,
    average_digital,
    average_up_down,
    spot_digital,
    up_down_spot,
)

VOL = Volatility.annualised(0.6)
SIGMA = VOL.per_second
PATHS = 200_000
TOLERANCE = 0.005


def simulated_average(
    rng: np.random.Generator, start: np.ndarray, lead: float, window: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Brownian log-price paths from ``start``: ``lead`` seconds, then the mean over ``window``
    seconds sampled at the midpoints of ``steps`` sub-intervals. Returns (mean, end value)."""
    dt = window / steps
    level = start + SIGMA * math.sqrt(lead + dt / 2) * rng.standard_normal(start.shape)
    total = level.copy()
    for _ in range(steps - 1):
        level = level + SIGMA * math.sqrt(dt) * rng.standard_normal(start.shape)
        total += level
    end = level + SIGMA * math.sqrt(dt / 2) * rng.standard_normal(start.shape)
    return total / steps, end


def monte_carlo(fn: object, seed: int, chunks: int = 4) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(chunks):
        hits += int(fn(rng, PATHS // chunks))  # type: ignore[operator]
    return hits / PATHS


# --- symmetry and limits -----------------------------------------------------------------------


def test_at_the_money_at_window_start_is_one_half_for_every_symmetric_model() -> None:
    spot = 80_000.0
    assert spot_digital(spot, spot, VOL, 900).probability == pytest.approx(0.5)
    assert average_digital(spot, spot, VOL, 900, 60).probability == pytest.approx(0.5)
    assert up_down_spot(spot, VOL, 900, 900).probability == pytest.approx(0.5)
    assert up_down_spot(spot, VOL, 899, 900, open_value=spot).probability == pytest.approx(0.5)
    assert average_up_down(spot, VOL, 960, 900, 60).probability == pytest.approx(0.5)
    assert average_up_down(spot, VOL, 900, 900, 60, start_average=spot).probability == (
        pytest.approx(0.5)
    )


def test_spot_digital_matches_the_textbook_example_and_is_monotone() -> None:
    # 80,100 vs 80,000 with 10 minutes left at 50 % annual vol: z ≈ 0.57, P ≈ 0.72.
    vol = Volatility.annualised(0.5)
    fair = spot_digital(80_100, 80_000, vol, 600)
    z = math.log(80_100 / 80_000) / (vol.per_second * math.sqrt(600))
    assert float(fair.probability) == pytest.approx(NormalDist().cdf(z), abs=1e-6)
    assert 0.71 < float(fair.probability) < 0.73
    probabilities = [
        float(spot_digital(80_000, k, vol, 600).probability) for k in (79_900, 80_000, 80_100)
    ]
    assert probabilities == sorted(probabilities, reverse=True)
    below = spot_digital(80_100, 80_000, vol, 600, comparison=Comparison.LT)
    assert float(fair.probability + below.probability) == pytest.approx(1.0, abs=2e-6)


def test_expired_settlements_are_certain() -> None:
    assert float(spot_digital(80_001, 80_000, VOL, 0).probability) == 1.0
    assert float(spot_digital(79_999, 80_000, VOL, 0).probability) == 0.0
    assert (
        float(average_digital(80_000, 80_000, VOL, 0, 60, observed_average=80_010).probability)
        == 1.0
    )


def test_ties_and_ticks() -> None:
    # A print exactly on the strike is YES for "at least" and NO for "strictly above".
    at_least = spot_digital(80_000, 80_000, VOL, 1, tick=0.01)
    above = spot_digital(80_000, 80_000, VOL, 1, comparison=Comparison.GT, tick=0.01)
    assert at_least.probability > above.probability
    # Before an up/down window opens, ties going Up put it a hair above one half.
    assert up_down_spot(80_000, VOL, 900, 900, tick=0.01).probability > 0.5


def test_averaging_collapses_variance_inside_the_window() -> None:
    spot, strike = 80_020.0, 80_000.0
    print_model = float(spot_digital(spot, strike, VOL, 30).probability)
    averaged = float(
        average_digital(spot, strike, VOL, 30, 60, observed_average=80_020).probability
    )
    assert averaged > print_model > 0.5, "the locked-in half of the average makes it surer"


def test_basis_shifts_the_mean_and_widens_the_distribution() -> None:
    spot, strike = 80_050.0, 80_000.0
    plain = float(spot_digital(spot, strike, VOL, 120).probability)
    # The index sits 10 bp below our feed: the contract is less likely to finish above.
    shifted = float(spot_digital(spot, strike, VOL, 120, basis=Basis(mean=-0.001)).probability)
    noisy = float(
        spot_digital(spot, strike, VOL, 120, basis=Basis(variance=(5e-4) ** 2)).probability
    )
    assert shifted < plain
    assert 0.5 < noisy < plain


def test_staleness_and_vol_uncertainty_raise_the_stdev_not_the_direction() -> None:
    spot, strike = 80_100.0, 80_000.0
    fresh = spot_digital(spot, strike, Volatility(SIGMA, SIGMA * 0.1), 60)
    stale = spot_digital(spot, strike, Volatility(SIGMA, SIGMA * 0.1), 60, staleness_seconds=30)
    assert 0.5 < stale.probability < fresh.probability
    assert fresh.stdev > 0
    assert spot_digital(spot, strike, Volatility(SIGMA, 0.0), 60).stdev == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Volatility.annualised(-0.1), "volatility"),
        (lambda: spot_digital(-1, 80_000, VOL, 60), "spot"),
        (lambda: spot_digital(80_000, 80_000, VOL, -5), "seconds"),
        (lambda: average_digital(80_000, 80_000, VOL, 30, 60), "observed part"),
        (lambda: average_digital(80_000, 80_000, VOL, 90, 60, observed_average=1.0), "not started"),
        (lambda: average_up_down(80_000, VOL, 930, 900, 60), "observed part"),
        (lambda: average_up_down(80_000, VOL, 600, 900, 60), "opening average"),
        (lambda: up_down_spot(80_000, VOL, 600, 900), "opening value"),
        (lambda: average_up_down(80_000, VOL, 600, 30, 60), "longer than the window"),
    ],
)
def test_invalid_inputs_are_refused_with_a_reason(call: object, message: str) -> None:
    with pytest.raises(InvalidModelInput, match=message):
        call()  # type: ignore[operator]


# --- Monte Carlo agreement ---------------------------------------------------------------------


def test_average_before_the_window_matches_monte_carlo() -> None:
    spot, strike, seconds, window = 80_000.0, 80_020.0, 90.0, 60.0
    closed = float(average_digital(spot, strike, VOL, seconds, window).probability)

    def trial(rng: np.random.Generator, n: int) -> int:
        mean, _ = simulated_average(rng, np.full(n, math.log(spot)), seconds - window, window, 120)
        return int(np.count_nonzero(mean >= math.log(strike)))

    simulated = monte_carlo(trial, seed=1)
    assert 0.2 < closed < 0.45, "a case where the answer is not trivially one half"
    assert abs(closed - simulated) < TOLERANCE, (closed, simulated)


def test_partially_observed_average_matches_monte_carlo() -> None:
    spot, strike, seconds, window, observed = 80_010.0, 80_026.0, 20.0, 60.0, 80_030.0
    closed = float(
        average_digital(spot, strike, VOL, seconds, window, observed_average=observed).probability
    )

    def trial(rng: np.random.Generator, n: int) -> int:
        remaining, _ = simulated_average(rng, np.full(n, math.log(spot)), 0.0, seconds, 80)
        settle = ((window - seconds) * math.log(observed) + seconds * remaining) / window
        return int(np.count_nonzero(settle >= math.log(strike)))

    simulated = monte_carlo(trial, seed=2)
    assert 0.2 < closed < 0.45
    assert abs(closed - simulated) < TOLERANCE, (closed, simulated)


def test_average_up_down_with_a_running_opening_average_matches_monte_carlo() -> None:
    # 20 s of the 60 s opening average are still to come; the 40 s seen averaged 80,020.
    spot, opened, length, w = 80_000.0, 80_020.0, 300.0, 60.0
    u1 = 20.0
    closed = float(
        average_up_down(
            spot, VOL, length + u1, length, w, observed_start_average=opened
        ).probability
    )

    def trial(rng: np.random.Generator, n: int) -> int:
        start_rest, level = simulated_average(rng, np.full(n, math.log(spot)), 0.0, u1, 40)
        start = ((w - u1) * math.log(opened) + u1 * start_rest) / w
        end, _ = simulated_average(rng, level, length - w, w, 120)
        return int(np.count_nonzero(end >= start))

    simulated = monte_carlo(trial, seed=3)
    assert 0.3 < closed < 0.5
    assert abs(closed - simulated) < TOLERANCE, (closed, simulated)


def test_spot_up_down_once_open_matches_monte_carlo() -> None:
    spot, opened, seconds = 80_030.0, 80_000.0, 240.0
    closed = float(up_down_spot(spot, VOL, seconds, 900, open_value=opened).probability)

    def trial(rng: np.random.Generator, n: int) -> int:
        end = math.log(spot) + SIGMA * math.sqrt(seconds) * rng.standard_normal(n)
        return int(np.count_nonzero(end >= math.log(opened)))

    assert abs(closed - monte_carlo(trial, seed=4)) < TOLERANCE
