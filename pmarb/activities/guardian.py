"""What the risk guardian does to the world: the halt flag, in-flight lifecycles, alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.client import Client

from pmarb.alerts.dispatch import raise_and_dispatch
from pmarb.domain.risk import RiskLimits
from pmarb.store.alerts import AlertTier
from pmarb.store.risk import store_limits
from pmarb.store.risk_state import set_halted

log = logging.getLogger(__name__)

# Lifecycles still acquiring positions; holding ones keep their locked-in payouts.
IN_FLIGHT_QUERY = (
    "WorkflowType = 'OpportunityWorkflow' AND ExecutionStatus = 'Running' "
    "AND Stage IN ('bid', 'risk', 'legs', 'hedge', 'exit')"
)


@dataclass(frozen=True)
class HaltEffect:
    halted: bool
    reason: str
    actor: str


@dataclass(frozen=True)
class PauseEffect:
    paused_until: datetime | None
    reason: str


@dataclass(frozen=True)
class AlertEffect:
    tier: str
    title: str
    body: str
    dedupe_key: str | None = None


class GuardianActivities:
    def __init__(
        self, pool: AsyncConnectionPool[Any], client: Client, *, dispatch_alerts: bool = False
    ) -> None:
        self._pool = pool
        self._client = client
        # With dispatch, each alert also starts its AlertWorkflow on this worker's task queue
        # (the worker must run AlertWorkflow); without, alerts are only stored.
        self._dispatch_alerts = dispatch_alerts

    @activity.defn(name="set_halt_flag")
    async def set_halt_flag(self, effect: HaltEffect) -> None:
        async with self._pool.connection() as conn:
            await set_halted(conn, halted=effect.halted, reason=effect.reason, actor=effect.actor)

    @activity.defn(name="cancel_in_flight")
    async def cancel_in_flight(self, reason: str) -> int:
        """Cancel every lifecycle still placing legs; their compensations unwind."""
        cancelled = 0
        async for execution in self._client.list_workflows(IN_FLIGHT_QUERY):
            await self._client.get_workflow_handle(execution.id).cancel()
            cancelled += 1
            activity.heartbeat(cancelled)
        log.warning("halt (%s): cancelled %d in-flight lifecycles", reason, cancelled)
        return cancelled

    @activity.defn(name="set_pause")
    async def set_pause(self, effect: PauseEffect) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "update risk_state set paused_until = %s, updated_at = now()",
                (effect.paused_until,),
            )
            await conn.execute(
                "insert into risk_events (kind, reason_code, details) values (%s, %s, %s)",
                (
                    "pause" if effect.paused_until else "unpause",
                    "DAILY_LOSS_PAUSE" if effect.paused_until else "DAILY_LOSS_RESET",
                    Jsonb({"reason": effect.reason}),
                ),
            )

    @activity.defn(name="store_limits")
    async def store_limits(self, limits: RiskLimits) -> None:
        async with self._pool.connection() as conn:
            await store_limits(conn, limits)

    @activity.defn(name="raise_alert")
    async def raise_alert(self, alert: AlertEffect) -> int:
        """Store the alert and start its AlertWorkflow (delivery, escalation)."""
        return await raise_and_dispatch(
            self._pool,
            self._client if self._dispatch_alerts else None,
            activity.info().task_queue,
            AlertTier(alert.tier),
            alert.title,
            alert.body,
            dedupe_key=alert.dedupe_key,
        )
