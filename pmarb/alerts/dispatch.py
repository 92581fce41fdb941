"""Raising an alert: store it, then start the AlertWorkflow that delivers and escalates it."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from pmarb.store.alert_records import get_alert, set_workflow
from pmarb.store.alerts import AlertTier, raise_alert
from pmarb.workflows.alerts import AlertInput, AlertWorkflow, workflow_id_for

log = logging.getLogger(__name__)


async def start_alert_workflow(
    client: Client, pool: AsyncConnectionPool[Any], alert_id: int, tier: AlertTier, task_queue: str
) -> str | None:
    """Start the alert's workflow once; a retry or a deduplicated alert starts nothing new.

    Routine alerts are dashboard-only: there is nothing to deliver or escalate.
    """
    if tier is AlertTier.ROUTINE:
        return None
    async with pool.connection() as conn:
        alert = await get_alert(conn, alert_id)
        if alert is None:
            raise LookupError(f"no alert {alert_id}")
        workflow_id = alert.workflow_id or workflow_id_for(alert_id, alert.created_at)
        await set_workflow(conn, alert_id, workflow_id)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            AlertWorkflow.run,
            AlertInput(alert_id),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"{tier.value} alert #{alert_id}",
        )
    return workflow_id


async def raise_and_dispatch(
    pool: AsyncConnectionPool[Any],
    client: Client | None,
    task_queue: str,
    tier: AlertTier,
    title: str,
    body: str,
    *,
    dedupe_key: str | None = None,
) -> int:
    """Store the alert (committed before delivery starts) and hand it to its workflow.

    Without a Temporal client the alert is only stored (and shown on the dashboard).
    """
    async with pool.connection() as conn:
        alert_id = await raise_alert(conn, tier, title, body, dedupe_key=dedupe_key)
    if client is None:
        return alert_id
    await start_alert_workflow(client, pool, alert_id, tier, task_queue)
    return alert_id
