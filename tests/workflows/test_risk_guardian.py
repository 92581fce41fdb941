"""RiskGuardianWorkflow on real Temporal and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.activities.guardian import GuardianActivities
from pmarb.domain.risk import RiskLimits
from pmarb.infra.binaries import temporal_cli
from pmarb.store.db import open_pool
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.risk_guardian import (
    GuardianInput,
    HaltRequest,
    ResumeRequest,
    RiskGuardianWorkflow,
    ValueUpdate,
)
from tests.support import eventually


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool = await open_pool(database_url, max_size=4)
    yield pool
    await pool.close()


def guardian_worker(client: Client, queue: str, pool: AsyncConnectionPool[Any]) -> Worker:
    activities = GuardianActivities(pool, client)
    return Worker(
        client,
        task_queue=queue,
        workflows=[RiskGuardianWorkflow],
        activities=[
            activities.set_halt_flag,
            activities.cancel_in_flight,
            activities.set_pause,
            activities.store_limits,
            activities.raise_alert,
        ],
        workflow_runner=workflow_runner(),
    )


async def start(client: Client, queue: str, max_history: int = 2000) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        RiskGuardianWorkflow.run,
        GuardianInput(limits=RiskLimits(), max_history=max_history),
        id=f"risk-guardian-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )


async def db_halted(pool: AsyncConnectionPool[Any]) -> bool:
    async with pool.connection() as conn:
        row = await (await conn.execute("select halted from risk_state")).fetchone()
    return bool(row["halted"])


async def test_ratchet_500_800_640_halts_and_raises_an_emergency_alert(
    temporal_client: Client, task_queue: str, pool: AsyncConnectionPool[Any]
) -> None:
    async with guardian_worker(temporal_client, task_queue, pool):
        handle = await start(temporal_client, task_queue)
        await handle.signal(RiskGuardianWorkflow.portfolio_value, ValueUpdate(D("800"), "v1"))
        await handle.signal(RiskGuardianWorkflow.portfolio_value, ValueUpdate(D("641"), "v2"))
        view = await handle.query(RiskGuardianWorkflow.state)
        assert not view.halted and view.high_water_mark == D("800") and view.floor == D("640")
        await handle.signal(RiskGuardianWorkflow.portfolio_value, ValueUpdate(D("640"), "v3"))
        await eventually(lambda: db_halted(pool), bool)
        view = await handle.query(RiskGuardianWorkflow.state)
        assert view.halted and "ratchet stop" in (view.halt_reason or "")
        async with pool.connection() as conn:
            alerts = await (await conn.execute("select tier, title from alerts")).fetchall()
        assert {"tier": "emergency", "title": "HALT_ALL: trading halted"} in alerts
        await handle.terminate()


async def test_halt_resume_and_limits_updates_are_validated(
    temporal_client: Client, task_queue: str, pool: AsyncConnectionPool[Any]
) -> None:
    async with guardian_worker(temporal_client, task_queue, pool):
        handle = await start(temporal_client, task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(RiskGuardianWorkflow.resume, ResumeRequest())
        assert "not halted" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(RiskGuardianWorkflow.halt, HaltRequest(reason="  "))
        view = await handle.execute_update(RiskGuardianWorkflow.halt, HaltRequest("test", "me"))
        assert view.halted and await db_halted(pool), "the flag is set before the update returns"
        view = await handle.execute_update(RiskGuardianWorkflow.resume, ResumeRequest())
        assert not view.halted and not await db_halted(pool)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                RiskGuardianWorkflow.set_limits,
                RiskLimits(per_market_limit_pct=D("0.6"), per_venue_limit_pct=D("0.5")),
            )
        assert "per-market" in str(refused.value.cause)
        view = await handle.execute_update(
            RiskGuardianWorkflow.set_limits, RiskLimits(bankroll=D("900"))
        )
        assert view.limits.bankroll == D("900")
        async with pool.connection() as conn:
            row = await (await conn.execute("select limits from risk_state")).fetchone()
        assert row["limits"]["bankroll"] == "900"
        await handle.terminate()


@pytest.mark.parametrize(
    "command",
    [
        ["workflow", "signal", "--name", "HALT_ALL"],
        ["workflow", "update", "execute", "--name", "halt"],
    ],
    ids=["signal", "update"],
)
async def test_temporal_cli_commands_halt_the_system(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    pool: AsyncConnectionPool[Any],
    command: list[str],
) -> None:
    client = temporal_env.client
    async with guardian_worker(client, task_queue, pool):
        handle = await start(client, task_queue)
        address = client.service_client.config.target_host
        result = await asyncio.to_thread(
            subprocess.run,
            [str(temporal_cli()), *command, "--workflow-id", handle.id, "--address", address],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        await eventually(lambda: db_halted(pool), bool)
        assert (await handle.query(RiskGuardianWorkflow.state)).halted
        await handle.terminate()


async def test_state_survives_continue_as_new_without_losing_messages(
    temporal_client: Client, task_queue: str, pool: AsyncConnectionPool[Any]
) -> None:
    async with guardian_worker(temporal_client, task_queue, pool):
        handle = await start(temporal_client, task_queue, max_history=30)
        first_run = (await handle.describe()).run_id
        for n in range(1, 41):
            await handle.signal(
                RiskGuardianWorkflow.portfolio_value, ValueUpdate(D(500 + n), f"u{n}")
            )
            if n % 10 == 0:
                await handle.execute_update(
                    RiskGuardianWorkflow.set_limits, RiskLimits(bankroll=D(1000 + n))
                )
        latest = temporal_client.get_workflow_handle(handle.id)
        view = await latest.query(RiskGuardianWorkflow.state)
        assert view.high_water_mark == D("540") and view.value == D("540")
        assert view.limits.bankroll == D("1040")
        assert (await latest.describe()).run_id != first_run
        await latest.terminate()


async def test_daily_loss_pause_lasts_until_the_next_utc_day(
    time_skipping_env: WorkflowEnvironment, pool: AsyncConnectionPool[Any]
) -> None:
    client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with guardian_worker(client, queue, pool):
        handle = await start(client, queue)
        await handle.signal(RiskGuardianWorkflow.portfolio_value, ValueUpdate(D("500"), "a"))
        await handle.signal(RiskGuardianWorkflow.portfolio_value, ValueUpdate(D("449"), "b"))
        view = await handle.query(RiskGuardianWorkflow.state)
        assert view.paused_until is not None and not view.halted
        paused_until = view.paused_until
        assert paused_until.hour == 0 and paused_until.minute == 0
        now = await time_skipping_env.get_current_time()
        assert timedelta(0) < paused_until - now <= timedelta(days=1, minutes=5)

        async def db_paused() -> datetime | None:
            async with pool.connection() as conn:
                row = await (await conn.execute("select paused_until from risk_state")).fetchone()
            return row["paused_until"]  # type: ignore[no-any-return]

        assert await eventually(db_paused, lambda v: v is not None) == paused_until
        now = await time_skipping_env.get_current_time()
        await time_skipping_env.sleep(paused_until - now - timedelta(minutes=10))
        assert (await handle.query(RiskGuardianWorkflow.state)).paused_until == paused_until
        await time_skipping_env.sleep(timedelta(minutes=20))
        assert await eventually(db_paused, lambda v: v is None) is None
        assert (await handle.query(RiskGuardianWorkflow.state)).paused_until is None
        await handle.terminate()
