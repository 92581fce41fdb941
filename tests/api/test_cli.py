"""`pmarb` commands against a served API (real processes, real HTTP, a seeded database)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pmarb.api.main import create_app
from tests.api.fixtures import api_settings
from tests.api.seed import seed
from tests.support import ServedApp, clean_env, free_port

PMARB = str(Path(sys.executable).parent / "pmarb")


@dataclass
class Cli:
    env: dict[str, str]

    async def run(self, *args: str, **env: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            PMARB,
            *args,
            env={**self.env, "COLUMNS": "200", **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, output.decode()


@pytest.fixture
async def cli(
    database_url: str, db: psycopg.AsyncConnection[dict[str, Any]], tmp_path: Path
) -> AsyncIterator[Cli]:
    await seed(db)
    data_dir = tmp_path / "data"
    settings = api_settings(database_url, data_dir)
    async with ServedApp(create_app(settings), lifespan="on") as served:
        yield Cli(
            clean_env(
                PMARB_DATA_DIR=str(data_dir),
                DATABASE_URL=database_url,
                TEMPORAL_ADDRESS="127.0.0.1:1",
                PMARB_API_PORT=str(served.port),
            )
        )


async def test_positions_and_strategies(cli: Cli) -> None:
    code, out = await cli.run("positions")
    assert code == 0, out
    assert "Will BTC close above $100k" in out and "+0.50" in out and "1 at cost" in out
    code, out = await cli.run("positions", "--json")
    assert code == 0 and json.loads(out)["unmarked"] == 1
    code, out = await cli.run("strategies")
    assert code == 0, out
    assert "atomic-arb" in out and "35.0%" in out and "paused" in out


async def test_alerts_ack(cli: Cli, db: psycopg.AsyncConnection[dict[str, Any]]) -> None:
    code, out = await cli.run("alerts", "list")
    assert code == 0 and "Daily loss limit" in out, out
    row = await (await db.execute("select id from alerts where tier = 'critical'")).fetchone()
    assert row is not None
    code, out = await cli.run("alerts", "ack", str(row["id"]))
    assert code == 0 and f"alert {row['id']} acknowledged" in out, out
    await db.rollback()
    acked = await (
        await db.execute(
            "select acknowledged_by, acknowledged_via from alerts where id = %s", (row["id"],)
        )
    ).fetchone()
    assert acked == {"acknowledged_by": "cli", "acknowledged_via": "cli"}
    code, out = await cli.run("alerts", "ack", str(row["id"]))
    assert code == 0 and "already acknowledged by cli" in out
    code, out = await cli.run("alerts", "ack", "987654")
    assert code == 1 and "404" in out and "no alert" in out


async def test_config_show_live_and_set(cli: Cli) -> None:
    code, out = await cli.run("config", "show", "--live")
    assert code == 0, out
    assert json.loads(out)["limits_source"] == "settings"
    code, out = await cli.run("config", "set", "bankrol=5")
    assert code == 2 and "expected NAME=VALUE" in out
    # No risk guardian is running here: the API says so and nothing changes.
    code, out = await cli.run("config", "set", "bankroll=900")
    assert code == 1 and "limits not changed" in out and "503" in out


async def test_halt_goes_through_the_api_and_falls_back_when_it_is_down(
    cli: Cli, db: psycopg.AsyncConnection[dict[str, Any]]
) -> None:
    code, out = await cli.run("halt", "--reason", "cli via api")
    assert code == 0, out
    assert "HALTED" in out and "through the API" in out
    state = await (
        await db.execute("select halted, halted_by, halt_reason from risk_state")
    ).fetchone()
    assert state == {"halted": True, "halted_by": "cli", "halt_reason": "cli via api"}
    await db.rollback()
    code, out = await cli.run("resume", "--reason", "ok")
    assert code == 0 and "trading" in out, out

    # The API is down (nothing listens on this port): the kill switch still works, and says so.
    code, out = await cli.run("halt", "--reason", "api is down", PMARB_API_PORT=str(free_port()))
    assert code == 0, out
    assert "API not used" in out and "acting directly" in out and "HALTED" in out
    await db.rollback()
    state = await (await db.execute("select halted, halt_reason from risk_state")).fetchone()
    assert state == {"halted": True, "halt_reason": "api is down"}
    # A wrong token is no reason to leave trading running either.
    await db.rollback()
    code, out = await cli.run("resume", "--reason", "x", PMARB_API_TOKEN="wrong")
    assert code == 0 and "refused the token" in out, out


async def test_matches_review_goes_through_the_api(
    cli: Cli, db: psycopg.AsyncConnection[dict[str, Any]]
) -> None:
    code, out = await cli.run("matches", "review", "list")
    assert code == 0, out
    assert "kalshi:KXBTC-100K" in out and "Bitcoin above 100,000" in out, "titles come from the API"
    row = await (await db.execute("select id from market_matches")).fetchone()
    assert row is not None
    code, out = await cli.run("matches", "review", "confirm", str(row["id"]), "--by", "ana")
    assert code == 0 and "review confirmed" in out and "reviewed by ana" in out, out
    code, out = await cli.run("matches", "review", "reject", str(row["id"]))
    assert code == 1 and "409" in out and "not awaiting review" in out
    await db.rollback()
    # With the API down the matcher's own command (straight to the database) answers.
    code, out = await cli.run("matches", "review", "list", PMARB_API_PORT=str(free_port()))
    assert code == 0 and "API not used" in out and "nothing awaits review" in out, out
