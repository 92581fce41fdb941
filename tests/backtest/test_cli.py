"""``pmarb backtest`` end to end: a recording on disk in, the JSON and HTML reports out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pmarb.backtest.synthetic import ScenarioSettings, scenario
from pmarb.cli import app
from tests.backtest.support import write_recording


def test_backtest_writes_identical_reports_for_the_same_seed(tmp_path: Path) -> None:
    recording = write_recording(scenario(ScenarioSettings(hours=1.5, seed=4)), tmp_path / "rec")
    runner = CliRunner()
    outputs = []
    for n in range(2):
        report, page = tmp_path / f"report{n}.json", tmp_path / f"report{n}.html"
        done = runner.invoke(
            app,
            [
                "backtest",
                str(recording),
                "--seed",
                "5",
                "--bankroll",
                "5000",
                "--json",
                str(report),
                "--html",
                str(page),
                "--no-progress",
            ],
        )
        assert done.exit_code == 0, done.output
        outputs.append(report.read_text())
        assert "<svg" in page.read_text()
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0])
    assert summary["run"]["synthetic"] is True and summary["run"]["seed"] == 5
    assert summary["portfolio"]["bankroll"] == "5000.00"
    assert summary["portfolio"]["opportunities"] > 0


def test_a_bad_risk_profile_is_refused_with_the_field(tmp_path: Path) -> None:
    profile = tmp_path / "risk.toml"
    profile.write_text('[risk]\nper_market_limit_pct = "2"\n')
    done = CliRunner().invoke(app, ["backtest", "--synthetic", "1", "--risk", str(profile)])
    assert done.exit_code == 2
    assert "per_market_limit_pct" in done.output
