"""Configuration: defaults, sources, and errors that name the field."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pmarb.config import ConfigError, load_settings
from tests.support import clean_env


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "PMARB_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_seed_risk_profile_on_paper() -> None:
    settings = load_settings()
    assert settings.paper is True
    assert settings.risk.bankroll == Decimal("500")
    assert settings.risk.ratchet_stop_pct == Decimal("0.20")
    assert settings.risk.daily_loss_limit_pct == Decimal("0.10")
    assert settings.risk.per_market_limit_pct == Decimal("0.10")
    assert settings.risk.per_venue_limit_pct == Decimal("0.50")


def test_environment_overrides_including_nested_risk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMARB_RISK__BANKROLL", "1200.50")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@db:5432/pmarb")
    monkeypatch.setenv("PMARB_DATA_DIR", "/srv/pmarb")
    settings = load_settings()
    assert settings.risk.bankroll == Decimal("1200.50")
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value().endswith("/pmarb")
    assert "pw" not in repr(settings)
    assert settings.data_dir == Path("/srv/pmarb")


def test_toml_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pmarb.toml").write_text('api_port = 9001\n[risk]\nbankroll = "700"\n')
    monkeypatch.setenv("PMARB_API_PORT", "9002")
    settings = load_settings()
    assert settings.risk.bankroll == Decimal("700")
    assert settings.api_port == 9002


@pytest.mark.parametrize(
    ("env", "field", "allowed"),
    [
        ({"PMARB_RISK__BANKROLL": "-5"}, "risk.bankroll", "> 0"),
        ({"PMARB_LOG_LEVEL": "loud"}, "log_level", "debug, info, warning, error"),
        ({"PMARB_PAPER": "maybe"}, "paper", "true, false"),
        ({"PMARB_RISK__RATCHET_STOP_PCT": "1.2"}, "risk.ratchet_stop_pct", "> 0 and < 1"),
        ({"PMARB_API_PORT": "70000"}, "api_port", "<= 65535"),
    ],
)
def test_invalid_values_name_the_field_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str, allowed: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert field in message
    assert allowed in message
    assert next(iter(env)) in message


def test_unknown_key_in_toml_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "pmarb.toml").write_text("bankrol = 5\n")
    with pytest.raises(ConfigError, match="bankrol"):
        load_settings()


def test_missing_explicit_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PMARB_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="PMARB_CONFIG"):
        load_settings()


def test_bad_config_fails_start_up_naming_the_field(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pmarb", "up"],
        env=clean_env(PMARB_DATA_DIR=str(tmp_path / "data"), PMARB_RISK__BANKROLL="lots"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "risk.bankroll" in result.stderr
    assert "PMARB_RISK__BANKROLL" in result.stderr
    assert not (tmp_path / "data").exists(), "nothing may start with a bad config"
