"""``pmarb worker``: the Temporal worker for workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from pmarb.config import Settings
from pmarb.infra.runtime import Endpoints
from pmarb.store.db import open_pool
from pmarb.workers.client import connect_client, ensure_search_attributes
from pmarb.workers.entities import ensure_entities
from pmarb.workers.registry import WORKFLOWS, activities

log = logging.getLogger(__name__)

# Deterministic modules the sandbox may share instead of re-importing for every run.
PASSTHROUGH_MODULES = (
    "pmarb.domain",
    "pmarb.strategies",
    "pmarb.lifecycle",
    "pmarb.activities",
    "pmarb.workflows",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


async def run_worker(settings: Settings, endpoints: Endpoints) -> None:
    client = await connect_client(
        endpoints.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        tls=settings.temporal_tls,
    )
    with contextlib.suppress(RuntimeError):
        added = await ensure_search_attributes(client)
        if added:
            log.info("registered search attributes %s", ", ".join(added))
    pool = await open_pool(endpoints.database_url)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(pool, client, settings),
        workflow_runner=workflow_runner(),
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %r on %s", settings.task_queue, endpoints.temporal_address)
    try:
        async with worker:
            await ensure_entities(client, settings)
            await stop.wait()
            log.info(
                "worker shutting down; in-flight activities get up to %.0fs to finish",
                settings.worker_shutdown_grace_seconds,
            )
    finally:
        await pool.close()
