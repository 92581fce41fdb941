from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


@workflow.defn(sandboxed=False)
class SleepThreeDaysWorkflow:
    @workflow.run
    async def run(self) -> float:
        started = workflow.now()
        await workflow.sleep(timedelta(days=3))
        return (workflow.now() - started).total_seconds()


async def test_time_skipping_server_skips_timers(time_skipping_env: WorkflowEnvironment) -> None:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_skipping_env.client, task_queue=queue, workflows=[SleepThreeDaysWorkflow]
    ):
        elapsed = await time_skipping_env.client.execute_workflow(
            SleepThreeDaysWorkflow.run, id=f"sleep-{uuid.uuid4().hex}", task_queue=queue
        )
    assert elapsed >= timedelta(days=3).total_seconds()
