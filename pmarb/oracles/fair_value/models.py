"""Closed-form fair values for crypto contracts, by what they settle on.

The log price X of the settlement index is modelled as driftless Brownian motion with volatility
σ per √second (over minutes drift and the −σ²/2 term are far below a tick), so every model is a
Gaussian probability N((E − threshold)/√Var) with:

* point settlement (a print, a candle close), τ seconds ahead: Var = σ²τ;
* a w-second average not yet started (u ≥ w seconds to settlement): Var = σ²(u − 2w/3);
* a w-second average already running (u < w), with the observed part of the window known:
  E = ((w − u)·ln A_obs + u·X)/w, Var = σ²u³/(3w²);
* average against average (Kalshi 15-minute, Polymarket TWAP up/down) before the opening
  average is complete: see :func:`average_up_down`.

Our feed is often a proxy for the settlement index; the basis b = X_index − X_feed adds its mean
to E and its variance to Var, both scaled by how much the settlement still depends on the current
level (1 for a print, u/w inside an averaging window). A view that is δ seconds old adds σ²δ on
the same footing — and the window is not integrated up to "now" as well, which would count the
lag twice. Float maths inside (statistics, not money); results are Decimal.

Each model also returns the probability's own uncertainty: the delta-method stdev from the
volatility estimate's uncertainty and the basis mean's uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

SECONDS_PER_YEAR = 365.0 * 86400.0  # crypto trades around the clock
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_MICRO = 1_000_000


class Comparison(StrEnum):
    """How the settlement value is compared with the strike for YES."""

    GE = "ge"  # at least / ≥ (Kalshi "at least", Polymarket up/down: ties go Up)
    GT = "gt"  # strictly above (Kalshi "above 77999.99", Polymarket daily "higher than")
    LE = "le"
    LT = "lt"


class InvalidModelInput(ValueError):
    """Inputs no model can price (negative volatility, an observed part longer than the window)."""


@dataclass(frozen=True, slots=True)
class FairValue:
    """P(YES) and the uncertainty of that probability (one standard deviation)."""

    probability: Decimal
    stdev: Decimal

    @classmethod
    def of(cls, probability: float, stdev: float) -> FairValue:
        """From the model's floats, clamped and rounded to 1e-6 (far finer than any tick)."""
        if math.isnan(probability) or math.isnan(stdev):
            raise InvalidModelInput("the model produced no number (NaN); refusing to price")
        p = 1.0 if probability >= 1.0 else probability if probability > 0.0 else 0.0
        s = 0.5 if stdev >= 0.5 else stdev if stdev > 0.0 else 0.0
        return cls(
            Decimal(round(p * _MICRO)).scaleb(-6),
            Decimal(round(s * _MICRO)).scaleb(-6),
        )

    def as_json(self) -> dict[str, float]:
        return {"probability": float(self.probability), "stdev": float(self.stdev)}


@dataclass(frozen=True, slots=True)
class Volatility:
    """σ of the log price per √second, and the uncertainty of that estimate."""

    per_second: float
    stdev: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second >= 0.0):
            raise InvalidModelInput(f"volatility must be ≥ 0, got {self.per_second}")
        if not (math.isfinite(self.stdev) and self.stdev >= 0.0):
            raise InvalidModelInput(f"volatility stdev must be ≥ 0, got {self.stdev}")

    @classmethod
    def annualised(cls, sigma: float, stdev: float = 0.0) -> Volatility:
        if not (math.isfinite(sigma) and sigma >= 0.0):
            raise InvalidModelInput(f"annualised volatility must be ≥ 0, got {sigma}")
        scale = 1.0 / math.sqrt(SECONDS_PER_YEAR)
        return cls(sigma * scale, stdev * scale)


@dataclass(frozen=True, slots=True)
class Basis:
    """log(settlement index) − log(our feed): mean, variance, and the mean's uncertainty."""

    mean: float = 0.0
    variance: float = 0.0
    mean_stdev: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.variance) and self.variance >= 0.0):
            raise InvalidModelInput(f"basis variance must be ≥ 0, got {self.variance}")


NO_BASIS = Basis()


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


def normal_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise InvalidModelInput(f"{name} must be a positive number, got {value}")
    return value


def _non_negative(name: str, value: float) -> float:
    if not (math.isfinite(value) and value >= 0.0):
        raise InvalidModelInput(f"{name} must be ≥ 0, got {value}")
    return value


