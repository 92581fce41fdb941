"""The backtest's driver of the lifecycle program: each step performed on the replay exchange.

:class:`~pmarb.lifecycle.program.OpportunityLifecycle` decides; this driver performs its steps the
way the live activities do, but on the replay exchange and the replay clock, and hands back the
same answers. It is a generator of :data:`Wait`: whoever runs it (the backtest's event loop, or
one lifecycle's private replay in the ``--lifecycle`` comparison) advances the replay by each
wait before resuming it, so an order reaches the venue only once the replay has reached the
moment it would arrive, and sees the book as of then.

What a backtest needs of its surroundings (risk, cash, halts, latencies) comes through an
:class:`Account`; the order operations themselves (:class:`ReplayOrders`) are the same for every
caller, including the comparison's activities.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from pmarb.activities.risk import RiskCheckResult
from pmarb.backtest.exchange import ReplayExchange
from pmarb.domain.bid import Bid, PlannedOrder
from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.risk import RiskLimits
from pmarb.lifecycle import timing
from pmarb.lifecycle.drive import perform_yielding
from pmarb.lifecycle.fills import wait_for_fill
from pmarb.lifecycle.messages import (
    OrderOutcome,
    OrderToSend,
    TradeOutcome,
    UnwindInput,
    UnwindResult,
    WaitForFillInput,
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
    FillWaitStep,
    LifecycleStep,
    LookUpOrder,
    Pause,
    PlaceOrders,
    ReadBestBid,
    ReadFairValue,
    RecordUnpursued,
    RefreshOrders,
    SendOrder,
    SleepUntil,
    TagStrategy,
    Unwind,
    UnwindStep,
    WaitForFill,
)
from pmarb.lifecycle.unwind import unwind
from pmarb.risk.rules import Exposure, GuardState, decide
from pmarb.store.risk import RiskCheckRequest
from pmarb.store.trades import summarise


@dataclass(frozen=True, slots=True)
class Latency:
    """An order's trip to the venue (what a live activity spends on the wire)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Idle:
    """A timer or a poll interval: time passes, nothing is sent."""

    seconds: float


@dataclass(frozen=True, slots=True)
class UntilResolved:
    """Wait until the recording shows the market's resolution."""

    venue: VenueId
    market_id: str


Wait = Latency | Idle | UntilResolved
Waits = Generator[Wait, None, Any]

# Every true amount of money here is a multiple of 1e-8 (prices have at most six decimals, sizes
# two, fees are rounded to the cent or the micro-dollar), but a fill's average price is its
# notional ÷ its size to 28 digits, so size × average can be off by ~1e-26. Rounding back to
# 1e-12 recovers the exact amount, and sums of exact amounts reconcile to the last digit.
EXACT = Decimal("1e-12")


def exact(amount: Decimal) -> Decimal:
    return amount.quantize(EXACT)


class HaltedError(Exception):
    """Trading was halted when an order adding risk was about to go out (live: the placement
    activity's ``Halted`` failure)."""


def classify(error: BaseException) -> Interruption:
    """The backtest's failures as the workflow reads its own: a halt is reported, a bug raised."""
    if isinstance(error, HaltedError):
        return Interruption(LifecycleStatus.HALTED, reraise=False)
    return Interruption(LifecycleStatus.UNWOUND, reraise=True)


class Account(Protocol):
    """What one lifecycle's replay needs from around it."""

    def latency(self) -> float:
        """The next order's trip to the venue, in seconds."""

    def halted(self) -> bool:
        """Whether trading is halted now (orders that add risk are refused)."""

    def check_risk(self, bid: Bid) -> RiskCheckResult:
        """The pre-trade check (reserving exposure when approved)."""

    def stage(self, stage: str) -> None:
        """The lifecycle entered ``stage``."""

    def strategy(self, strategy: str) -> None:
        """The winning bid's strategy."""

    def unpursued(self, status: str) -> None:
        """Nobody bid."""

    def cash_moved(self, amount: Decimal) -> None:
        """Fills moved this much cash (negative: paid out), fees included."""

    def settled(self, payout: Decimal) -> None:
        """A resolution paid this much for what the lifecycle held."""

    def close(self, step: CloseTrade, outcome: TradeOutcome) -> None:
        """The lifecycle recorded its trade (and released its reservation when ``release``)."""


