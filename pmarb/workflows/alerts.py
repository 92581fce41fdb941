"""AlertWorkflow: one per alert (id ``alert-<id>-<created>``). Delivers the alert to its tier's
channels and, for an emergency, delivers it again every few minutes until it is acknowledged.

The acknowledgement is written to PostgreSQL first by whoever takes it (API, dashboard, CLI) and
then signalled here; every round also re-reads the row, so an acknowledgement that could not be
signalled still stops the repeats. One signalled from the Temporal CLI is written back through
an activity. History stays small: the workflow continues as new on long escalations.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.alerts import (
        AcknowledgementRecord,
        AlertActivities,
        DeliveryOutcome,
        DeliveryRequest,
    )

WORKFLOW_ID_PREFIX = "alert-"
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


def workflow_id_for(alert_id: int, created_at: datetime) -> str:
    """Unique per alert row even if the database is rebuilt under a Temporal that remembers."""
    return f"{WORKFLOW_ID_PREFIX}{alert_id}-{created_at.astimezone(UTC):%Y%m%dT%H%M%S%f}"


@dataclass(frozen=True)
class AlertInput:
    alert_id: int
    rounds_done: int = 0
    # Tests use a small value so continue-as-new is exercised quickly.
    max_history: int = 1000


@dataclass(frozen=True)
class Acknowledgement:
    actor: str
    via: str = "temporal"


@dataclass(frozen=True)
class AlertProgress:
    alert_id: int
    rounds: int
    acknowledged: bool
    acknowledged_by: str | None
    last_failed: tuple[str, ...]


@workflow.defn
class AlertWorkflow:
    @workflow.init
    def __init__(self, request: AlertInput) -> None:
        self._alert_id = request.alert_id
        self._rounds = request.rounds_done
        self._ack: Acknowledgement | None = None
        self._acknowledged = False
        self._last_failed: tuple[str, ...] = ()

    @workflow.signal
    def acknowledge(self, ack: Acknowledgement) -> None:
        if self._ack is None:
            self._ack = ack

    @workflow.query
    def progress(self) -> AlertProgress:
        return AlertProgress(
            alert_id=self._alert_id,
            rounds=self._rounds,
            acknowledged=self._acknowledged or self._ack is not None,
            acknowledged_by=self._ack.actor if self._ack else None,
            last_failed=self._last_failed,
        )

    @workflow.run
    async def run(self, request: AlertInput) -> AlertProgress:
        while self._ack is None:
            self._rounds += 1
            outcome: DeliveryOutcome = await workflow.execute_activity_method(
                AlertActivities.deliver,
                DeliveryRequest(self._alert_id, self._rounds),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=DELIVERY_RETRY,
                summary=f"round {self._rounds}",
            )
            self._last_failed = outcome.failed
            if outcome.acknowledged:
                self._acknowledged = True
                break
            if outcome.repeat_after_seconds is None:
                break
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._ack is not None,
                    timeout=timedelta(seconds=outcome.repeat_after_seconds),
                    timeout_summary="until the next round",
                )
            if self._ack is None and self._should_continue_as_new(request):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    AlertInput(self._alert_id, self._rounds, request.max_history)
                )
        if self._ack is not None:
            await workflow.execute_activity_method(
                AlertActivities.record_acknowledgement,
                AcknowledgementRecord(self._alert_id, self._ack.actor, self._ack.via),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DELIVERY_RETRY,
            )
            self._acknowledged = True
        return self.progress()

    def _should_continue_as_new(self, request: AlertInput) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > request.max_history
        )
