"""A round trip through the whole control plane: client → server → worker → activity → database.

``pmarb status`` runs it to tell "a worker is polling and can reach PostgreSQL" apart from
"Temporal is up but nothing would execute a trade".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.system import DatabaseCheck, SystemActivities


@dataclass(frozen=True)
class SystemCheckInput:
    requested_by: str


@workflow.defn
class SystemCheckWorkflow:
    @workflow.run
    async def run(self, request: SystemCheckInput) -> DatabaseCheck:
        return await workflow.execute_activity_method(
            SystemActivities.check_database,
            request.requested_by,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
