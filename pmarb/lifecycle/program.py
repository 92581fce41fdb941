"""One opportunity's lifecycle as a program: bid → risk → legs → hedge/unwind → hold → record.

:class:`OpportunityLifecycle` makes every decision and yields a :mod:`~pmarb.lifecycle.steps`
step for each thing to be done; its driver performs the step and sends back the answer. The
OpportunityWorkflow drives it through activities and timers, the backtest through its replay
exchange; neither decides anything, so the two cannot drift apart.

- bid: every budgeted strategy prices the opportunity (pure maths); the allocator picks one.
- risk: the pre-trade check reserves exposure or rejects with a reason.
- legs: orders carry client order ids derived from the workflow id and the leg; an unwind is
  registered as compensation BEFORE each leg is sent.
- hedge/unwind: on a partial fill, a failed leg, an expired window, a halt or a cancel, the
  registered compensations run newest first. What an unwind cannot sell before its market
  resolves is held to settlement.
- hold: until the market resolves, then settlement.
- record: the trade, its P&L and the reservation's release.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from pmarb.domain.bid import Bid, ExecutionStyle, PlannedOrder
from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.orders import OrderPurpose, TimeInForce, client_order_id
from pmarb.domain.parity import Side
from pmarb.lifecycle.messages import (
    FairValueGuard,
    OrderOutcome,
    OrderToSend,
    SettledMarket,
    TradeOutcome,
    UnwindInput,
    UnwindResult,
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
from pmarb.lifecycle.timing import (
    DEFAULT_HEDGE_WINDOW,
    DEFAULT_TIME_STOP,
    EXIT_PLACEMENT_TIMEOUT,
    HEDGE_PAUSE,
    MIN_PLACEMENT_TIMEOUT,
)
from pmarb.risk.rules import RiskReason
from pmarb.strategies.allocator import rank_bids
from pmarb.strategies.base import SizingLimits, StrategyBudget


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
class LifecycleResult:
    status: LifecycleStatus
    strategy: str | None = None
    reason: str | None = None
    realized_pnl: Decimal | None = None
    filled_orders: int = 0


class RiskVerdict(Protocol):
    """What a risk check answers (``pmarb.activities.risk.RiskCheckResult`` is one)."""

    @property
    def approved(self) -> bool: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Interruption:
    """How a driver's failure ends the lifecycle: the final status, and whether the failure is
    raised again once compensated and recorded (a cancel must end the run as cancelled; a bug
    must surface) or reported in the result (a halt, an order that failed for good)."""

    status: LifecycleStatus
    reraise: bool


Classify = Callable[[BaseException], Interruption]


@dataclass
class _Compensation:
    kind: str  # "unwind" or "cancel"
    order: PlannedOrder
    client_order_id: str = ""
    keep: Decimal = ZERO


Program = Generator[LifecycleStep, Any, LifecycleStatus]


class OpportunityLifecycle:
    """The decisions of one lifecycle; :meth:`run` is the program its driver performs."""

    def __init__(
        self,
        opportunity: Opportunity,
        budgets: Sequence[StrategyBudget],
        *,
        workflow_id: str,
        clock: Callable[[], datetime],
        classify: Classify,
        sizing: SizingLimits | None = None,
    ) -> None:
        self.opportunity = opportunity
        self.budgets = tuple(budgets)
        self.workflow_id = workflow_id
        self.sizing = sizing or SizingLimits()
        self.stage = "bid"
        self.bid: Bid | None = None
        self._now = clock
        self._classify = classify
        self._compensations: list[_Compensation] = []
        self._expected: dict[str, Decimal] = {}
        # Markets an unwind could not get out of before they resolved: held to settlement.
        self._residual: dict[tuple[VenueId, str], None] = {}

    # -- the program -----------------------------------------------------------------------

    def run(self) -> Generator[LifecycleStep, Any, LifecycleResult]:
        ranked = rank_bids(self.opportunity, self.budgets, self._now(), self.sizing)
        if not ranked:
            yield from self._enter("no_bid")
            yield RecordUnpursued(LifecycleStatus.NO_BID.value)
            return LifecycleResult(LifecycleStatus.NO_BID)
        for bid in ranked:
            self.bid = bid
            yield TagStrategy(bid.strategy)
            yield from self._enter("risk")
            verdict: RiskVerdict = yield CheckRisk(bid)
            if verdict.approved:
                break
            if verdict.reason != RiskReason.STRATEGY_BUDGET.value:
                break  # a limit every other bid on this opportunity would meet the same way
            # This strategy's budget is spent: the next bid, from another strategy, may fit.
        if not verdict.approved:
            yield from self._enter("rejected")
            return LifecycleResult(LifecycleStatus.REJECTED, bid.strategy, verdict.reason)

        yield from self._enter("legs")
        try:
            status = yield from self._execute(bid)
            settled: tuple[SettledMarket, ...] = ()
            if status is LifecycleStatus.HOLDING:
                yield from self._enter("hold")
                self._compensations.clear()  # a complete position is held, not unwound
                yield from self._close(LifecycleStatus.HOLDING, (), release=False)
                settled = yield from self._hold(bid)
                status = LifecycleStatus.SETTLED
            else:
                settled = yield from self._settle_residual()
        except GeneratorExit:
            raise  # the driver abandoned the run (a worker evicting it): nothing to compensate
        except BaseException as error:
            interruption = self._classify(error)
            yield from self._enter("unwind")
            yield from self._compensate()
            if interruption.status is not LifecycleStatus.CANCELLED:
                settled = yield from self._settle_residual()
            else:
                settled = ()
            yield from self._enter("record")
            outcome: TradeOutcome = yield from self._close(interruption.status, settled)
            if interruption.reraise:
                raise
            return LifecycleResult(
                interruption.status,
                bid.strategy,
                str(error),
                outcome.realized_pnl,
                outcome.filled_orders,
            )
        yield from self._enter("record")
        outcome = yield from self._close(status, settled)
        return LifecycleResult(
            status, bid.strategy, None, outcome.realized_pnl, outcome.filled_orders
        )

    def _enter(self, stage: str) -> Generator[LifecycleStep, Any, None]:
        self.stage = stage
        yield EnterStage(stage)

    # -- legs ------------------------------------------------------------------------------

    def _execute(self, bid: Bid) -> Program:
        if bid.style is ExecutionStyle.ATOMIC:
            return (yield from self._atomic(bid))
        if bid.style is ExecutionStyle.LEG_AND_HEDGE:
            return (yield from self._leg_and_hedge(bid))
        if bid.style is ExecutionStyle.SINGLE:
            return (yield from self._single(bid))
        if bid.style is ExecutionStyle.RESTING:
            return (yield from self._resting(bid))
        return (yield from self._round_trip(bid))

    def _atomic(self, bid: Bid) -> Program:
        """Every leg at once (FOK); a leg that filled alone is unwound."""
        for order in bid.orders:
            self._register("unwind", order)
        outcomes = yield from self._place(bid, bid.orders, OrderPurpose.OPEN)
        if all(
            outcome.filled == order.size
            for outcome, order in zip(outcomes, bid.orders, strict=True)
        ):
            return LifecycleStatus.HOLDING
        yield from self._enter("unwind")
        yield from self._compensate()
        filled = any(outcome.filled > ZERO for outcome in outcomes)
        return LifecycleStatus.UNWOUND if filled else LifecycleStatus.NO_FILL

    def _leg_and_hedge(self, bid: Bid) -> Program:
        """The first leg alone; then the hedges, retried within the window; what the hedges
        could not match is unwound."""
        first, hedges = bid.orders[0], bid.orders[1:]
        self._register("unwind", first)
        (opened,) = yield from self._place(bid, (first,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        yield from self._enter("hedge")
        for hedge in hedges:
            self._register("unwind", hedge)
        hedged = {hedge.leg: ZERO for hedge in hedges}
        window = (
            timedelta(seconds=bid.hedge_window_seconds)
            if bid.hedge_window_seconds
            else DEFAULT_HEDGE_WINDOW
        )
        deadline = self._now() + window
        attempt = 0
        while True:
            missing = tuple(
                replace(hedge, size=opened.filled - hedged[hedge.leg])
                for hedge in hedges
                if hedged[hedge.leg] < opened.filled
            )
            if not missing or self._now() >= deadline:
                break
            outcomes = yield from self._place(
                bid, missing, OrderPurpose.HEDGE, suffix=f"h{attempt}"
            )
            for outcome, hedge in zip(outcomes, missing, strict=True):
                hedged[hedge.leg] += outcome.filled
            attempt += 1
            if any(hedged[hedge.leg] < opened.filled for hedge in hedges):
                yield Pause(HEDGE_PAUSE)
        complete = min(hedged.values(), default=opened.filled)
        if complete == opened.filled:
            return LifecycleStatus.HOLDING
        for compensation in self._compensations:
            compensation.keep = complete
        yield from self._enter("unwind")
        yield from self._compensate()
        return LifecycleStatus.HOLDING if complete > ZERO else LifecycleStatus.UNWOUND

    def _single(self, bid: Bid) -> Program:
        """One immediate order, held to resolution."""
        order = bid.orders[0]
        self._register("unwind", order)
        (outcome,) = yield from self._place(bid, (order,), OrderPurpose.OPEN)
        return LifecycleStatus.HOLDING if outcome.filled > ZERO else LifecycleStatus.NO_FILL

    def _resting(self, bid: Bid) -> Program:
        """One resting order until the opportunity expires; then cancelled, what filled held."""
        order = bid.orders[0]
        self._register("unwind", order)
        self._register("cancel", order)
        (outcome,) = yield from self._place(bid, (order,), OrderPurpose.OPEN)
        guard = (
            None
            if bid.fair_value_floor is None
            else FairValueGuard(order.market_id, order.outcome, bid.fair_value_floor)
        )
        if not outcome.status.terminal:
            outcome = yield WaitForFill(order, outcome.client_order_id, bid.valid_until, guard)
        if not outcome.status.terminal:
            cancelled: OrderOutcome | None = yield CancelOrder(outcome.client_order_id)
            outcome = cancelled or outcome
        self._compensations = [c for c in self._compensations if c.kind != "cancel"]
        return LifecycleStatus.HOLDING if outcome.filled > ZERO else LifecycleStatus.NO_FILL

    def _round_trip(self, bid: Bid) -> Program:
        """Enter now; rest an exit at the target until the time stop; whatever the target did
        not take goes at the time stop, at the unwind's bounded concession."""
        entry = bid.orders[0]
        self._register("unwind", entry)
        (opened,) = yield from self._place(bid, (entry,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        yield from self._enter("exit")
        exit_order = replace(
            entry,
            side=Side.SELL,
            limit_price=bid.exit_price or entry.limit_price,
            expected_price=bid.exit_price or entry.limit_price,
            size=opened.filled,
            time_in_force=TimeInForce.GTC,
        )
        self._register("cancel", exit_order)
        (placed,) = yield from self._place(bid, (exit_order,), OrderPurpose.EXIT, suffix="exit")
        if not placed.status.terminal:
            time_stop = (
                timedelta(seconds=bid.time_stop_seconds)
                if bid.time_stop_seconds
                else DEFAULT_TIME_STOP
            )
            stop = self._now() + time_stop
            placed = yield WaitForFill(exit_order, placed.client_order_id, stop)
            if not placed.status.terminal:
                yield CancelOrder(placed.client_order_id)
        yield from self._enter("unwind")
        yield from self._compensate()
        return LifecycleStatus.CLOSED

    def _place(
        self,
        bid: Bid,
        orders: tuple[PlannedOrder, ...],
        purpose: OrderPurpose,
        *,
        suffix: str = "",
    ) -> Generator[LifecycleStep, Any, list[OrderOutcome]]:
        items = tuple(
            OrderToSend(
                client_order_id(self.workflow_id, f"{order.leg}:{suffix}" if suffix else order.leg),
                order,
            )
            for order in orders
        )
        for item in items:
            self._expected[item.client_order_id] = item.order.expected_price
        if purpose is OrderPurpose.EXIT:
            timeout = EXIT_PLACEMENT_TIMEOUT
        else:
            timeout = max(bid.valid_until - self._now(), MIN_PLACEMENT_TIMEOUT)
        outcomes: list[OrderOutcome] = yield PlaceOrders(purpose, items, bid.valid_until, timeout)
        for item, outcome in zip(items, outcomes, strict=True):
            for compensation in self._compensations:
                if compensation.order.leg == item.order.leg and not compensation.client_order_id:
                    compensation.client_order_id = outcome.client_order_id
        return outcomes

    # -- compensation ----------------------------------------------------------------------

    def _register(self, kind: str, order: PlannedOrder) -> None:
        self._compensations.append(_Compensation(kind, order))

    def _compensate(self) -> Generator[LifecycleStep, Any, None]:
        """Run the registered compensations newest first (each step retries until it is done)."""
        while self._compensations:
            compensation = self._compensations.pop()
            order = compensation.order
            if compensation.kind == "cancel":
                if compensation.client_order_id:
                    yield CancelOrder(compensation.client_order_id)
                continue
            result: UnwindResult = yield Unwind(
                UnwindInput(
                    workflow_id=self.workflow_id,
                    leg=order.leg,
                    venue=order.venue,
                    market_id=order.market_id,
                    instrument_id=order.instrument_id,
                    outcome=order.outcome,
                    keep=compensation.keep,
                )
            )
            if result.remaining > compensation.keep:
                self._residual[(order.venue, order.market_id)] = None

    def _settle_residual(self) -> Generator[LifecycleStep, Any, tuple[SettledMarket, ...]]:
        """What an unwind could not sell before its market resolved settles with the market."""
        if not self._residual:
            return ()
        settled = []
        for venue, market_id in self._residual:
            payout: Decimal = yield AwaitSettlement(venue, market_id)
            settled.append(SettledMarket(venue.value, market_id, payout))
        return tuple(settled)

    # -- hold and record -------------------------------------------------------------------

    def _hold(self, bid: Bid) -> Generator[LifecycleStep, Any, tuple[SettledMarket, ...]]:
        resolves_at = self.opportunity.resolves_at
        if resolves_at is not None and resolves_at > self._now():
            yield SleepUntil(resolves_at)
        settled = []
        for venue, market_id in dict.fromkeys((o.venue, o.market_id) for o in bid.orders):
            payout: Decimal = yield AwaitSettlement(venue, market_id)
            settled.append(SettledMarket(venue.value, market_id, payout))
        return tuple(settled)

    def _close(
        self,
        status: LifecycleStatus,
        settled: tuple[SettledMarket, ...],
        *,
        release: bool = True,
    ) -> Generator[LifecycleStep, Any, TradeOutcome]:
        outcome: TradeOutcome = yield CloseTrade(
            status.value, dict(self._expected), settled, release
        )
        return outcome
