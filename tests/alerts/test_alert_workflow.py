"""AlertWorkflow on the time-skipping server, a real database and a local HTTP channel."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.activities.alerts import AlertActivities
from pmarb.alerts.dispatch import raise_and_dispatch
from pmarb.alerts.service import acknowledge_alert
from pmarb.alerts.settings import AlertSettings
from pmarb.store.alert_records import get_alert
from pmarb.store.alerts import AlertTier
from pmarb.store.db import open_pool
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.alerts import AlertProgress, AlertWorkflow
from tests.alerts.receiver import Receiver, channel_urls
from tests.support import ServedApp, eventually


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool = await open_pool(database_url, max_size=3)
    yield pool
    await pool.close()


async def _count(receiver: Receiver, channel: str) -> int:
    return receiver.count(channel)


async def _workflow_id(pool: AsyncConnectionPool[Any], alert_id: int) -> str:
    async with pool.connection() as conn:
        alert = await get_alert(conn, alert_id)
    assert alert is not None and alert.workflow_id is not None
    return alert.workflow_id


async def test_emergency_repeats_on_schedule_until_acknowledged(
    time_skipping_env: WorkflowEnvironment, pool: AsyncConnectionPool[Any]
) -> None:
    client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    receiver = Receiver()
    async with ServedApp(receiver.app) as served:
        settings = AlertSettings(**channel_urls(served.port), emergency_repeat_minutes=5)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[AlertWorkflow],
            activities=[
                AlertActivities(pool, settings).deliver,
                AlertActivities(pool, settings).record_acknowledgement,
            ],
            workflow_runner=workflow_runner(),
        ):
            alert_id = await raise_and_dispatch(
                pool, client, queue, AlertTier.EMERGENCY, "Ratchet floor hit", "value 399 ≤ 400"
            )
            workflow_id = await _workflow_id(pool, alert_id)
            handle = client.get_workflow_handle(workflow_id, result_type=AlertProgress)
            await eventually(lambda: _count(receiver, "push"), lambda n: n == 1)
            # Minute 4: still the first round only; minute 6: the second; minute 11: the third.
            await time_skipping_env.sleep(timedelta(minutes=4))
            assert receiver.count("push") == 1
            await time_skipping_env.sleep(timedelta(minutes=2))
            await eventually(lambda: _count(receiver, "push"), lambda n: n == 2)
            await time_skipping_env.sleep(timedelta(minutes=5))
            await eventually(lambda: _count(receiver, "push"), lambda n: n == 3)
            assert receiver.count("sms") == receiver.count("email") == 3, "every channel"
            assert receiver.titles("push")[0].startswith("[pmarb EMERGENCY] Ratchet floor hit")
            assert "(repeat 2)" in receiver.titles("push")[2]

            outcome = await acknowledge_alert(pool, client, alert_id, "trader", "test")
            assert outcome.newly_acknowledged and outcome.workflow_notified
            progress: AlertProgress = await handle.result()
            assert progress.acknowledged and progress.rounds == 3
            await time_skipping_env.sleep(timedelta(minutes=30))
            assert receiver.count("push") == 3, "no round after the acknowledgement"

            again = await acknowledge_alert(pool, client, alert_id, "someone-else", "test")
            assert not again.newly_acknowledged
    async with pool.connection() as conn:
        alert = await get_alert(conn, alert_id)
    assert alert is not None and alert.acknowledged_by == "trader"
    assert alert.time_to_acknowledge is not None and alert.time_to_acknowledge >= timedelta(0)
    ok = [d for d in alert.deliveries if d["ok"]]
    assert len(ok) == 9 and {d["round"] for d in ok} == {1, 2, 3}
    assert all("127.0.0.1" not in str(d) for d in alert.deliveries), "no channel URL stored"


async def test_tiers_reach_their_channels_once(
    time_skipping_env: WorkflowEnvironment, pool: AsyncConnectionPool[Any]
) -> None:
    client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    receiver = Receiver()
    async with ServedApp(receiver.app) as served:
        settings = AlertSettings(**channel_urls(served.port))
        activities = AlertActivities(pool, settings)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[AlertWorkflow],
            activities=[activities.deliver, activities.record_acknowledgement],
            workflow_runner=workflow_runner(),
        ):
            routine = await raise_and_dispatch(
                pool, client, queue, AlertTier.ROUTINE, "Feed reconnected", "binance"
            )
            important = await raise_and_dispatch(
                pool, client, queue, AlertTier.IMPORTANT, "Daily summary", "P&L 12.30"
            )
            critical = await raise_and_dispatch(
                pool, client, queue, AlertTier.CRITICAL, "Daily loss", "paused"
            )
            for alert_id in (important, critical):
                await client.get_workflow_handle(await _workflow_id(pool, alert_id)).result()
            await time_skipping_env.sleep(timedelta(hours=1))
    assert receiver.count("push") == 2, "important and critical push once each"
    assert receiver.count("sms") == 1, "only critical reaches SMS"
    assert receiver.count("email") == 0, "e-mail is for emergencies"
    async with pool.connection() as conn:
        stored = await get_alert(conn, routine)
    assert stored is not None and stored.workflow_id is None and stored.deliveries == []


async def test_failing_channel_is_retried_and_recorded(
    time_skipping_env: WorkflowEnvironment, pool: AsyncConnectionPool[Any]
) -> None:
    client: Client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    receiver = Receiver(failing=("sms",))
    async with ServedApp(receiver.app) as served:
        settings = AlertSettings(**channel_urls(served.port))
        activities = AlertActivities(pool, settings)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[AlertWorkflow],
            activities=[activities.deliver, activities.record_acknowledgement],
            workflow_runner=workflow_runner(),
        ):
            alert_id = await raise_and_dispatch(
                pool, client, queue, AlertTier.CRITICAL, "Venue down", "kalshi 503"
            )
            workflow_id = await _workflow_id(pool, alert_id)
            handle = client.get_workflow_handle(workflow_id, result_type=AlertProgress)
            progress = await handle.result()
    assert progress.last_failed == ("sms",)
    assert receiver.count("push") == 1, "the channel that worked is not sent twice on retry"
    assert receiver.count("sms") == 3, "three attempts at the failing channel"
    async with pool.connection() as conn:
        alert = await get_alert(conn, alert_id)
    assert alert is not None
    sms = [d for d in alert.deliveries if d["channel"] == "sms"]
    assert len(sms) == 3 and not any(d["ok"] for d in sms)


async def test_emergency_with_no_channel_stays_on_the_dashboard_without_repeating(
    time_skipping_env: WorkflowEnvironment, pool: AsyncConnectionPool[Any]
) -> None:
    client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    activities = AlertActivities(pool, AlertSettings())
    async with Worker(
        client,
        task_queue=queue,
        workflows=[AlertWorkflow],
        activities=[activities.deliver, activities.record_acknowledgement],
        workflow_runner=workflow_runner(),
    ):
        alert_id = await raise_and_dispatch(
            pool, client, queue, AlertTier.EMERGENCY, "HALT_ALL: trading halted", "by cli"
        )
        workflow_id = await _workflow_id(pool, alert_id)
        handle = client.get_workflow_handle(workflow_id, result_type=AlertProgress)
        progress = await handle.result()
    assert progress.rounds == 1 and not progress.acknowledged
    async with pool.connection() as conn:
        alert = await get_alert(conn, alert_id)
    assert alert is not None and alert.acknowledged_at is None, "still open on the dashboard"
    assert {d["channel"]: d["error"] for d in alert.deliveries} == {
        "push": "not configured",
        "sms": "not configured",
        "email": "not configured",
    }
