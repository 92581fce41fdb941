"""``pmarb demo --venue-faults P --duration S``: a demo under random venue faults judges itself."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys

import pytest

from pmarb.infra.fault_run import TimedTrade, silence_windows, trades_on_stale_books
from tests.support import clean_env, free_port, public_tempdir

T0 = 1_800_000_000.0


def silence(target: str | None, at: float, seconds: float) -> dict[str, object]:
    return {
        "kind": "silence",
        "target": target,
        "detail": f"{seconds}s",
        "wall": at,
        "seconds": seconds,
    }


def test_a_fill_on_a_feed_silent_past_the_stale_limit_is_a_stale_trade() -> None:
    windows = silence_windows(
        [
            silence("polymarket", T0, 15.0),
            {"kind": "disconnect", "target": "kalshi", "detail": "1 connections", "wall": T0},
            silence("binance_ws", T0 + 100, 15.0),
        ]
    )
    trades = [
        TimedTrade("polymarket", T0 + 3, "early: the book is still fresh enough"),
        TimedTrade("polymarket", T0 + 9, "late: silent for 9 s"),
        TimedTrade("kalshi", T0 + 9, "another venue"),
        TimedTrade("polymarket", T0 + 16, "after the silence"),
        TimedTrade("binance", T0 + 110, "oracle trade on a silent exchange feed"),
    ]
    stale = trades_on_stale_books(windows, trades, stale_after=5.0)
    assert [t.label for t in stale] == [
        "late: silent for 9 s",
        "oracle trade on a silent exchange feed",
    ]


def test_a_silence_of_every_feed_covers_every_family() -> None:
    windows = silence_windows([silence(None, T0, 5.0)])
    assert sorted(w.family for w in windows) == ["binance", "kalshi", "polymarket"]


def test_clearing_the_faults_ends_the_running_silences() -> None:
    windows = silence_windows(
        [
            silence("kalshi", T0, 15.0),
            {"kind": "clear", "target": None, "detail": "", "wall": T0 + 8},
            silence("kalshi", T0 + 20, 5.0),
        ]
    )
    assert [(w.start - T0, w.end - T0) for w in windows] == [(0, 8), (20, 25)]
    after_clear = TimedTrade("kalshi", T0 + 10, "traded after the venue healed")
    assert trades_on_stale_books(windows, [after_clear], stale_after=1.0) == []


def free_port_run(length: int) -> int:
    """The first of ``length`` consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        probes = []
        try:
            for port in range(base, base + length):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise AssertionError("no run of free ports")


@pytest.mark.slow
def test_demo_under_random_venue_faults_never_crashes_nor_trades_stale_and_recovers() -> None:
    data_dir = public_tempdir("pmarb-faults-") / "data"
    env = clean_env(
        PMARB_DATA_DIR=str(data_dir),
        PMARB_POSTGRES_PORT=str(free_port()),
        PMARB_TEMPORAL_PORT=str(free_port()),
        PMARB_TEMPORAL_UI_PORT=str(free_port()),
        PMARB_API_PORT=str(free_port()),
        PMARB_SIM_PORT_BASE=str(free_port_run(7)),
    )
    result = subprocess.run(
        [sys.executable, "-m", "pmarb", "demo", "--venue-faults", "0.12", "--duration", "45s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr
    figures = json.loads(lines[-1])
    print(json.dumps(figures))
    assert result.returncode == 0, result.stdout + result.stderr
    assert figures["faults"] >= 5, figures
    assert figures["crashes"] == 0
    assert figures["stale_trades"] == 0
    assert figures["feeds_recovered"] is True and figures["feeds"] >= 3
