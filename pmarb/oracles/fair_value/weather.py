"""Probability of each whole-degree bracket of a station's daily extreme.

The settlement (NWS CLI, The Weather Company, Wunderground) reports whole °F, i.e. the latent
temperature rounded to the nearest degree, so a reported value k means a latent value in
[k − ½, k + ½) and a bracket of reported values [lo, hi] has probability F(hi + ½) − F(lo − ½),
where F is the forecast error distribution centred on the forecast. Intraday, the daily maximum
can only rise: the latent maximum is at least the running observed maximum M, so the
probability mass below M collects at M.

Strike wording maps onto reported whole degrees: "greater than X" is ≥ ⌊X⌋ + 1, "at least X" is
≥ ⌈X⌉, "less than X" is ≤ ⌈X⌉ − 1, "between A and B" is [A, B] inclusive.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pmarb.oracles.fair_value.models import (
    FairValue,
    InvalidModelInput,
    normal_cdf,
)


class ErrorDistribution(Protocol):
    """Distribution of (settled value − forecast), in °F."""

    def cdf(self, x: float) -> float: ...

    def widened(self, factor: float) -> ErrorDistribution:
        """The same distribution with its spread scaled (for the uncertainty estimate)."""
        ...

    @property
    def spread_stdev(self) -> float:
        """Relative uncertainty of the spread itself (e.g. 1/√(2(n−1)) from n samples)."""
        ...


@dataclass(frozen=True, slots=True)
class NormalError:
    bias: float
    stdev: float
    relative_stdev_uncertainty: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.stdev) and self.stdev > 0):
            raise InvalidModelInput(f"forecast error stdev must be > 0, got {self.stdev}")

    @classmethod
    def calibrate(cls, errors: Sequence[float]) -> NormalError:
        """From past (settled − forecast) errors of the same source, station and lead time."""
        if len(errors) < 3:
            raise InvalidModelInput("calibration needs at least three past forecast errors")
        return cls(
            bias=statistics.fmean(errors),
            stdev=statistics.stdev(errors),
            relative_stdev_uncertainty=1.0 / math.sqrt(2.0 * (len(errors) - 1)),
        )

    def cdf(self, x: float) -> float:
        return normal_cdf((x - self.bias) / self.stdev)

    def widened(self, factor: float) -> NormalError:
        return NormalError(self.bias, self.stdev * factor, self.relative_stdev_uncertainty)

    @property
    def spread_stdev(self) -> float:
        return self.relative_stdev_uncertainty


@dataclass(frozen=True, slots=True)
class EmpiricalError:
    """Past errors smoothed with a Gaussian kernel: keeps skew and fat tails a normal misses."""

    errors: tuple[float, ...]
    bandwidth: float

    @classmethod
    def calibrate(cls, errors: Sequence[float]) -> EmpiricalError:
        if len(errors) < 5:
            raise InvalidModelInput("an empirical error model needs at least five past errors")
        spread = statistics.stdev(errors)
        # Silverman's rule of thumb, floored so identical errors still give a distribution.
        bandwidth = max(1.06 * spread * len(errors) ** -0.2, 0.25)
        return cls(tuple(errors), bandwidth)

    def cdf(self, x: float) -> float:
        h = self.bandwidth
        return sum(normal_cdf((x - e) / h) for e in self.errors) / len(self.errors)

    def widened(self, factor: float) -> EmpiricalError:
        centre = statistics.fmean(self.errors)
        return EmpiricalError(
            tuple(centre + (e - centre) * factor for e in self.errors), self.bandwidth * factor
        )

    @property
    def spread_stdev(self) -> float:
        return 1.0 / math.sqrt(2.0 * (len(self.errors) - 1))


@dataclass(frozen=True, slots=True)
class TemperatureBracket:
    """Reported whole degrees from ``low`` to ``high`` inclusive; None is open-ended."""

    low: int | None
    high: int | None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InvalidModelInput(f"empty bracket [{self.low}, {self.high}]")

    @classmethod
    def greater_than(cls, x: float) -> TemperatureBracket:
        return cls(math.floor(x) + 1, None)

    @classmethod
    def at_least(cls, x: float) -> TemperatureBracket:
        return cls(math.ceil(x), None)

    @classmethod
    def less_than(cls, x: float) -> TemperatureBracket:
        return cls(None, math.ceil(x) - 1)

    @classmethod
    def at_most(cls, x: float) -> TemperatureBracket:
        return cls(None, math.floor(x))

    @classmethod
    def between(cls, low: int, high: int) -> TemperatureBracket:
        return cls(low, high)


def _latent_cdf(
    x: float, forecast: float, error: ErrorDistribution, observed_max: float | None
) -> float:
    if observed_max is not None and x < observed_max:
        return 0.0
    return error.cdf(x - forecast)


def _bracket_probability(
    bracket: TemperatureBracket,
    forecast: float,
    error: ErrorDistribution,
    observed_max: float | None,
) -> float:
    upper = (
        1.0
        if bracket.high is None
        else _latent_cdf(bracket.high + 0.5, forecast, error, observed_max)
    )
    lower = (
        0.0
        if bracket.low is None
        else _latent_cdf(bracket.low - 0.5, forecast, error, observed_max)
    )
    return max(0.0, upper - lower)


def bracket_probability(
    bracket: TemperatureBracket,
    forecast_f: float,
    error: ErrorDistribution,
    *,
    observed_max_f: float | None = None,
) -> FairValue:
    """P(the reported whole-°F value falls in ``bracket``), with the uncertainty coming from
    how well the error spread itself is known."""
    if not math.isfinite(forecast_f):
        raise InvalidModelInput(f"forecast must be a number, got {forecast_f}")
    p = _bracket_probability(bracket, forecast_f, error, observed_max_f)
    relative = error.spread_stdev
    if relative > 0.0:
        step = min(relative, 0.5)
        wider = _bracket_probability(bracket, forecast_f, error.widened(1 + step), observed_max_f)
        narrower = _bracket_probability(
            bracket, forecast_f, error.widened(1 - step), observed_max_f
        )
        stdev = abs(wider - narrower) / 2.0
    else:
        stdev = 0.0
    return FairValue.of(p, stdev)


def ladder(edges: Sequence[int], width: int = 1) -> list[TemperatureBracket]:
    """A complete ladder: ≤ edges[0] − 1, then brackets of ``width`` degrees from edges[0] up to
    edges[-1], then ≥ edges[-1] + 1 — every reported value falls in exactly one bracket."""
    if not edges or width < 1:
        raise InvalidModelInput("a ladder needs edges and a positive width")
    low, top = edges[0], edges[-1]
    brackets = [TemperatureBracket(None, low - 1)]
    start = low
    while start <= top:
        brackets.append(TemperatureBracket(start, min(start + width - 1, top)))
        start += width
    brackets.append(TemperatureBracket(top + 1, None))
    return brackets


def bracket_probabilities(
    brackets: Sequence[TemperatureBracket],
    forecast_f: float,
    error: ErrorDistribution,
    *,
    observed_max_f: float | None = None,
) -> list[FairValue]:
    return [
        bracket_probability(bracket, forecast_f, error, observed_max_f=observed_max_f)
        for bracket in brackets
    ]
