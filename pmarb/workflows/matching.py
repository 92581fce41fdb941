"""MatchingWorkflow: periodically pair markets across two venues and store the decisions.

Deterministic and import-light: the activities read markets, block, adjudicate and write;
this only sequences them and carries counts. One cycle per run, then continue-as-new, so
history stays short however long it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.matching import (
        BatchRequest,
        CandidateRequest,
        MatchingActivities,
    )

WORKFLOW_ID = "matching-kalshi-polymarket"
_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)


@dataclass(frozen=True)
class MatchingRequest:
    venue_a: str = "kalshi"
    venue_b: str = "polymarket"
    batch_size: int = 50
    interval_seconds: int = 900
    cycles: int = 0  # 0: run forever; n: stop after n more cycles


@dataclass(frozen=True)
class MatchingSummary:
    run_id: str
    markets_a: int
    markets_b: int
    candidates: int
    decided: int
    unchanged: int
    tradable: int
    pending_review: int
    model_calls: int
    cost_usd: Decimal


@workflow.defn(name="MatchingWorkflow")
class MatchingWorkflow:
    @workflow.run
    async def run(self, request: MatchingRequest) -> MatchingSummary:
        info = workflow.info()
        run_id = f"{info.workflow_id}/{info.run_id}"
        found = await workflow.execute_activity_method(
            MatchingActivities.find_candidates,
            CandidateRequest(run_id, request.venue_a, request.venue_b),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=_RETRY,
        )
        decided = unchanged = tradable = pending = calls = 0
        cost = Decimal(0)
        after = -1
        while True:
            batch = await workflow.execute_activity_method(
                MatchingActivities.adjudicate_batch,
                BatchRequest(run_id, after, request.batch_size),
                start_to_close_timeout=timedelta(minutes=15),
                retry_policy=_RETRY,
            )
            decided += batch.decided
            unchanged += batch.unchanged
            tradable += batch.tradable
            pending += batch.pending_review
            calls += batch.model_calls
            cost += batch.cost_usd
            if batch.next_seq is None:
                break
            after = batch.next_seq
        await workflow.execute_activity_method(
            MatchingActivities.finish_run,
            run_id,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=_RETRY,
        )
        summary = MatchingSummary(
            run_id,
            found.markets_a,
            found.markets_b,
            found.candidates,
            decided,
            unchanged,
            tradable,
            pending,
            calls,
            cost,
        )
        if request.cycles == 1:
            return summary
        await workflow.sleep(timedelta(seconds=request.interval_seconds))
        workflow.continue_as_new(
            replace(request, cycles=request.cycles - 1 if request.cycles > 1 else 0)
        )
