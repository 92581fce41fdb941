"""Every recorded oracle payload is exercised by some test in this folder."""

from __future__ import annotations

from pathlib import Path

from tests.oracles.support import ORACLES, message_fixtures


def test_every_oracle_fixture_is_named_by_a_test() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    folders = sorted(p.name for p in ORACLES.iterdir() if p.is_dir())
    assert "nws" in folders and "binance" in folders
    missing = [
        f"{folder}/{name}"
        for folder in folders
        for name in message_fixtures(folder)
        if name not in sources
    ]
    assert not missing, f"fixtures no test reads: {missing}"