def _threshold(strike: float, comparison: Comparison, tick: float) -> tuple[float, bool]:
    """The log threshold on the continuous value, and whether YES lies above it.

    A settlement quoted in ticks of ``tick`` is the continuous value rounded to the nearest
    tick, so "≥ K" is "continuous ≥ K − tick/2" and "> K" is "continuous ≥ K + tick/2".
    """
    half = 0.5 * tick
    if comparison is Comparison.GE:
        return math.log(max(strike - half, 1e-300)), True
    if comparison is Comparison.GT:
        return math.log(strike + half), True
    if comparison is Comparison.LE:
        return math.log(strike + half), False
    return math.log(max(strike - half, 1e-300)), False


def gaussian_probability(
    mean: float,
    threshold: float,
    variance: float,
    *,
    above: bool,
    sigma: float,
    time_factor: float,
    vol: Volatility,
    mean_loading: float,
    basis: Basis,
) -> FairValue:
    """P(value ≥ threshold) (or below) for a Gaussian whose variance is σ²·time_factor + the
    basis part, with the delta-method stdev from σ's and the basis mean's uncertainty."""
    gap = mean - threshold
    if variance <= 0.0:
        # Fully determined (the window is over): no uncertainty left.
        hit = gap >= 0.0 if above else gap < 0.0
        return FairValue.of(1.0 if hit else 0.0, 0.0)
    sd = math.sqrt(variance)
    z = gap / sd
    p_above = normal_cdf(z)
    density = normal_pdf(z)
    # dP/dσ = −φ(z)·z·σ·time_factor/Var ; dP/dm = φ(z)/sd
    d_sigma = density * z * sigma * time_factor / variance
    d_mean = density / sd
    spread = math.hypot(d_sigma * vol.stdev, d_mean * mean_loading * basis.mean_stdev)
    return FairValue.of(p_above if above else 1.0 - p_above, spread)


def spot_digital(
    spot: float,
    strike: float,
    vol: Volatility,
    seconds: float,
    *,
    comparison: Comparison = Comparison.GE,
    tick: float = 0.0,
    basis: Basis = NO_BASIS,
    staleness_seconds: float = 0.0,
) -> FairValue:
    """A contract settling on one print of the index ``seconds`` from now."""
    _positive("spot", spot)
    _positive("strike", strike)
    _non_negative("seconds", seconds)
    _non_negative("tick", tick)
    _non_negative("staleness_seconds", staleness_seconds)
    sigma = vol.per_second
    time_factor = seconds + staleness_seconds
    threshold, above = _threshold(strike, comparison, tick)
    return gaussian_probability(
        math.log(spot) + basis.mean,
        threshold,
        sigma * sigma * time_factor + basis.variance,
        above=above,
        sigma=sigma,
        time_factor=time_factor,
        vol=vol,
        mean_loading=1.0,
        basis=basis,
    )


def average_digital(
    spot: float,
    strike: float,
    vol: Volatility,
    seconds: float,
    window: float,
    *,
    observed_average: float | None = None,
    comparison: Comparison = Comparison.GE,
    tick: float = 0.0,
    basis: Basis = NO_BASIS,
    staleness_seconds: float = 0.0,
) -> FairValue:
    """A contract settling on the mean of the index over the ``window`` seconds ending
    ``seconds`` from now. Inside the window (seconds < window) the average of the part already
    observed (window − seconds long) is required."""
    _positive("spot", spot)
    _positive("strike", strike)
    _positive("window", window)
    _non_negative("seconds", seconds)
    _non_negative("tick", tick)
    _non_negative("staleness_seconds", staleness_seconds)
    sigma = vol.per_second
    threshold, above = _threshold(strike, comparison, tick)
    level = math.log(spot) + basis.mean
    if seconds >= window:
        if observed_average is not None:
            raise InvalidModelInput(
                f"the averaging window has not started ({seconds:g} s to settlement ≥ window "
                f"{window:g} s), so there is no observed average"
            )
        loading = 1.0
        mean = level
        time_factor = seconds - 2.0 * window / 3.0 + staleness_seconds
    else:
        if observed_average is None:
            raise InvalidModelInput(
                f"inside the averaging window ({seconds:g} s of {window:g} s left) the average "
                "of the observed part is required"
            )
        _positive("observed average", observed_average)
        loading = seconds / window
        observed = window - seconds
        mean = (observed * math.log(observed_average) + seconds * level) / window
        time_factor = seconds**3 / (3.0 * window * window) + staleness_seconds * loading * loading
    return gaussian_probability(
        mean,
        threshold,
        sigma * sigma * time_factor + basis.variance * loading * loading,
        above=above,
        sigma=sigma,
        time_factor=time_factor,
        vol=vol,
        mean_loading=loading,
        basis=basis,
    )


