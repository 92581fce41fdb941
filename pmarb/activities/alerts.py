"""Delivering an alert and recording its acknowledgement: the AlertWorkflow's side effects."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from pmarb.alerts.delivery import Channels, Message
from pmarb.alerts.settings import AlertSettings
from pmarb.alerts.tiers import channels_for, repeats_until_acknowledged
from pmarb.store.alert_records import acknowledge, delivered_in_round, get_alert, record_delivery
from pmarb.store.alerts import AlertTier

log = logging.getLogger(__name__)

# A channel that refuses is retried within the round this many times before the round gives up
# on it (an emergency's next round tries again anyway).
ATTEMPTS_PER_ROUND = 3


@dataclass(frozen=True)
class DeliveryRequest:
    alert_id: int
    round_number: int


@dataclass(frozen=True)
class DeliveryOutcome:
    acknowledged: bool
    delivered: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    repeat_after_seconds: float | None = None


@dataclass(frozen=True)
class AcknowledgementRecord:
    alert_id: int
    actor: str
    via: str


class AlertActivities:
    def __init__(self, pool: AsyncConnectionPool[Any], settings: AlertSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._channels = Channels(settings)

    @activity.defn(name="deliver_alert")
    async def deliver(self, request: DeliveryRequest) -> DeliveryOutcome:
        """Send one round to the tier's channels, skipping channels that already accepted it."""
        async with self._pool.connection() as conn:
            alert = await get_alert(conn, request.alert_id)
        if alert is None:
            raise ApplicationError(f"no alert {request.alert_id}", non_retryable=True)
        if alert.acknowledged_at is not None:
            return DeliveryOutcome(acknowledged=True)
        tier = AlertTier(alert.tier)
        already = delivered_in_round(alert, request.round_number)
        message = Message(alert.id, tier, alert.title, alert.body, request.round_number)
        delivered: list[str] = sorted(already)
        failed: list[str] = []
        for channel in channels_for(tier):
            if channel.value in already:
                continue
            if not self._channels.configured(channel):
                if request.round_number == 1 and activity.info().attempt == 1:
                    async with self._pool.connection() as conn:
                        await record_delivery(
                            conn,
                            alert.id,
                            {
                                "channel": channel.value,
                                "round": 1,
                                "ok": False,
                                "error": "not configured",
                            },
                        )
                continue
            result = await self._channels.send(channel, message)
            async with self._pool.connection() as conn:
                await record_delivery(conn, alert.id, result.record(request.round_number))
            (delivered if result.ok else failed).append(channel.value)
        if failed and activity.info().attempt < ATTEMPTS_PER_ROUND:
            raise ApplicationError(
                f"alert {alert.id} round {request.round_number}: {', '.join(failed)} failed"
            )
        # An emergency repeats only where it can reach someone; with no channel configured it
        # stays open on the dashboard instead of waking every few minutes for nothing.
        reachable = any(self._channels.configured(c) for c in channels_for(tier))
        repeat = self._settings.emergency_repeat_minutes * 60
        return DeliveryOutcome(
            acknowledged=False,
            delivered=tuple(delivered),
            failed=tuple(failed),
            repeat_after_seconds=repeat if reachable and repeats_until_acknowledged(tier) else None,
        )

    @activity.defn(name="record_alert_acknowledgement")
    async def record_acknowledgement(self, request: AcknowledgementRecord) -> None:
        """Idempotent: the first acknowledgement wins, whichever way it arrived."""
        async with self._pool.connection() as conn:
            await acknowledge(conn, request.alert_id, request.actor, request.via)
