"""CI's chaos run: ``pmarb chaos`` as an operator runs it, small enough for every build.

Thirty lifecycles on the simulator while the trading worker is SIGKILLed five times at aimed
points, Temporal is restarted once and PostgreSQL is down for a few seconds once. The command's
last line is its verdict; every counter must be clean.
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests.support import clean_env

pytestmark = pytest.mark.slow

LIFECYCLES = 30
KILLS = 5


async def test_ci_chaos_run_loses_nothing_and_trades_nothing_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pmarb",
        "chaos",
        "--lifecycles",
        str(LIFECYCLES),
        "--kills",
        str(KILLS),
        "--postgres-outage",
        "5",
        "--seed",
        "1",
        env=clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    lines = output.decode().strip().splitlines()
    with capsys.disabled():  # CI shows the figures whether the run passes or not
        sys.stdout.write("\n" + "\n".join(line for line in lines if line.startswith("·")) + "\n")
        sys.stdout.write(lines[-1] + "\n")
    verdict = json.loads(lines[-1])
    assert verdict == {
        "lifecycles": LIFECYCLES,
        "kills": KILLS,
        "terminal": LIFECYCLES,
        "duplicates": 0,
        "mismatches": 0,
        "naked_legs": 0,
        "lost": 0,
    }, "\n".join(lines[-40:])
    assert process.returncode == 0