def up_down_spot(
    spot: float,
    vol: Volatility,
    seconds_to_end: float,
    window_length: float,
    *,
    open_value: float | None = None,
    tick: float = 0.0,
    basis: Basis = NO_BASIS,
    staleness_seconds: float = 0.0,
) -> FairValue:
    """P(Up): the print at the window's end is at least the print at its start (ties go Up).

    Before the window opens the two prints are both in the future: P = P(D ≥ −tick/2), a
    hair above ½. Once it has opened, the opening value is the strike.
    """
    _positive("spot", spot)
    _positive("window length", window_length)
    _non_negative("seconds to end", seconds_to_end)
    if seconds_to_end >= window_length:
        if open_value is not None:
            raise InvalidModelInput("the window has not opened, so it has no opening value")
        sigma = vol.per_second
        variance = sigma * sigma * window_length
        # Up iff the end print is at least the start print, after both are rounded to ticks.
        return gaussian_probability(
            0.0,
            -0.5 * tick / spot,
            variance,
            above=True,
            sigma=sigma,
            time_factor=window_length,
            vol=vol,
            mean_loading=0.0,
            basis=basis,
        )
    if open_value is None:
        raise InvalidModelInput("the window is open: its opening value is required")
    return spot_digital(
        spot,
        open_value,
        vol,
        seconds_to_end,
        comparison=Comparison.GE,
        tick=tick,
        basis=basis,
        staleness_seconds=staleness_seconds,
    )


def average_up_down(
    spot: float,
    vol: Volatility,
    seconds_to_end: float,
    window_length: float,
    averaging: float,
    *,
    start_average: float | None = None,
    observed_start_average: float | None = None,
    observed_end_average: float | None = None,
    tick: float = 0.0,
    basis: Basis = NO_BASIS,
    staleness_seconds: float = 0.0,
) -> FairValue:
    """P(Up) when both ends are ``averaging``-second averages (ties Up): the average ending at
    the window's end against the one ending at its start, ``window_length`` seconds apart.

    * opening average not started (t ≤ t0 − w): E = 0, Var = σ²(L − w/3) → ½;
    * opening average running (u1 = t0 − t in (0, w)), its observed part averaging A1:
      E = (1 − u1/w)(X − ln A1), Var = σ²[a + w/3 + (u1³/3 − w·u1²)/w²], a = T − w − t;
    * opening average complete (``start_average`` known): :func:`average_digital` against it.
    """
    _positive("spot", spot)
    _positive("window length", window_length)
    _positive("averaging window", averaging)
    _non_negative("seconds to end", seconds_to_end)
    if averaging > window_length:
        raise InvalidModelInput(
            f"averaging window {averaging:g} s is longer than the window {window_length:g} s"
        )
    sigma = vol.per_second
    w = averaging
    u1 = seconds_to_end - window_length  # seconds until the opening average is complete
    if u1 <= 0.0:
        if start_average is None:
            raise InvalidModelInput("the opening average is complete: its value is required")
        return average_digital(
            spot,
            start_average,
            vol,
            seconds_to_end,
            w,
            observed_average=observed_end_average,
            comparison=Comparison.GE,
            tick=tick,
            basis=basis,
            staleness_seconds=staleness_seconds,
        )
    if start_average is not None:
        raise InvalidModelInput("the opening average is not complete yet")
    threshold = -0.5 * tick / spot
    a = seconds_to_end - w
    if u1 >= w:
        time_factor = window_length - w / 3.0
        return gaussian_probability(
            0.0,
            threshold,
            sigma * sigma * time_factor,
            above=True,
            sigma=sigma,
            time_factor=time_factor,
            vol=vol,
            mean_loading=0.0,
            basis=basis,
        )
    if observed_start_average is None:
        raise InvalidModelInput(
            "the opening average is running: the average of its observed part is required"
        )
    _positive("observed start average", observed_start_average)
    loading = 1.0 - u1 / w
    mean = loading * (math.log(spot) + basis.mean - math.log(observed_start_average))
    time_factor = a + w / 3.0 + (u1**3 / 3.0 - w * u1 * u1) / (w * w)
    time_factor += staleness_seconds * loading * loading
    return gaussian_probability(
        mean,
        threshold,
        sigma * sigma * time_factor + basis.variance * loading * loading,
        above=True,
        sigma=sigma,
        time_factor=time_factor,
        vol=vol,
        mean_loading=loading,
        basis=basis,
    )
