"""The control-plane round trip on the real dev server and a real database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from pmarb.activities.system import SystemActivities
from pmarb.store.db import open_pool
from pmarb.store.risk_state import set_halted
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.system_check import SystemCheckInput, SystemCheckWorkflow


async def test_system_check_reaches_the_database_through_a_worker(
    temporal_client: Client,
    task_queue: str,
    database_url: str,
    db: psycopg.AsyncConnection[dict[str, Any]],
) -> None:
    await set_halted(db, halted=True, reason="test", actor="test")
    await db.commit()
    pool = await open_pool(database_url, max_size=2)
    try:
        async with Worker(
            temporal_client,
            task_queue=task_queue,
            workflows=[SystemCheckWorkflow],
            activities=[SystemActivities(pool).check_database],
            workflow_runner=workflow_runner(),
        ):
            result = await temporal_client.execute_workflow(
                SystemCheckWorkflow.run,
                SystemCheckInput(requested_by="test"),
                id=f"check-{uuid.uuid4().hex}",
                task_queue=task_queue,
                execution_timeout=timedelta(seconds=20),
            )
    finally:
        await pool.close()
    assert result.database_ok and result.migrations_current
    assert result.halted is True


@dataclass(frozen=True)
class PriceEcho:
    price: Decimal
    size: Decimal


@workflow.defn(sandboxed=False)
class EchoWorkflow:
    @workflow.run
    async def run(self, value: PriceEcho) -> PriceEcho:
        return PriceEcho(price=value.price + Decimal("0.0001"), size=value.size)


async def test_decimal_money_round_trips_exactly_through_temporal(
    temporal_client: Client, task_queue: str
) -> None:
    async with Worker(temporal_client, task_queue=task_queue, workflows=[EchoWorkflow]):
        result = await temporal_client.execute_workflow(
            EchoWorkflow.run,
            PriceEcho(price=Decimal("0.1234"), size=Decimal("10.01")),
            id=f"echo-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert result == PriceEcho(price=Decimal("0.1235"), size=Decimal("10.01"))
    assert isinstance(result.price, Decimal)
