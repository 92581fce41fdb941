"""OpportunityWorkflow: bid → risk → legs → hedge/unwind → hold → record.

One execution per detected opportunity, started with a deterministic id so a duplicate detection
cannot trade twice. The workflow only decides; every side effect is an activity:

- bid: the strategies price the opportunity here (pure, cheap maths); the allocator picks one;
- risk: a local activity runs the one-transaction pre-trade check and reserves exposure;
- legs: order activities with client order ids derived from this workflow's id and the leg;
  an unwind is registered as compensation BEFORE each leg is sent;
- hedge/unwind: on a partial fill, a failed leg, an expired window, a halt or a cancel, the
  registered compensations run in reverse, retrying for as long as it takes;
- hold: a durable timer until the market resolves, then settlement;
- record: trade, P&L attribution and the reservation's release.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.orders import (
        HALTED,
        REJECTED,
        CancelInput,
        OrderActivities,
        OrderOutcome,
        OrderToSend,
        PlaceOrdersInput,
        SettlementInput,
        UnwindInput,
        WaitForFillInput,
    )
    from pmarb.activities.record import (
        CloseTradeInput,
        RecordActivities,
        SettledMarket,
        TradeOutcome,
        UnpursuedInput,
    )
    from pmarb.activities.risk import RiskActivities, RiskCheckInput
    from pmarb.domain.bid import Bid, ExecutionStyle, PlannedOrder
    from pmarb.domain.money import ZERO
    from pmarb.domain.opportunity import Opportunity
    from pmarb.domain.orders import OrderPurpose, TimeInForce, client_order_id
    from pmarb.domain.parity import Side
    from pmarb.strategies.allocator import choose_bid
    from pmarb.strategies.base import StrategyBudget
    from pmarb.workflows import search_attributes

FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=6,
    non_retryable_error_types=[HALTED, REJECTED],
)
# An unhedged position is worse than a slow hedge: compensations never give up.
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    non_retryable_error_types=[REJECTED],
)
# The risk decision and its audit row must exist whatever happens: while the database is
# unreachable the check keeps trying, and once back it rejects what has gone stale meanwhile.
DECISION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
)
HEDGE_PAUSE = timedelta(milliseconds=500)
# Workflow versions (``workflow.patched``): histories from before a change replay the old path.
LOCAL_OPENING_ORDERS = "local-opening-orders"


class LifecycleStatus(StrEnum):
    HOLDING = "holding"  # complete position, waiting for resolution
    NO_BID = "no_bid"
    REJECTED = "rejected"
    NO_FILL = "no_fill"
    UNWOUND = "unwound"
    SETTLED = "settled"
    CLOSED = "closed"
    HALTED = "halted"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class OpportunityInput:
    opportunity: Opportunity
    budgets: tuple[StrategyBudget, ...]
    orders_task_queue: str
    market_cap: Decimal | None = None
    # Off only where the server cannot register custom search attributes (Temporal's
    # time-skipping test server, used by the backtest's lifecycle replay).
    search_attributes: bool = True


@dataclass(frozen=True)
class LifecycleResult:
    status: LifecycleStatus
    strategy: str | None = None
    reason: str | None = None
    realized_pnl: Decimal | None = None
    filled_orders: int = 0


@dataclass
class _Compensation:
    kind: str  # "unwind" or "cancel"
    order: PlannedOrder
    client_order_id: str = ""
    keep: Decimal = ZERO


@workflow.defn
class OpportunityWorkflow:
    @workflow.init
    def __init__(self, request: OpportunityInput) -> None:
        self._request = request
        self._stage = "bid"
        self._bid: Bid | None = None
        self._compensations: list[_Compensation] = []
        self._expected: dict[str, Decimal] = {}

    @workflow.query
    def stage(self) -> str:
        return self._stage

    @workflow.run
    async def run(self, request: OpportunityInput) -> LifecycleResult:
        opportunity = request.opportunity
        workflow_id = workflow.info().workflow_id
        bid = choose_bid(opportunity, request.budgets, workflow.now(), request.market_cap)
        if bid is None:
            self._enter("no_bid")
            await workflow.execute_local_activity_method(
                RecordActivities.record_unpursued,
                UnpursuedInput(workflow_id, opportunity, LifecycleStatus.NO_BID.value),
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=DECISION_RETRY,
            )
            return LifecycleResult(LifecycleStatus.NO_BID)
        self._bid = bid
        if request.search_attributes:
            workflow.upsert_search_attributes([search_attributes.STRATEGY.value_set(bid.strategy)])

        self._enter("risk")
        decision = await workflow.execute_local_activity_method(
            RiskActivities.check_risk,
            RiskCheckInput(workflow_id, opportunity, bid),
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=DECISION_RETRY,
        )
        if not decision.approved:
            self._enter("rejected")
            return LifecycleResult(LifecycleStatus.REJECTED, bid.strategy, decision.reason)

        self._enter("legs")
        try:
            status = await self._execute(bid)
            settled: tuple[SettledMarket, ...] = ()
            if status is LifecycleStatus.HOLDING:
                self._enter("hold")
                self._compensations.clear()  # a complete position is held, not unwound
                await self._close(LifecycleStatus.HOLDING, (), release=False)
                settled = await self._hold(bid)
                status = LifecycleStatus.SETTLED
        except BaseException as e:
            if isinstance(e, GeneratorExit):
                raise  # the worker evicting this run from its cache: nothing to compensate
            cancelled = is_cancelled_exception(e) or isinstance(e, asyncio.CancelledError)
            halted = _caused_by(e, HALTED)
            self._enter("unwind")
            await self._compensate()
            final = (
                LifecycleStatus.HALTED
                if halted
                else LifecycleStatus.CANCELLED
                if cancelled
                else LifecycleStatus.UNWOUND
            )
            self._enter("record")
            outcome = await self._close(final, ())
            if cancelled:
                raise
            if halted or isinstance(e, ActivityError):
                return LifecycleResult(
                    final, bid.strategy, str(e), outcome.realized_pnl, outcome.filled_orders
                )
            raise
        self._enter("record")
        outcome = await self._close(status, settled)
        return LifecycleResult(
            status, bid.strategy, None, outcome.realized_pnl, outcome.filled_orders
        )

    def _enter(self, stage: str) -> None:
        self._stage = stage
        if self._request.search_attributes:
            workflow.upsert_search_attributes([search_attributes.STAGE.value_set(stage)])
        workflow.set_current_details(f"stage: {stage}")

    # -- legs ------------------------------------------------------------------------------

    async def _execute(self, bid: Bid) -> LifecycleStatus:
        if bid.style is ExecutionStyle.ATOMIC:
            return await self._atomic(bid)
        if bid.style is ExecutionStyle.LEG_AND_HEDGE:
            return await self._leg_and_hedge(bid)
        if bid.style is ExecutionStyle.SINGLE:
            return await self._single(bid)
        if bid.style is ExecutionStyle.RESTING:
            return await self._resting(bid)
        return await self._round_trip(bid)

    async def _atomic(self, bid: Bid) -> LifecycleStatus:
        for order in bid.orders:
            self._register("unwind", order)
        outcomes = await self._place(bid, bid.orders, OrderPurpose.OPEN)
        if all(
            outcome.filled == order.size
            for outcome, order in zip(outcomes, bid.orders, strict=True)
        ):
            return LifecycleStatus.HOLDING
        self._enter("unwind")
        await self._compensate()
        filled = any(outcome.filled > ZERO for outcome in outcomes)
        return LifecycleStatus.UNWOUND if filled else LifecycleStatus.NO_FILL

    async def _leg_and_hedge(self, bid: Bid) -> LifecycleStatus:
        first, hedges = bid.orders[0], bid.orders[1:]
        self._register("unwind", first)
        (opened,) = await self._place(bid, (first,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        self._enter("hedge")
        for hedge in hedges:
            self._register("unwind", hedge)
        hedged = {hedge.leg: ZERO for hedge in hedges}
        window = timedelta(seconds=bid.hedge_window_seconds or 5.0)
        deadline = workflow.now() + window
        attempt = 0
        while True:
            missing = tuple(
                replace(hedge, size=opened.filled - hedged[hedge.leg])
                for hedge in hedges
                if hedged[hedge.leg] < opened.filled
            )
            if not missing or workflow.now() >= deadline:
                break
            outcomes = await self._place(bid, missing, OrderPurpose.HEDGE, suffix=f"h{attempt}")
            for outcome, hedge in zip(outcomes, missing, strict=True):
                hedged[hedge.leg] += outcome.filled
            attempt += 1
            if any(hedged[hedge.leg] < opened.filled for hedge in hedges):
                await workflow.sleep(HEDGE_PAUSE)
        complete = min(hedged.values(), default=opened.filled)
        if complete == opened.filled:
            return LifecycleStatus.HOLDING
        for compensation in self._compensations:
            compensation.keep = complete
        self._enter("unwind")
        await self._compensate()
        return LifecycleStatus.HOLDING if complete > ZERO else LifecycleStatus.UNWOUND

    async def _single(self, bid: Bid) -> LifecycleStatus:
        order = bid.orders[0]
        self._register("unwind", order)
        (outcome,) = await self._place(bid, (order,), OrderPurpose.OPEN)
        return LifecycleStatus.HOLDING if outcome.filled > ZERO else LifecycleStatus.NO_FILL

    async def _resting(self, bid: Bid) -> LifecycleStatus:
        order = bid.orders[0]
        self._register("unwind", order)
        self._register("cancel", order)
        (outcome,) = await self._place(bid, (order,), OrderPurpose.OPEN)
        if not outcome.status.terminal:
            outcome = await self._wait_for_fill(order, outcome.client_order_id, bid.valid_until)
        if not outcome.status.terminal:
            outcome = await self._cancel(outcome.client_order_id) or outcome
        self._compensations = [c for c in self._compensations if c.kind != "cancel"]
        return LifecycleStatus.HOLDING if outcome.filled > ZERO else LifecycleStatus.NO_FILL

    async def _round_trip(self, bid: Bid) -> LifecycleStatus:
        entry = bid.orders[0]
        self._register("unwind", entry)
        (opened,) = await self._place(bid, (entry,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        self._enter("exit")
        exit_order = replace(
            entry,
            side=Side.SELL,
            limit_price=bid.exit_price or entry.limit_price,
            expected_price=bid.exit_price or entry.limit_price,
            size=opened.filled,
            time_in_force=TimeInForce.GTC,
        )
        self._register("cancel", exit_order)
        (placed,) = await self._place(bid, (exit_order,), OrderPurpose.EXIT, suffix="exit")
        if not placed.status.terminal:
            stop = workflow.now() + timedelta(seconds=bid.time_stop_seconds or 300.0)
            placed = await self._wait_for_fill(exit_order, placed.client_order_id, stop)
            if not placed.status.terminal:
                await self._cancel(placed.client_order_id)
        # Whatever the target did not take goes at the time stop, at a bounded concession.
        self._enter("unwind")
        await self._compensate()
        return LifecycleStatus.CLOSED

    async def _place(
        self,
        bid: Bid,
        orders: tuple[PlannedOrder, ...],
        purpose: OrderPurpose,
        *,
        suffix: str = "",
    ) -> list[OrderOutcome]:
        workflow_id = workflow.info().workflow_id
        items = tuple(
            OrderToSend(
                client_order_id(workflow_id, f"{order.leg}:{suffix}" if suffix else order.leg),
                order,
            )
            for order in orders
        )
        for item in items:
            self._expected[item.client_order_id] = item.order.expected_price
        remaining = bid.valid_until - workflow.now()
        timeout = max(remaining, timedelta(seconds=1))
        if purpose is OrderPurpose.EXIT:
            timeout = timedelta(seconds=30)
        placement = PlaceOrdersInput(
            workflow_id=workflow_id,
            strategy=bid.strategy,
            purpose=purpose,
            orders=items,
            expires_at=bid.valid_until,
        )
        summary = f"{purpose.value}: {', '.join(o.leg for o in orders)}"
        if purpose is OrderPurpose.OPEN and workflow.patched(LOCAL_OPENING_ORDERS):
            # The opening orders are the decision latency: as a local activity they leave in the
            # workflow task that holds the risk decision, without a round trip through the
            # server. Safe to re-run after a crash: placement looks each order up by its client
            # id first.
            outcomes = await workflow.execute_local_activity_method(
                OrderActivities.place_orders,
                placement,
                schedule_to_close_timeout=timeout,
                retry_policy=FORWARD_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=summary,
            )
        else:
            outcomes = await workflow.execute_activity_method(
                OrderActivities.place_orders,
                placement,
                task_queue=self._request.orders_task_queue,
                schedule_to_close_timeout=timeout,
                retry_policy=FORWARD_RETRY,
                # A placement in flight must finish before compensation reads what it filled.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=summary,
            )
        for item, outcome in zip(items, outcomes, strict=True):
            for compensation in self._compensations:
                if compensation.order.leg == item.order.leg and not compensation.client_order_id:
                    compensation.client_order_id = outcome.client_order_id
        return outcomes

    async def _wait_for_fill(
        self, order: PlannedOrder, coid: str, deadline: datetime
    ) -> OrderOutcome:
        wait = max(deadline - workflow.now(), timedelta(seconds=1))
        return await workflow.execute_activity_method(
            OrderActivities.wait_for_fill,
            WaitForFillInput(coid, order.venue, deadline),
            task_queue=self._request.orders_task_queue,
            start_to_close_timeout=wait + timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=COMPENSATION_RETRY,
        )

    async def _cancel(self, coid: str) -> OrderOutcome | None:
        outcomes = await workflow.execute_activity_method(
            OrderActivities.cancel_orders,
            CancelInput(workflow.info().workflow_id, (coid,)),
            task_queue=self._request.orders_task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=COMPENSATION_RETRY,
        )
        return outcomes[0] if outcomes else None

    # -- compensation ----------------------------------------------------------------------

    def _register(self, kind: str, order: PlannedOrder) -> None:
        self._compensations.append(_Compensation(kind, order))

    async def _compensate(self) -> None:
        """Run registered compensations newest first; each retries until it succeeds."""
        workflow_id = workflow.info().workflow_id
        while self._compensations:
            compensation = self._compensations.pop()
            order = compensation.order
            if compensation.kind == "cancel":
                if compensation.client_order_id:
                    await self._cancel(compensation.client_order_id)
                continue
            await workflow.execute_activity_method(
                OrderActivities.unwind,
                UnwindInput(
                    workflow_id=workflow_id,
                    leg=order.leg,
                    venue=order.venue,
                    market_id=order.market_id,
                    instrument_id=order.instrument_id,
                    outcome=order.outcome,
                    keep=compensation.keep,
                ),
                task_queue=self._request.orders_task_queue,
                start_to_close_timeout=timedelta(seconds=120),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=COMPENSATION_RETRY,
                summary=f"unwind {order.leg}",
            )

    # -- hold and record -------------------------------------------------------------------

    async def _hold(self, bid: Bid) -> tuple[SettledMarket, ...]:
        resolves_at = self._request.opportunity.resolves_at
        if resolves_at is not None and resolves_at > workflow.now():
            await workflow.sleep(resolves_at - workflow.now(), summary="until resolution")
        settled = []
        for venue, market_id in dict.fromkeys((o.venue, o.market_id) for o in bid.orders):
            payout = await workflow.execute_activity_method(
                OrderActivities.await_settlement,
                SettlementInput(venue, market_id),
                task_queue=self._request.orders_task_queue,
                start_to_close_timeout=timedelta(days=7),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=COMPENSATION_RETRY,
                summary=f"settle {venue}:{market_id}",
            )
            settled.append(SettledMarket(venue.value, market_id, payout))
        return tuple(settled)

    async def _close(
        self,
        status: LifecycleStatus,
        settled: tuple[SettledMarket, ...],
        *,
        release: bool = True,
    ) -> TradeOutcome:
        return await workflow.execute_activity_method(
            RecordActivities.close_trade,
            CloseTradeInput(
                workflow_id=workflow.info().workflow_id,
                status=status.value,
                expected_prices=dict(self._expected),
                settled=settled,
                release=release,
            ),
            task_queue=self._request.orders_task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=COMPENSATION_RETRY,
            summary="record",
        )


def _caused_by(error: BaseException, error_type: str) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError) and current.type == error_type:
            return True
        current = current.__cause__
    return False
