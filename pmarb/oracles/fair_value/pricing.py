"""Price a crypto settlement spec from live inputs: picks the model the spec calls for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from pmarb.oracles.fair_value.models import (
    NO_BASIS,
    Basis,
    Comparison,
    FairValue,
    InvalidModelInput,
    Volatility,
    average_digital,
    average_up_down,
    spot_digital,
    up_down_spot,
)
from pmarb.oracles.fair_value.settlement import CryptoSettlement, Reference


@dataclass(frozen=True, slots=True)
class CryptoInputs:
    """What the scanner knows now. ``spot`` is our feed's latest value (the basis maps it to the
    settlement index); ``open_value`` is the window's opening print, or for averaged up/down
    the completed opening average (Kalshi publishes it as ``floor_strike``)."""

    now: datetime
    spot: float
    vol: Volatility
    basis: Basis = NO_BASIS
    staleness_seconds: float = 0.0
    open_value: float | None = None
    observed_start_average: float | None = None
    observed_end_average: float | None = None


def price_crypto(spec: CryptoSettlement, inputs: CryptoInputs) -> FairValue:
    if spec.settles_at is None:
        raise InvalidModelInput("the settlement time is unknown")
    seconds = max(0.0, (spec.settles_at - inputs.now).total_seconds())
    tick = float(spec.tick)
    averaging = float(spec.averaging_seconds)
    if spec.reference is Reference.STRIKE:
        if spec.strike is None:
            raise InvalidModelInput("a fixed-strike settlement without its strike")

        def digital(strike: float, comparison: Comparison) -> FairValue:
            if averaging > 0:
                observed = inputs.observed_end_average if seconds < averaging else None
                return average_digital(
                    inputs.spot,
                    strike,
                    inputs.vol,
                    seconds,
                    averaging,
                    observed_average=observed,
                    comparison=comparison,
                    tick=tick,
                    basis=inputs.basis,
                    staleness_seconds=inputs.staleness_seconds,
                )
            return spot_digital(
                inputs.spot,
                strike,
                inputs.vol,
                seconds,
                comparison=comparison,
                tick=tick,
                basis=inputs.basis,
                staleness_seconds=inputs.staleness_seconds,
            )

        if spec.cap is None:
            return digital(float(spec.strike), spec.comparison)
        at_least_low = digital(float(spec.strike), Comparison.GE)
        above_cap = digital(float(spec.cap), Comparison.GT)
        return FairValue.of(
            float(at_least_low.probability - above_cap.probability),
            math.hypot(float(at_least_low.stdev), float(above_cap.stdev)),
        )
    window = spec.window_seconds
    if window is None:
        raise InvalidModelInput("an up/down settlement without its window")
    if averaging == 0:
        started = seconds < window
        return up_down_spot(
            inputs.spot,
            inputs.vol,
            seconds,
            window,
            open_value=inputs.open_value if started else None,
            tick=tick,
            basis=inputs.basis,
            staleness_seconds=inputs.staleness_seconds,
        )
    start_complete = seconds <= window
    return average_up_down(
        inputs.spot,
        inputs.vol,
        seconds,
        window,
        averaging,
        start_average=inputs.open_value if start_complete else None,
        observed_start_average=None if start_complete else inputs.observed_start_average,
        observed_end_average=inputs.observed_end_average if seconds < averaging else None,
        tick=tick,
        basis=inputs.basis,
        staleness_seconds=inputs.staleness_seconds,
    )
