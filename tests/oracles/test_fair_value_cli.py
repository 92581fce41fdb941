"""`pmarb fair-value`, as a trader would run it."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from pmarb.cli import app
from pmarb.oracles.fair_value import Volatility, average_digital, spot_digital

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["fair-value", *args])
    return result.exit_code, result.stdout, result.stderr


def test_spot_settled_probability_as_json() -> None:
    code, out, _ = run("--spot", "80100", "--strike", "80000", "--vol", "0.5", "--seconds", "600")
    assert code == 0
    printed = json.loads(out)
    assert set(printed) == {"probability", "stdev"}
    expected = spot_digital(80_100, 80_000, Volatility.annualised(0.5, 0.05), 600)
    assert printed == expected.as_json()
    assert 0.71 < printed["probability"] < 0.73 and printed["stdev"] > 0


def test_at_the_money_is_one_half() -> None:
    code, out, _ = run("--spot", "80000", "--strike", "80000", "--vol", "0.8", "--seconds", "900")
    assert code == 0 and json.loads(out)["probability"] == 0.5


@pytest.mark.parametrize(
    ("extra", "seconds", "observed_average"),
    [
        ([], 120.0, None),
        (["--observed-seconds", "40", "--observed-average", "80030"], 20.0, 80_030.0),
    ],
)
def test_averaging_window_before_and_inside(
    extra: list[str], seconds: float, observed_average: float | None
) -> None:
    args = ["--spot", "80010", "--strike", "80020", "--vol", "0.6", "--seconds", f"{seconds:g}"]
    code, out, _ = run(*args, "--window", "60", *extra)
    assert code == 0, out
    expected = average_digital(
        80_010, 80_020, Volatility.annualised(0.6, 0.06), seconds, 60,
        observed_average=observed_average,
    )  # fmt: skip
    assert json.loads(out) == expected.as_json()


def test_observed_seconds_may_be_left_to_the_window_arithmetic() -> None:
    base = ["--spot", "80010", "--strike", "80020", "--vol", "0.6", "--seconds", "20"]
    implied = run(*base, "--window", "60", "--observed-average", "80030")
    explicit = run(
        *base, "--window", "60", "--observed-seconds", "40", "--observed-average", "80030"
    )
    assert implied[0] == explicit[0] == 0 and implied[1] == explicit[1]


def test_vol_stdev_widens_the_uncertainty() -> None:
    base = ["--spot", "80100", "--strike", "80000", "--vol", "0.5", "--seconds", "600"]
    narrow = json.loads(run(*base, "--vol-stdev", "0.01")[1])
    wide = json.loads(run(*base, "--vol-stdev", "0.2")[1])
    assert narrow["probability"] == wide["probability"]
    assert wide["stdev"] > narrow["stdev"]
    assert math.isclose(wide["stdev"] / narrow["stdev"], 20, rel_tol=0.01)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vol", "-0.5", "--seconds", "60"], "--vol must be ≥ 0"),
        (["--vol", "0.5", "--seconds", "-1"], "--seconds must be ≥ 0"),
        (["--vol", "0.5", "--seconds", "30", "--window", "60", "--observed-seconds", "90",
          "--observed-average", "80000"], "longer than the window"),
        (["--vol", "0.5", "--seconds", "30", "--window", "60", "--observed-seconds", "10",
          "--observed-average", "80000"], "must equal --window"),
        (["--vol", "0.5", "--seconds", "30", "--window", "60"], "--observed-average is required"),
        (["--vol", "0.5", "--seconds", "90", "--window", "60", "--observed-average", "80000"],
         "has not started"),
        (["--vol", "0.5", "--seconds", "30", "--observed-average", "80000"], "need --window"),
        (["--vol", "0.5", "--seconds", "30", "--window", "0"], "--window must be > 0"),
    ],
)  # fmt: skip
def test_invalid_input_is_a_clear_error(args: list[str], message: str) -> None:
    code, out, err = run("--spot", "80000", "--strike", "80000", *args)
    assert code == 2
    assert out == ""
    assert message in err
