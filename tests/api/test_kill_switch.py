"""POST /api/halt and /api/resume over real HTTP, with a real guardian, Temporal and database."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from pmarb.config import Settings
from pmarb.domain.risk import RiskLimits
from pmarb.store.db import open_pool
from pmarb.workers.registry import WORKFLOWS, activities
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.risk_guardian import WORKFLOW_ID, GuardianInput, RiskGuardianWorkflow
from tests.support import ServedApp


@pytest.fixture
def settings(database_url: str, temporal_env: WorkflowEnvironment, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
    )


async def test_mutating_routes_need_the_token(settings: Settings) -> None:
    async with (
        ServedApp(create_app(settings), lifespan="on") as served,
        httpx.AsyncClient(base_url=served.url) as http,
    ):
        for path in ("/api/halt", "/api/resume"):
            assert (await http.post(path)).status_code == 401
            wrong = await http.post(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        assert (await http.get("/healthz")).status_code == 200
    assert oct(token_path(settings.data_dir).stat().st_mode & 0o777) == "0o600"


async def test_halt_sets_the_flag_and_the_guardian_confirms(
    settings: Settings, temporal_client: Client, database_url: str
) -> None:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    pool = await open_pool(database_url, max_size=3)
    guardian_id = WORKFLOW_ID
    try:
        async with Worker(
            temporal_client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            activities=activities(pool, temporal_client, settings),
            workflow_runner=workflow_runner(),
        ):
            await temporal_client.start_workflow(
                RiskGuardianWorkflow.run,
                GuardianInput(limits=RiskLimits()),
                id=guardian_id,
                task_queue=queue,
            )
            async with ServedApp(create_app(settings), lifespan="on") as served:
                token = token_path(settings.data_dir).read_text()
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(base_url=served.url, headers=headers) as http:
                    halted = await http.post("/api/halt", json={"reason": "test halt"})
                    assert halted.status_code == 200, halted.text
                    body: dict[str, Any] = halted.json()
                    assert body["halted"] and body["guardian_confirmed"], body
                    async with pool.connection() as conn:
                        row = await (
                            await conn.execute("select halted, halted_by from risk_state")
                        ).fetchone()
                    assert row == {"halted": True, "halted_by": "api"}
                    view = await temporal_client.get_workflow_handle(guardian_id).query(
                        RiskGuardianWorkflow.state
                    )
                    assert view.halted
                    resumed = (await http.post("/api/resume", json={"reason": "ok"})).json()
                    assert not resumed["halted"] and resumed["guardian_confirmed"]
                    bad = await http.post("/api/halt", json={"reason": ""})
                    assert bad.status_code == 422
            await temporal_client.get_workflow_handle(guardian_id).terminate()
    finally:
        await pool.close()