def replay_risk_check(
    request: RiskCheckRequest,
    limits: RiskLimits,
    guard: GuardState,
    exposure: Exposure,
    cash: Decimal,
    now: datetime,
) -> RiskCheckResult:
    """The guardian's rules over the replay's exposure; a replay also has only its own cash."""
    verdict = decide(request.as_trade(), limits, guard, exposure, now)
    if verdict.approved and request.capital > cash:
        return RiskCheckResult(
            False, "INSUFFICIENT_CASH", "the venues would refuse the buys: the replay's cash is all"
        )
    return RiskCheckResult(verdict.approved, verdict.reason.value, verdict.detail)


def trade_outcome(exchange: ReplayExchange, workflow_id: str, step: CloseTrade) -> TradeOutcome:
    """What the live ``close_trade`` activity answers, from the replay's ledger."""
    summary = summarise(
        exchange.ledger(workflow_id),
        step.expected_prices,
        {(s.venue, s.market_id): s.yes_payout for s in step.settled},
        step.status,
    )
    return TradeOutcome(
        None if summary.realized_pnl is None else exact(summary.realized_pnl),
        exact(summary.fees),
        exact(summary.cost),
        exact(summary.slippage),
        summary.filled_orders,
    )


def cash_delta(before: OrderOutcome | None, after: OrderOutcome, side: Side) -> Decimal:
    """The cash an order's fills moved since it was last seen, fees included."""
    notional_before = (
        before.filled * before.average_price
        if before is not None and before.average_price is not None
        else ZERO
    )
    fees_before = before.fees if before is not None else ZERO
    notional = after.filled * after.average_price if after.average_price is not None else ZERO
    traded = notional - notional_before
    return exact((-traded if side is Side.BUY else traded) - (after.fees - fees_before))


@dataclass(slots=True)
class Holding:
    """What a lifecycle holds of one instrument."""

    venue: VenueId
    market_id: str
    outcome: Outcome
    size: Decimal = ZERO


class ReplayOrders:
    """One lifecycle's order operations on the replay exchange, as the order activities perform
    them live (each a generator of waits), and what its fills leave it holding."""

    def __init__(
        self,
        exchange: ReplayExchange,
        workflow_id: str,
        account: Account,
        clock: Callable[[], datetime],
    ) -> None:
        self.exchange = exchange
        self.workflow_id = workflow_id
        self.account = account
        self.clock = clock
        self.holdings: dict[str, Holding] = {}  # instrument id -> holding
        self._seen: dict[str, OrderOutcome] = {}
        self._orders: dict[str, PlannedOrder] = {}

    def _account(self, order: PlannedOrder, outcome: OrderOutcome) -> None:
        before = self._seen.get(outcome.client_order_id)
        self._seen[outcome.client_order_id] = outcome
        traded = outcome.filled - (before.filled if before is not None else ZERO)
        if traded != ZERO:
            holding = self.holdings.get(order.instrument_id)
            if holding is None:
                holding = self.holdings[order.instrument_id] = Holding(
                    order.venue, order.market_id, order.outcome
                )
            holding.size += traded if order.side is Side.BUY else -traded
        moved = cash_delta(before, outcome, order.side)
        if moved != ZERO:
            self.account.cash_moved(moved)

    def _trip(self, items: tuple[OrderToSend, ...]) -> Latency:
        held = max((self.exchange.order_delay(item.order) for item in items), default=0.0)
        return Latency(self.account.latency() + held)

    def place(
        self, purpose: OrderPurpose, items: tuple[OrderToSend, ...], expires_at: datetime | None
    ) -> Generator[Wait, None, list[OrderOutcome]]:
        """Send the orders together; they reach the venue after the trip."""
        yield self._trip(items)
        if purpose.adds_risk and self.account.halted():
            raise HaltedError("trading is halted; no order sent")
        outcomes = self.exchange.place(self.workflow_id, purpose, items, expires_at)
        for item, outcome in zip(items, outcomes, strict=True):
            self._orders.setdefault(item.client_order_id, item.order)
            self._account(item.order, outcome)
        return outcomes

    def look_up(self, client_order_id: str) -> OrderOutcome | None:
        """The order's state now, its new fills accounted for."""
        outcome = self.exchange.outcome(client_order_id)
        if outcome is not None and client_order_id in self._orders:
            self._account(self._orders[client_order_id], outcome)
        return outcome

    def cancel(self, client_order_id: str) -> Generator[Wait, None, OrderOutcome | None]:
        yield Latency(self.account.latency())
        self.look_up(client_order_id)
        outcome = self.exchange.cancel(client_order_id)
        if outcome is not None and client_order_id in self._orders:
            self._account(self._orders[client_order_id], outcome)
        return outcome

    def wait_for_fill(self, request: WaitForFillInput) -> Generator[Wait, None, OrderOutcome]:
        def perform(step: FillWaitStep) -> Waits:
            if isinstance(step, LookUpOrder):
                return self.look_up(step.client_order_id)
            if isinstance(step, ReadFairValue):
                return self.exchange.fair_value(step.venue, step.market_id, step.outcome)
            yield Idle(step.duration.total_seconds())
            return None

        return (yield from perform_yielding(wait_for_fill(request, self.clock), perform))

    def unwind_once(self, request: UnwindInput) -> Generator[Wait, None, UnwindResult]:
        """One attempt of the unwind activity (its rounds)."""

        def perform(step: UnwindStep) -> Waits:
            if isinstance(step, RefreshOrders):
                for order in self.exchange.ledger(self.workflow_id):
                    if order.instrument_id == step.instrument_id and not order.status.terminal:
                        self.look_up(order.client_order_id)
                return self.exchange.ledger(self.workflow_id)
            if isinstance(step, ReadBestBid):
                return self.exchange.best_bid(step.venue, step.instrument_id)
            if isinstance(step, SendOrder):
                (outcome,) = yield from self.place(step.purpose, (step.order,), None)
                return outcome
            yield Idle(step.duration.total_seconds())
            return None

        return (yield from perform_yielding(unwind(request), perform))

    def unwind(self, request: UnwindInput) -> Generator[Wait, None, UnwindResult]:
        """The unwind as Temporal runs it: attempts retried with the compensation backoff until
        done, or until the market has resolved (what is left is then held to settlement)."""
        attempt = 0
        while True:
            result = yield from self.unwind_once(request)
            if result.remaining <= request.keep:
                return result
            if self.exchange.yes_payout(request.venue, request.market_id) is not None:
                return result
            yield Idle(timing.COMPENSATION.delay(attempt).total_seconds())
            attempt += 1

    def held_payout(self, venue: VenueId, market_id: str, yes_payout: Decimal) -> Decimal:
        """What the lifecycle's holdings in the market are paid at its resolution."""
        paid = ZERO
        for holding in self.holdings.values():
            if holding.venue is venue and holding.market_id == market_id:
                per_unit = yes_payout if holding.outcome is Outcome.YES else 1 - yes_payout
                paid += holding.size * per_unit
        return exact(paid)


