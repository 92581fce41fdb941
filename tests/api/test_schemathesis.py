"""Schemathesis against /openapi.json with the token: no 5xx, every answer documented and
matching its schema. The app runs for real (uvicorn, a seeded PostgreSQL, the Temporal dev
server with a worker and the risk guardian), so the fuzzed requests reach every layer."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from pmarb.domain.risk import RiskLimits
from pmarb.store.db import open_pool
from pmarb.workers.registry import WORKFLOWS, activities
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.risk_guardian import WORKFLOW_ID, GuardianInput, RiskGuardianWorkflow
from tests.api.fixtures import api_settings
from tests.api.seed import seed
from tests.support import REPO, ServedApp

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
    )
)


async def test_openapi_contract_holds_under_fuzzing(
    database_url: str,
    db: psycopg.AsyncConnection[dict[str, Any]],
    temporal_env: WorkflowEnvironment,
    temporal_client: Client,
    tmp_path: Path,
) -> None:
    await seed(db)
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    settings = api_settings(
        database_url,
        tmp_path / "data",
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=queue,
    )
    pool = await open_pool(database_url, max_size=4)
    reports = REPO / "test-results" / "schemathesis"
    try:
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
                    process = await asyncio.create_subprocess_exec(
                        str(Path(sys.executable).parent / "schemathesis"),
                        "run",
                        f"{served.url}/openapi.json",
                        "-H",
                        f"Authorization: Bearer {token}",
                        "--checks",
                        CHECKS,
                        "--max-examples",
                        "25",
                        "--seed",
                        "1",
                        "--workers",
                        "1",
                        "--phases",
                        "examples,coverage,fuzzing",
                        "--generation-database",
                        "none",
                        "--request-timeout",
                        "30",
                        "--report",
                        "junit",
                        "--report-dir",
                        str(reports),
                        "--no-color",
                        cwd=tmp_path,  # its .hypothesis/ cache stays out of the tree
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                    output, _ = await process.communicate()
            finally:
                await guardian.terminate()
    finally:
        await pool.close()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", text)
    tested = re.search(r"Tested: (\d+)", text)
    assert selected and tested, text[-2000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 15, "every operation exercised"
    assert "No issues found" in text, text[-2000:]
