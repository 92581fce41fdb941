"""Config updates and HALT_ALL through the API against the real guardian, worker and channels."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.alerts.settings import AlertSettings
from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from pmarb.domain.risk import RiskLimits
from pmarb.store.alert_records import list_alerts
from pmarb.store.db import open_pool
from pmarb.workers.registry import WORKFLOWS, activities
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.alerts import AlertProgress
from pmarb.workflows.risk_guardian import WORKFLOW_ID, GuardianInput, RiskGuardianWorkflow
from tests.alerts.receiver import Receiver, channel_urls
from tests.api.fixtures import api_settings
from tests.support import ServedApp, eventually


@dataclass
class System:
    http: httpx.AsyncClient
    pool: AsyncConnectionPool[Any]
    receiver: Receiver
    client: Client


@pytest.fixture
async def system(
    database_url: str, temporal_env: WorkflowEnvironment, temporal_client: Client, tmp_path: Path
) -> AsyncIterator[System]:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    receiver = Receiver()
    pool = await open_pool(database_url, max_size=4)
    try:
        async with ServedApp(receiver.app) as channel:
            settings = api_settings(
                database_url,
                tmp_path / "data",
                temporal_address=temporal_env.client.service_client.config.target_host,
                task_queue=queue,
                alerts=AlertSettings(**channel_urls(channel.port)),
            )
            async with Worker(
                temporal_client,
                task_queue=queue,
                workflows=list(WORKFLOWS),
                activities=activities(pool, temporal_client, settings),
                workflow_runner=workflow_runner(),
            ):
                guardian = await temporal_client.start_workflow(
                    RiskGuardianWorkflow.run,
                    GuardianInput(limits=RiskLimits()),
                    id=WORKFLOW_ID,
                    task_queue=queue,
                )
                try:
                    async with ServedApp(create_app(settings), lifespan="on") as served:
                        token = token_path(settings.data_dir).read_text()
                        async with httpx.AsyncClient(
                            base_url=served.url,
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=30,
                        ) as http:
                            yield System(http, pool, receiver, temporal_client)
                finally:
                    await guardian.terminate()
    finally:
        await pool.close()


async def test_limits_go_through_the_guardian_and_its_refusal_is_a_400(system: System) -> None:
    http = system.http
    config = (await http.get("/api/config")).json()
    assert config["limits_source"] == "guardian"
    wanted = {**config["limits"], "bankroll": "1000", "max_deployed_pct": "0.6"}
    applied = await http.put("/api/config/risk", json=wanted)
    assert applied.status_code == 200, applied.text
    assert D(applied.json()["limits"]["bankroll"]) == D("1000")
    async with system.pool.connection() as conn:
        stored = await (await conn.execute("select limits from risk_state")).fetchone()
    assert stored is not None and D(stored["limits"]["bankroll"]) == D("1000")

    refused = await http.put(
        "/api/config/risk",
        json={**wanted, "per_market_limit_pct": "0.5", "per_venue_limit_pct": "0.2"},
    )
    assert refused.status_code == 400
    assert "per-market limit cannot exceed the per-venue limit" in refused.json()["detail"]
    risk = (await http.get("/api/risk")).json()
    assert D(risk["limits"]["bankroll"]) == D("1000"), "the refused limits changed nothing"


async def test_halt_all_raises_an_emergency_that_repeats_until_acknowledged(
    system: System,
) -> None:
    http = system.http
    halted = await http.post("/api/halt", json={"reason": "operator saw a runaway leg"})
    assert halted.status_code == 200 and halted.json()["guardian_confirmed"]

    async def emergencies() -> list[Any]:
        async with system.pool.connection() as conn:
            rows, _ = await list_alerts(conn, tier="emergency")
        return rows

    alerts = await eventually(emergencies, lambda rows: len(rows) == 1 and bool(rows[0].deliveries))
    alert = alerts[0]
    assert alert.title == "HALT_ALL: trading halted"
    assert "operator saw a runaway leg" in alert.body
    await eventually(
        lambda: _count(system.receiver), lambda n: n >= 3, timeout=20
    )  # push, SMS and e-mail
    assert {name for name, _ in system.receiver.messages} == {"push", "sms", "email"}
    assert "[pmarb EMERGENCY] HALT_ALL" in system.receiver.titles("push")[0]

    listed = (await http.get("/api/alerts", params={"open": "true", "tier": "emergency"})).json()
    assert listed["items"][0]["temporal_url"].endswith(alert.workflow_id or "?")
    acked = (await http.post(f"/api/alerts/{alert.id}/ack")).json()
    assert acked["newly_acknowledged"] and acked["workflow_notified"]
    assert alert.workflow_id is not None
    handle = system.client.get_workflow_handle(alert.workflow_id, result_type=AlertProgress)
    progress: AlertProgress = await handle.result()
    assert progress.acknowledged and progress.rounds == 1
    metrics = (await http.get("/metrics")).text
    assert "pmarb_halted 1.0" in metrics and 'pmarb_alerts_open{tier="emergency"} 0.0' in metrics


async def _count(receiver: Receiver) -> int:
    return len(receiver.messages)