class ReplayDriver:
    """Performs one lifecycle program on the replay; :meth:`run` is a generator of waits that
    returns the program's result."""

    def __init__(
        self,
        lifecycle: OpportunityLifecycle,
        exchange: ReplayExchange,
        account: Account,
        clock: Callable[[], datetime],
    ) -> None:
        self.lifecycle = lifecycle
        self.exchange = exchange
        self.account = account
        self.clock = clock
        self.orders = ReplayOrders(exchange, lifecycle.workflow_id, account, clock)

    def run(self) -> Generator[Wait, None, LifecycleResult]:
        return (yield from perform_yielding(self.lifecycle.run(), self._perform, HaltedError))

    def _perform(self, step: LifecycleStep) -> Waits:
        account, orders = self.account, self.orders
        if isinstance(step, EnterStage):
            account.stage(step.stage)
            return None
        if isinstance(step, TagStrategy):
            account.strategy(step.strategy)
            return None
        if isinstance(step, RecordUnpursued):
            account.unpursued(step.status)
            return None
        if isinstance(step, CheckRisk):
            return account.check_risk(step.bid)
        if isinstance(step, PlaceOrders):
            return (yield from orders.place(step.purpose, step.orders, step.expires_at))
        if isinstance(step, Pause):
            yield Idle(step.duration.total_seconds())
            return None
        if isinstance(step, WaitForFill):
            return (yield from orders.wait_for_fill(step.request()))
        if isinstance(step, CancelOrder):
            return (yield from orders.cancel(step.client_order_id))
        if isinstance(step, Unwind):
            return (yield from orders.unwind(step.request))
        if isinstance(step, SleepUntil):
            wait = step.moment - self.clock()
            if wait > timedelta(0):
                yield Idle(wait.total_seconds())
            return None
        if isinstance(step, AwaitSettlement):
            if self.exchange.yes_payout(step.venue, step.market_id) is None:
                yield UntilResolved(step.venue, step.market_id)
            payout = self.exchange.yes_payout(step.venue, step.market_id)
            assert payout is not None
            account.settled(orders.held_payout(step.venue, step.market_id, payout))
            return payout
        assert isinstance(step, CloseTrade)
        outcome = trade_outcome(self.exchange, self.lifecycle.workflow_id, step)
        account.close(step, outcome)
        return outcome
