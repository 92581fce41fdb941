"""OpportunityWorkflow: the durable driver of one opportunity's lifecycle.

One execution per detected opportunity, started with a deterministic id so a duplicate detection
cannot trade twice. Every decision is made by :class:`pmarb.lifecycle.program.OpportunityLifecycle`
(the same program the backtest drives); this workflow only performs its steps durably: each
side effect is an activity (the risk check and the opening orders local, in the workflow task
that decides them), each wait a durable timer, and each failure is handed back to the program so
its compensations run. The timing constants come from :mod:`pmarb.lifecycle.timing`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.orders import HALTED, REJECTED, OrderActivities
    from pmarb.activities.record import CloseTradeInput, RecordActivities, UnpursuedInput
    from pmarb.activities.risk import RiskActivities, RiskCheckInput
    from pmarb.domain.opportunity import Opportunity
    from pmarb.domain.orders import OrderPurpose
    from pmarb.lifecycle import timing
    from pmarb.lifecycle.drive import perform_awaiting
    from pmarb.lifecycle.messages import (
        CancelInput,
        OrderOutcome,
        PlaceOrdersInput,
        SettlementInput,
    )
    from pmarb.lifecycle.program import (
        Interruption,
        LifecycleResult,
        LifecycleStatus,
        OpportunityLifecycle,
    )
    from pmarb.lifecycle.steps import (
        AwaitSettlement,
        CancelOrder,
        CheckRisk,
        CloseTrade,
        EnterStage,
        LifecycleStep,
        Pause,
        PlaceOrders,
        RecordUnpursued,
        SleepUntil,
        TagStrategy,
        Unwind,
        WaitForFill,
    )
    from pmarb.strategies.base import SizingLimits, StrategyBudget
    from pmarb.workflows import search_attributes


def _retry(backoff: timing.Backoff, *non_retryable: str) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=backoff.initial,
        backoff_coefficient=backoff.coefficient,
        maximum_interval=backoff.maximum,
        maximum_attempts=backoff.attempts or 0,  # 0: unlimited
        non_retryable_error_types=list(non_retryable),
    )


FORWARD_RETRY = _retry(timing.FORWARD, HALTED, REJECTED)
COMPENSATION_RETRY = _retry(timing.COMPENSATION, REJECTED)
# While the database is unreachable the check keeps trying; once back it rejects what has gone
# stale meanwhile.
DECISION_RETRY = _retry(timing.DECISION)

# How long Temporal lets one attempt of each activity run (and how often it must heartbeat).
DECISION_TIMEOUT = timedelta(seconds=5)
CANCEL_TIMEOUT = timedelta(seconds=30)
RECORD_TIMEOUT = timedelta(seconds=30)
UNWIND_TIMEOUT = timedelta(seconds=120)
UNWIND_HEARTBEAT = timedelta(seconds=30)
FILL_WAIT_GRACE = timedelta(seconds=30)  # beyond the wait's own deadline
FILL_WAIT_MINIMUM = timedelta(seconds=1)
FILL_WAIT_HEARTBEAT = timedelta(seconds=10)
SETTLEMENT_TIMEOUT = timedelta(days=7)
SETTLEMENT_HEARTBEAT = timedelta(minutes=2)

# Workflow versions (``workflow.patched``): histories from before a change replay the old path.
LOCAL_OPENING_ORDERS = "local-opening-orders"


@dataclass(frozen=True)
class OpportunityInput:
    opportunity: Opportunity
    budgets: tuple[StrategyBudget, ...]
    orders_task_queue: str
    market_cap: Decimal | None = None  # histories from before ``sizing`` carry only this
    sizing: SizingLimits | None = None
    # Off only where the server cannot register custom search attributes (Temporal's
    # time-skipping test server, used by the backtest's lifecycle replay).
    search_attributes: bool = True


@workflow.defn
class OpportunityWorkflow:
    @workflow.init
    def __init__(self, request: OpportunityInput) -> None:
        self._request = request
        self._lifecycle = OpportunityLifecycle(
            request.opportunity,
            request.budgets,
            workflow_id=workflow.info().workflow_id,
            clock=workflow.now,
            classify=_interruption,
            sizing=request.sizing or SizingLimits(market_cap=request.market_cap),
        )

    @workflow.query
    def stage(self) -> str:
        return self._lifecycle.stage

    @workflow.run
    async def run(self, request: OpportunityInput) -> LifecycleResult:
        # Every failure goes back to the program, which compensates and decides what it means.
        return await perform_awaiting(self._lifecycle.run(), self._perform, BaseException)

    async def _perform(self, step: LifecycleStep) -> Any:
        request = self._request
        workflow_id = workflow.info().workflow_id
        if isinstance(step, EnterStage):
            if request.search_attributes:
                workflow.upsert_search_attributes([search_attributes.STAGE.value_set(step.stage)])
            workflow.set_current_details(f"stage: {step.stage}")
            return None
        if isinstance(step, TagStrategy):
            if request.search_attributes:
                workflow.upsert_search_attributes(
                    [search_attributes.STRATEGY.value_set(step.strategy)]
                )
            return None
        if isinstance(step, RecordUnpursued):
            return await workflow.execute_local_activity_method(
                RecordActivities.record_unpursued,
                UnpursuedInput(workflow_id, request.opportunity, step.status),
                start_to_close_timeout=DECISION_TIMEOUT,
                retry_policy=DECISION_RETRY,
            )
        if isinstance(step, CheckRisk):
            return await workflow.execute_local_activity_method(
                RiskActivities.check_risk,
                RiskCheckInput(workflow_id, request.opportunity, step.bid),
                start_to_close_timeout=DECISION_TIMEOUT,
                retry_policy=DECISION_RETRY,
            )
        if isinstance(step, PlaceOrders):
            return await self._place(step)
        if isinstance(step, Pause):
            await workflow.sleep(step.duration)
            return None
        if isinstance(step, WaitForFill):
            wait = max(step.deadline - workflow.now(), FILL_WAIT_MINIMUM)
            return await workflow.execute_activity_method(
                OrderActivities.wait_for_fill,
                step.request(),
                task_queue=request.orders_task_queue,
                start_to_close_timeout=wait + FILL_WAIT_GRACE,
                heartbeat_timeout=FILL_WAIT_HEARTBEAT,
                retry_policy=COMPENSATION_RETRY,
            )
        if isinstance(step, CancelOrder):
            outcomes: list[OrderOutcome] = await workflow.execute_activity_method(
                OrderActivities.cancel_orders,
                CancelInput(workflow_id, (step.client_order_id,)),
                task_queue=request.orders_task_queue,
                start_to_close_timeout=CANCEL_TIMEOUT,
                retry_policy=COMPENSATION_RETRY,
            )
            return outcomes[0] if outcomes else None
        if isinstance(step, Unwind):
            return await workflow.execute_activity_method(
                OrderActivities.unwind,
                step.request,
                task_queue=request.orders_task_queue,
                start_to_close_timeout=UNWIND_TIMEOUT,
                heartbeat_timeout=UNWIND_HEARTBEAT,
                retry_policy=COMPENSATION_RETRY,
                summary=f"unwind {step.request.leg}",
            )
        if isinstance(step, SleepUntil):
            await workflow.sleep(step.moment - workflow.now(), summary="until resolution")
            return None
        if isinstance(step, AwaitSettlement):
            return await workflow.execute_activity_method(
                OrderActivities.await_settlement,
                SettlementInput(step.venue, step.market_id),
                task_queue=request.orders_task_queue,
                start_to_close_timeout=SETTLEMENT_TIMEOUT,
                heartbeat_timeout=SETTLEMENT_HEARTBEAT,
                retry_policy=COMPENSATION_RETRY,
                summary=f"settle {step.venue}:{step.market_id}",
            )
        assert isinstance(step, CloseTrade)
        return await workflow.execute_activity_method(
            RecordActivities.close_trade,
            CloseTradeInput(
                workflow_id=workflow_id,
                status=step.status,
                expected_prices=step.expected_prices,
                settled=step.settled,
                release=step.release,
            ),
            task_queue=request.orders_task_queue,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=COMPENSATION_RETRY,
            summary="record",
        )

    async def _place(self, step: PlaceOrders) -> list[OrderOutcome]:
        bid = self._lifecycle.bid
        assert bid is not None
        placement = PlaceOrdersInput(
            workflow_id=workflow.info().workflow_id,
            strategy=bid.strategy,
            purpose=step.purpose,
            orders=step.orders,
            expires_at=step.expires_at,
        )
        summary = f"{step.purpose.value}: {', '.join(item.order.leg for item in step.orders)}"
        if step.purpose is OrderPurpose.OPEN and workflow.patched(LOCAL_OPENING_ORDERS):
            # The opening orders are the decision latency: as a local activity they leave in the
            # workflow task that holds the risk decision, without a round trip through the
            # server. Safe to re-run after a crash: placement looks each order up by its client
            # id first.
            local: list[OrderOutcome] = await workflow.execute_local_activity_method(
                OrderActivities.place_orders,
                placement,
                schedule_to_close_timeout=step.timeout,
                retry_policy=FORWARD_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=summary,
            )
            return local
        remote: list[OrderOutcome] = await workflow.execute_activity_method(
            OrderActivities.place_orders,
            placement,
            task_queue=self._request.orders_task_queue,
            schedule_to_close_timeout=step.timeout,
            retry_policy=FORWARD_RETRY,
            # A placement in flight must finish before compensation reads what it filled.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=summary,
        )
        return remote


def _interruption(error: BaseException) -> Interruption:
    """A cancel ends the run cancelled; a halt or an order that failed for good is reported in
    the result; anything else (a bug) surfaces once compensated and recorded."""
    cancelled = is_cancelled_exception(error) or isinstance(error, asyncio.CancelledError)
    halted = _caused_by(error, HALTED)
    status = (
        LifecycleStatus.HALTED
        if halted
        else LifecycleStatus.CANCELLED
        if cancelled
        else LifecycleStatus.UNWOUND
    )
    reported = halted or isinstance(error, ActivityError)
    return Interruption(status, reraise=cancelled or not reported)


def _caused_by(error: BaseException, error_type: str) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError) and current.type == error_type:
            return True
        current = current.__cause__
    return False
