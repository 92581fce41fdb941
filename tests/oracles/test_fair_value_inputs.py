"""Estimators (realised volatility, basis) and the weather bracket model."""

from __future__ import annotations

import math
import random

import pytest

from pmarb.oracles.fair_value import (
    BasisEstimator,
    EmpiricalError,
    InvalidModelInput,
    NormalError,
    RealizedVolatility,
    TemperatureBracket,
    bracket_probabilities,
    bracket_probability,
    ladder,
)

# --- realised volatility -----------------------------------------------------------------------


def gbm_ticks(
    sigma: float, seconds: int, seed: int, every: float = 0.5
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    price, ticks, t = 80_000.0, [], 0.0
    while t < seconds:
        ticks.append((t, price))
        price *= math.exp(sigma * math.sqrt(every) * rng.gauss(0.0, 1.0))
        t += every
    return ticks


def test_realised_volatility_recovers_the_simulated_sigma() -> None:
    sigma = 1.0e-4
    estimator = RealizedVolatility(sample_seconds=5.0, window_seconds=3600.0)
    for at, price in gbm_ticks(sigma, 3600, seed=7):
        estimator.update(at, price)
    estimate = estimator.estimate()
    assert estimate is not None
    assert estimator.returns == 719
    assert estimate.per_second == pytest.approx(sigma, rel=0.1)
    # Its stated uncertainty is the sampling error of n returns.
    assert estimate.stdev == pytest.approx(estimate.per_second / math.sqrt(2 * 719))


def test_realised_volatility_waits_for_enough_returns_and_forgets_old_ones() -> None:
    estimator = RealizedVolatility(sample_seconds=1.0, window_seconds=60.0, min_returns=30)
    for at, price in gbm_ticks(5e-4, 20, seed=1):
        estimator.update(at, price)
    assert estimator.estimate() is None
    for at, price in gbm_ticks(5e-4, 200, seed=2):
        estimator.update(20 + at, price)
    wild = estimator.estimate()
    assert wild is not None and estimator.returns == 60
    # A calm hour afterwards replaces the wild one entirely.
    for at, price in gbm_ticks(5e-5, 120, seed=3):
        estimator.update(300 + at, price)
    calm = estimator.estimate()
    assert calm is not None and calm.per_second < wild.per_second / 3


def test_nothing_is_priced_until_the_estimate_is_warm() -> None:
    # Warm: standard error at most 10 % of sigma, so 50 five-second returns (about 4 minutes).
    estimator = RealizedVolatility(sample_seconds=5.0)
    ticks = gbm_ticks(1e-4, 600, seed=4, every=1.0)
    warm_at = None
    for at, price in ticks:
        estimator.update(at, price)
        estimate = estimator.estimate()
        if estimate is None:
            assert estimator.returns < 50
        elif warm_at is None:
            warm_at = at
            assert estimator.returns == 50
            assert estimate.stdev <= 0.10 * estimate.per_second
    assert warm_at is not None and 250 <= warm_at < 256


def test_realised_volatility_ignores_bad_and_out_of_order_prices() -> None:
    estimator = RealizedVolatility(sample_seconds=1.0, window_seconds=60.0, min_returns=2)
    for at, price in [(0.0, 100.0), (1.0, 101.0), (2.0, float("nan")), (3.0, -5.0), (0.5, 1.0)]:
        estimator.update(at, price)
    estimator.update(4.0, 101.0)
    estimate = estimator.estimate()
    assert estimate is not None
    assert estimate.per_second == pytest.approx(math.sqrt(math.log(1.01) ** 2 / 4), rel=1e-9)


def test_basis_estimator() -> None:
    estimator = BasisEstimator(window=100, min_pairs=5)
    rng = random.Random(3)
    for _ in range(100):
        feed = 80_000 + rng.uniform(-50, 50)
        estimator.update(feed * math.exp(-0.0005 + rng.gauss(0, 1e-4)), feed)
    basis = estimator.estimate()
    assert basis is not None
    assert basis.mean == pytest.approx(-0.0005, abs=3e-5)
    assert math.sqrt(basis.variance) == pytest.approx(1e-4, rel=0.2)
    assert basis.mean_stdev == pytest.approx(math.sqrt(basis.variance / 100))
    assert BasisEstimator(min_pairs=5).estimate() is None


# --- weather brackets --------------------------------------------------------------------------

ERROR = NormalError(bias=0.5, stdev=2.5, relative_stdev_uncertainty=0.1)


@pytest.mark.parametrize("observed_max", [None, 85.3, 95.0])
@pytest.mark.parametrize("width", [1, 2])
def test_a_complete_ladder_sums_to_one(observed_max: float | None, width: int) -> None:
    brackets = ladder(list(range(80, 96)), width=width)
    probabilities = bracket_probabilities(brackets, 88.2, ERROR, observed_max_f=observed_max)
    total = sum(float(p.probability) for p in probabilities)
    assert total == pytest.approx(1.0, abs=len(brackets) * 1e-6)
    assert all(p.probability >= 0 for p in probabilities)


def test_rounding_to_whole_degrees_and_strict_wording() -> None:
    forecast = 90.0
    error = NormalError(bias=0.0, stdev=2.0)
    # "greater than 90" settles YES on a reported 91 or more: latent ≥ 90.5.
    above = bracket_probability(TemperatureBracket.greater_than(90), forecast, error)
    assert float(above.probability) == pytest.approx(1 - error.cdf(0.5), abs=1e-6)
    at_least = bracket_probability(TemperatureBracket.at_least(90), forecast, error)
    assert float(at_least.probability) == pytest.approx(1 - error.cdf(-0.5), abs=1e-6)
    # "above 80.99" (hourly series) is a reported 81 or more.
    assert TemperatureBracket.greater_than(80.99) == TemperatureBracket(81, None)
    assert TemperatureBracket.less_than(89) == TemperatureBracket(None, 88)
    exactly = bracket_probability(TemperatureBracket.between(90, 90), forecast, error)
    assert float(exactly.probability) == pytest.approx(error.cdf(0.5) - error.cdf(-0.5), abs=1e-6)


def test_the_running_maximum_rules_out_lower_brackets() -> None:
    error = NormalError(bias=0.0, stdev=3.0)
    cold = bracket_probability(TemperatureBracket.at_most(84), 86.0, error)
    assert cold.probability > 0.2
    after_peak = bracket_probability(
        TemperatureBracket.at_most(84), 86.0, error, observed_max_f=85.0
    )
    assert after_peak.probability == 0
    # Already observed 91.2 °F: "greater than 90" is settled unless the report disagrees.
    hot = bracket_probability(TemperatureBracket.greater_than(90), 86.0, error, observed_max_f=91.2)
    assert float(hot.probability) == 1.0


def test_calibrated_errors_and_their_uncertainty() -> None:
    rng = random.Random(11)
    errors = [rng.gauss(1.0, 2.0) for _ in range(60)]
    normal = NormalError.calibrate(errors)
    assert normal.bias == pytest.approx(1.0, abs=0.6)
    assert normal.stdev == pytest.approx(2.0, rel=0.3)
    empirical = EmpiricalError.calibrate(errors)
    bracket = TemperatureBracket.between(88, 89)
    by_normal = bracket_probability(bracket, 87.0, normal)
    by_empirical = bracket_probability(bracket, 87.0, empirical)
    assert float(by_normal.probability) == pytest.approx(float(by_empirical.probability), abs=0.06)
    assert by_normal.stdev > 0 and by_empirical.stdev > 0
    # Fewer past errors, less certain spread, wider uncertainty.
    few = bracket_probability(bracket, 87.0, NormalError.calibrate(errors[:6]))
    assert float(few.stdev) > float(by_normal.stdev) * 1.5
    with pytest.raises(InvalidModelInput):
        NormalError.calibrate([1.0, 2.0])
    with pytest.raises(InvalidModelInput):
        TemperatureBracket(90, 80)
