"""``pmarb fair-value``: check the crypto fair-value models by hand."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated

import typer

from pmarb.oracles.fair_value.models import (
    Comparison,
    FairValue,
    InvalidModelInput,
    Volatility,
    average_digital,
    spot_digital,
)

# Realised volatility from ~50 returns is known to about ±10 %; used when --vol-stdev is unset.
DEFAULT_RELATIVE_VOL_UNCERTAINTY = 0.10


def fair_value(
    spot: Annotated[float, typer.Option(help="Current price of the settlement index.")],
    strike: Annotated[float, typer.Option(help="Strike K.")],
    vol: Annotated[float, typer.Option(help="Annualised volatility, e.g. 0.5 for 50 %.")],
    seconds: Annotated[float, typer.Option(help="Seconds until settlement.")],
    window: Annotated[
        float | None,
        typer.Option(help="Averaging window W in seconds (e.g. 60 for Kalshi's BRTI mean)."),
    ] = None,
    observed_seconds: Annotated[
        float | None,
        typer.Option(help="Seconds of the window already observed (must equal W − seconds)."),
    ] = None,
    observed_average: Annotated[
        float | None, typer.Option(help="Average of the index over the observed part.")
    ] = None,
    vol_stdev: Annotated[
        float | None,
        typer.Option(help="Uncertainty of --vol (annualised); default 10 % of --vol."),
    ] = None,
    strictly_above: Annotated[
        bool, typer.Option("--strictly-above", help="YES iff settle > K (default: ≥ K).")
    ] = False,
    tick: Annotated[float, typer.Option(help="Price tick the settlement is quoted in.")] = 0.0,
) -> None:
    """Print P(settle ≥ K) and its stdev as JSON, for a spot or W-second averaged settlement."""
    try:
        result = evaluate(
            spot=spot,
            strike=strike,
            vol=vol,
            seconds=seconds,
            window=window,
            observed_seconds=observed_seconds,
            observed_average=observed_average,
            vol_stdev=vol_stdev,
            comparison=Comparison.GT if strictly_above else Comparison.GE,
            tick=tick,
        )
    except InvalidModelInput as e:
        sys.stderr.write(f"pmarb fair-value: {e}\n")
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result.as_json()) + "\n")


def evaluate(
    *,
    spot: float,
    strike: float,
    vol: float,
    seconds: float,
    window: float | None = None,
    observed_seconds: float | None = None,
    observed_average: float | None = None,
    vol_stdev: float | None = None,
    comparison: Comparison = Comparison.GE,
    tick: float = 0.0,
) -> FairValue:
    if not (math.isfinite(vol) and vol >= 0):
        raise InvalidModelInput(f"--vol must be ≥ 0 (annualised), got {vol}")
    if vol_stdev is not None and not (math.isfinite(vol_stdev) and vol_stdev >= 0):
        raise InvalidModelInput(f"--vol-stdev must be ≥ 0, got {vol_stdev}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InvalidModelInput(f"--seconds must be ≥ 0, got {seconds}")
    uncertainty = vol * DEFAULT_RELATIVE_VOL_UNCERTAINTY if vol_stdev is None else vol_stdev
    volatility = Volatility.annualised(vol, uncertainty)
    if window is None:
        if observed_seconds is not None or observed_average is not None:
            raise InvalidModelInput("--observed-seconds/--observed-average need --window")
        return spot_digital(spot, strike, volatility, seconds, comparison=comparison, tick=tick)
    if not (math.isfinite(window) and window > 0):
        raise InvalidModelInput(f"--window must be > 0 seconds, got {window}")
    observed_part = max(0.0, window - seconds)
    if observed_seconds is not None:
        if observed_seconds < 0:
            raise InvalidModelInput(f"--observed-seconds must be ≥ 0, got {observed_seconds}")
        if observed_seconds > window:
            raise InvalidModelInput(
                f"--observed-seconds {observed_seconds:g} is longer than the window {window:g}"
            )
        if not math.isclose(observed_seconds, observed_part, abs_tol=1e-9):
            raise InvalidModelInput(
                f"--observed-seconds {observed_seconds:g} + --seconds {seconds:g} must equal "
                f"--window {window:g} inside the window (or be 0 before it starts)"
            )
    if observed_part == 0 and observed_average is not None:
        raise InvalidModelInput(
            f"{seconds:g} s before settlement the {window:g} s window has not started: "
            "there is no observed average"
        )
    if observed_part > 0 and observed_average is None:
        raise InvalidModelInput(
            f"{seconds:g} s before settlement the {window:g} s window is already "
            f"{observed_part:g} s in: --observed-average is required"
        )
    return average_digital(
        spot,
        strike,
        volatility,
        seconds,
        window,
        observed_average=observed_average if observed_part > 0 else None,
        comparison=comparison,
        tick=tick,
    )
