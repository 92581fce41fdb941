"""Acknowledging an alert, shared by the API, the dashboard and the CLI (through the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.service import RPCError

from pmarb.store.alert_records import AlertRecord, acknowledge
from pmarb.workflows.alerts import Acknowledgement, AlertWorkflow


class UnknownAlertError(LookupError):
    pass


@dataclass(frozen=True)
class AckOutcome:
    alert: AlertRecord
    newly_acknowledged: bool
    workflow_notified: bool


async def acknowledge_alert(
    pool: AsyncConnectionPool[Any],
    client: Client | None,
    alert_id: int,
    actor: str,
    via: str,
) -> AckOutcome:
    """Write the acknowledgement first (it stops the repeats on its own), then tell the
    workflow so it stops at once rather than at its next round."""
    async with pool.connection() as conn:
        alert, changed = await acknowledge(conn, alert_id, actor, via)
    if alert is None:
        raise UnknownAlertError(f"no alert with id {alert_id}")
    notified = False
    if changed and client is not None and alert.workflow_id is not None:
        handle = client.get_workflow_handle_for(AlertWorkflow.run, alert.workflow_id)
        try:
            await handle.signal(AlertWorkflow.acknowledge, Acknowledgement(actor, via))
            notified = True
        except RPCError:
            pass  # finished already (non-emergency tiers end after delivery) or unreachable
    return AckOutcome(alert, changed, notified)
