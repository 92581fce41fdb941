"""The fast path: recorded events through the live scanner, strategies, allocator, risk rules and
paper fill model, on one replay clock.

What keeps it pessimistic and honest:

- Detection is the live :class:`~pmarb.scanner.scanner.Scanner` over the live book stores and
  :class:`~pmarb.oracles.fair_value.live.LiveFairValues`, registered exactly as ``pmarb
  marketdata`` registers it.
- A detected opportunity is decided ``decision_latency`` later (the workflow start and local risk
  activity), with the allocator's :func:`~pmarb.strategies.allocator.choose_bid` and the pure
  :func:`~pmarb.risk.rules.decide` over an in-memory exposure ledger, built from the same
  :func:`~pmarb.activities.risk.build_request` the live risk activity uses.
- Orders reach the paper venue ``paper_latency`` (plus seeded jitter) after they are sent, and fill
  against the book as of that moment: visible depth only, fees per fill, depth taken stays taken.
- The lifecycle mirrors :class:`~pmarb.workflows.opportunity.OpportunityWorkflow` step for step
  (atomic, leg-and-hedge, single, resting, round trip; unwinds newest first).
- A held position settles only when the recording shows its resolution; P&L comes from the live
  :func:`~pmarb.store.trades.summarise`. Cash pays for every buy, so capital depletes.
- Nothing reads ahead: the only source of time is the event being applied, and scheduled steps
  run before any later event is applied.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from pmarb.activities.orders import OrderOutcome, OrderToSend
from pmarb.activities.risk import build_request
from pmarb.backtest.events import (
    NANOS,
    BookUpdate,
    Dataset,
    Event,
    OracleUpdate,
    Resolution,
    to_datetime,
    to_ns,
)
from pmarb.backtest.exchange import ReplayClock, ReplayExchange
from pmarb.domain.bid import Bid, ExecutionStyle, PlannedOrder
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityKind
from pmarb.domain.oracle import OracleTick
from pmarb.domain.orders import OrderPurpose, TimeInForce, client_order_id
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.risk import RiskLimits
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.recording.replay import oracle_tick
from pmarb.risk.rules import Exposure, GuardState, LegExposure, RiskReason, decide
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.store.orders import net_holding
from pmarb.store.risk import next_utc_midnight
from pmarb.store.trades import summarise
from pmarb.strategies.allocator import STRATEGIES, choose_bid
from pmarb.strategies.base import StrategyBudget
from pmarb.strategies.tournament import (
    AllocationStatus,
    StrategyRecord,
    TournamentRules,
    reallocate,
)
from pmarb.workers.marketdata import FAIR_VALUE_PROXIES, register_detectors, scanner_config
from pmarb.workflows.opportunity import HEDGE_PAUSE, LifecycleStatus

ORACLE_STRATEGIES = frozenset({"oracle-sniper", "oracle-patient", "mean-reversion"})
POLL_SECONDS = 0.25  # the live wait_for_fill activity's poll
UNWIND_ROUNDS = 10  # the live unwind activity's rounds per attempt
VALUATION_SECONDS = 5.0  # the live market-data service values the portfolio this often
CURVE_SECONDS = 60.0


@dataclass(frozen=True)
class BacktestConfig:
    limits: RiskLimits = field(default_factory=RiskLimits)
    strategies: tuple[str, ...] = tuple(STRATEGIES)
    start_ns: int | None = None
    end_ns: int | None = None
    seed: int = 0
    # Detection to risk decision: an eager workflow start plus the local risk activity.
    decision_latency: float = 0.02
    # Order sent to order seen by the venue (the live paper venue's default latency).
    paper_latency: float = 0.05
    # Up to this much extra latency per order, drawn from the seeded generator.
    latency_jitter: float = 0.02
    tournament: TournamentRules = field(default_factory=TournamentRules)

    def __post_init__(self) -> None:
        unknown = [name for name in self.strategies if name not in STRATEGIES]
        if unknown:
            raise ValueError(
                f"unknown strategies {', '.join(unknown)}; known: {', '.join(STRATEGIES)}"
            )
        if not self.strategies:
            raise ValueError("a backtest needs at least one strategy")


@dataclass
class OrderFact:
    """One order's result, for the report and for comparing runs."""

    client_order_id: str
    leg: str
    purpose: str
    side: str
    requested: Decimal
    filled: Decimal
    average_price: Decimal | None
    fees: Decimal
    status: str


@dataclass
class Decision:
    """Everything the replay decided about one detected opportunity."""

    workflow_id: str
    kind: str
    detected_at: datetime
    decided_at: datetime | None = None
    strategy: str | None = None
    risk: str | None = None
    status: str = "pending"
    closed_at: datetime | None = None
    realized_pnl: Decimal | None = None
    fees: Decimal = ZERO
    orders: list[OrderFact] = field(default_factory=list)
    exposure: Exposure | None = None  # what the risk rules saw (for the lifecycle replay)
    guard: GuardState | None = None
    budgets: tuple[StrategyBudget, ...] = ()
    opportunity: Opportunity | None = None
    decided_ns: int | None = None
    cash: Decimal | None = None  # free cash when the risk check ran
    latencies: list[float] = field(default_factory=list)  # each order's latency, in order


@dataclass
class Reservation:
    strategy: str
    capital: Decimal
    legs: tuple[LegExposure, ...]


@dataclass(frozen=True)
class CurvePoint:
    at: datetime
    value: Decimal
    cash: Decimal
    deployed: Decimal


@dataclass(frozen=True)
class AllocationDay:
    day: date
    fractions: dict[str, Decimal]
    reasons: dict[str, str]


@dataclass
class BacktestResult:
    config: BacktestConfig
    start: datetime
    end: datetime
    events: int
    decisions: list[Decision]
    curve: list[CurvePoint]
    allocations: list[AllocationDay]
    utilisation: dict[str, Decimal]  # strategy (and "portfolio") -> time-average reserved
    synthetic: bool
    data_seed: int | None


class _Halted(Exception):
    """Trading was halted when an order adding risk was about to go out."""


@dataclass(frozen=True)
class _AwaitResolution:
    venue: VenueId
    market_id: str


Step = Generator["float | _AwaitResolution", None, None]


class Backtest:
    def __init__(
        self,
        dataset: Dataset,
        config: BacktestConfig | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.dataset = dataset
        self.config = config or BacktestConfig()
        self._progress = progress
        self.clock = ReplayClock()
        limits = self.config.limits
        self.exchange = ReplayExchange(
            dataset.markets, self.clock, max_book_age=limits.stale_quote_seconds
        )
        self.fair_values = LiveFairValues(
            FAIR_VALUE_PROXIES,
            max_age_seconds=limits.stale_quote_seconds,
            clock=self.clock.now,
        )
        self.scanner = Scanner(
            self.exchange.stores,
            self._detected,
            config=scanner_config(limits),
            fair_values=self.fair_values,
            clock=self.clock.now,
        )
        self._known_markets: dict[tuple[VenueId, str], Market] = {}
        self._known_pairs: dict[int, MatchedPair] = {}
        for venue, store in self.exchange.stores.items():
            store.add_listener(self.scanner.listener_for(venue))
        self._rng = random.Random(self.config.seed)
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0
        self.decisions: list[Decision] = []
        self._by_id: dict[str, Decision] = {}
        self._reservations: dict[str, Reservation] = {}
        self._open: dict[str, Decision] = {}  # holding or in flight, with fills
        self._awaiting: dict[tuple[VenueId, str], list[Step]] = {}
        self._expected: dict[str, dict[str, Decimal]] = {}
        self.cash = limits.bankroll
        self.high_water = limits.bankroll
        self.halted = False
        self.paused_until: datetime | None = None
        self._realised_by_day: dict[date, Decimal] = {}
        self._fractions: dict[str, Decimal | None] = dict.fromkeys(self.config.strategies)
        self._status: dict[str, AllocationStatus] = dict.fromkeys(
            self.config.strategies, AllocationStatus.ACTIVE
        )
        self._paused_on: dict[str, date | None] = {}
        self.budgets: tuple[StrategyBudget, ...] = ()
        self.allocations: list[AllocationDay] = []
        self.curve: list[CurvePoint] = []
        self._utilisation: dict[str, Decimal] = {}
        self._utilisation_seconds = 0.0
        self.events = 0

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> BacktestResult:
        config = self.config
        start_ns = config.start_ns if config.start_ns is not None else self.dataset.start_ns
        end_ns = config.end_ns if config.end_ns is not None else self.dataset.end_ns
        self.clock.ns = start_ns
        self._schedule_listings(start_ns)
        self._tournament()
        self._every(VALUATION_SECONDS, self._value)
        self._schedule_midnight()
        for event in self.dataset.replay(start_ns, end_ns):
            self._run_due(event.ts_ns)
            self.clock.ns = event.ts_ns
            self._apply(event)
            self.events += 1
            if self._progress is not None and self.events % 10_000 == 0:
                self._progress(10_000)
        self._run_due(end_ns + 1)
        self.clock.ns = max(self.clock.ns, end_ns)
        self._value()
        if self._progress is not None:
            self._progress(self.events % 10_000)
        seconds = max(self._utilisation_seconds, 1e-9)
        utilisation = {
            name: total / Decimal(repr(seconds)) / config.limits.bankroll
            for name, total in self._utilisation.items()
        }
        return BacktestResult(
            config=config,
            start=to_datetime(start_ns),
            end=to_datetime(end_ns),
            events=self.events,
            decisions=self.decisions,
            curve=self.curve,
            allocations=self.allocations,
            utilisation=utilisation,
            synthetic=self.dataset.synthetic,
            data_seed=self.dataset.seed,
        )

    def _apply(self, event: Event) -> None:
        if isinstance(event, BookUpdate):
            self.exchange.apply(event)
        elif isinstance(event, OracleUpdate):
            tick = _tick(event)
            if tick is not None:
                self.fair_values.observe(tick)
                self.scanner.on_oracle_update(tick.series)
        elif isinstance(event, Resolution):
            self.exchange.resolve(event)
            for step in self._awaiting.pop((event.venue, event.market_id), []):
                self._advance(step)

    def _schedule_listings(self, start_ns: int) -> None:
        """Markets and pairs join the scanner when the recording says they became known; the
        detectors are rebuilt then, as the live service rebuilds them on a pair change."""
        dataset = self.dataset
        times = sorted(
            {max(ts, start_ns) for ts, _ in dataset.market_listings}
            | {max(ts, start_ns) for ts, _ in dataset.pair_listings}
        )
        if not dataset.market_listings:  # no listing times: everything from the start
            for market in dataset.markets:
                self._known_markets[(market.venue, market.market_id)] = market
            for pair in dataset.pairs:
                self._known_pairs[pair.match_id] = pair
            self._rebuild_detectors()
            return
        for at in times:
            self._schedule_at(at - 1, partial(self._list_until, at))
        closes = sorted({to_ns(m.close_time) for m in dataset.markets if m.close_time is not None})
        for at in closes:
            if at > start_ns:
                self._schedule_at(at, self._rebuild_detectors)

    def _list_until(self, at: int) -> None:
        for ts, market in self.dataset.market_listings:
            if ts <= at:
                self._known_markets[(market.venue, market.market_id)] = market
        for ts, pair in self.dataset.pair_listings:
            if ts <= at:
                self._known_pairs[pair.match_id] = pair
        self._rebuild_detectors()

    def _rebuild_detectors(self) -> None:
        """Discovery lists open markets only: a market past its close leaves the scanner."""
        now = self.clock.now()

        def is_open(market: Market) -> bool:
            return market.close_time is None or market.close_time > now

        markets = [m for m in self._known_markets.values() if is_open(m)]
        pairs = [p for p in self._known_pairs.values() if is_open(p.a) and is_open(p.b)]
        self.scanner.clear()
        register_detectors(self.scanner, self.fair_values, markets, pairs)

    def _schedule(self, delay_seconds: float, action: Callable[[], None]) -> None:
        due = self.clock.ns + max(0, round(delay_seconds * NANOS))
        self._seq += 1
        heapq.heappush(self._queue, (due, self._seq, action))

    def _schedule_at(self, due_ns: int, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(due_ns, self.clock.ns), self._seq, action))

    def _run_due(self, before_ns: int) -> None:
        """Run every step due strictly before ``before_ns`` (a step due at an event's own time
        runs after it: the book at t is the last row at or before t)."""
        queue = self._queue
        while queue and queue[0][0] < before_ns:
            due, _, action = heapq.heappop(queue)
            self.clock.ns = due
            action()

    def _every(self, seconds: float, action: Callable[[], None]) -> None:
        def again() -> None:
            action()
            self._schedule(seconds, again)

        self._schedule(seconds, again)

    def _schedule_midnight(self) -> None:
        now = self.clock.now()
        midnight = next_utc_midnight(now)

        def at_midnight() -> None:
            self._tournament()
            self._schedule_midnight()

        self._schedule_at(to_ns(midnight), at_midnight)

    # -- detection and decision ------------------------------------------------------------

    def _detected(self, opportunity: Opportunity) -> None:
        decision = Decision(
            workflow_id=opportunity.workflow_id,
            kind=opportunity.kind.value,
            detected_at=opportunity.detected_at,
            opportunity=opportunity,
        )
        if decision.workflow_id in self._by_id:  # the live start is a no-op for a duplicate
            return
        self.decisions.append(decision)
        self._by_id[decision.workflow_id] = decision
        step = self._lifecycle(decision, opportunity)
        self._schedule(self.config.decision_latency, lambda: self._advance(step))

    def _advance(self, step: Step) -> None:
        try:
            wait = next(step)
        except StopIteration:
            return
        if isinstance(wait, _AwaitResolution):
            key = (wait.venue, wait.market_id)
            if self.exchange.yes_payout(*key) is not None:
                self._schedule(0.0, lambda: self._advance(step))
            else:
                self._awaiting.setdefault(key, []).append(step)
            return
        self._schedule(wait, lambda: self._advance(step))

    def guard_state(self) -> GuardState:
        now = self.clock.now()
        return GuardState(
            halted=self.halted,
            halt_reason="ratchet stop: value below the floor" if self.halted else None,
            paused_until=self.paused_until,
            realised_today=self._realised_by_day.get(now.date(), ZERO),
        )

    def exposure(self, strategy: str) -> Exposure:
        by_market: dict[tuple[str, str], Decimal] = {}
        by_venue: dict[str, Decimal] = {}
        by_strategy: dict[str, Decimal] = {}
        deployed = ZERO
        for reservation in self._reservations.values():
            deployed += reservation.capital
            by_strategy[reservation.strategy] = (
                by_strategy.get(reservation.strategy, ZERO) + reservation.capital
            )
            for leg in reservation.legs:
                key = (leg.venue, leg.market_id)
                by_market[key] = by_market.get(key, ZERO) + leg.amount
                by_venue[leg.venue] = by_venue.get(leg.venue, ZERO) + leg.amount
        fraction = self._fractions.get(strategy)
        budgets = {}
        if fraction is not None:
            paused = self._status.get(strategy) is AllocationStatus.PAUSED
            budgets[strategy] = ZERO if paused else fraction * self.config.limits.bankroll
        return Exposure(
            by_market=by_market,
            by_venue=by_venue,
            deployed=deployed,
            by_strategy={strategy: by_strategy.get(strategy, ZERO)},
            strategy_budgets=budgets,
        )

    def _lifecycle(self, decision: Decision, opportunity: Opportunity) -> Step:
        limits = self.config.limits
        now = self.clock.now()
        decision.decided_at = now
        decision.decided_ns = self.clock.ns
        decision.cash = self.cash
        decision.budgets = self.budgets
        bid = choose_bid(opportunity, self.budgets, now, limits.per_market_limit)
        if bid is None:
            decision.status = LifecycleStatus.NO_BID.value
            return
        decision.strategy = bid.strategy
        request = build_request(decision.workflow_id, opportunity, bid)
        exposure = self.exposure(bid.strategy)
        guard = self.guard_state()
        decision.exposure, decision.guard = exposure, guard
        verdict = decide(request.as_trade(), limits, guard, exposure, now)
        decision.risk = verdict.reason.value
        if verdict.reason is RiskReason.DAILY_LOSS_PAUSE and (
            self.paused_until is None or self.paused_until <= now
        ):
            self.paused_until = next_utc_midnight(now)
            self.scanner.enabled = False
        if not verdict.approved:
            decision.status = LifecycleStatus.REJECTED.value
            return
        if bid.capital > self.cash:
            # The venues would refuse the buys: the replay's cash is all there is.
            decision.risk = "INSUFFICIENT_CASH"
            decision.status = LifecycleStatus.REJECTED.value
            return
        self._reservations[decision.workflow_id] = Reservation(
            bid.strategy, request.capital, request.legs
        )
        self._open[decision.workflow_id] = decision
        yield from _Lifecycle(self, decision, opportunity, bid).run()

    # -- accounting ------------------------------------------------------------------------

    def order_filled(self, before: OrderOutcome | None, after: OrderOutcome, order: Side) -> None:
        """Move cash by what an order filled since it was last seen."""
        filled_before = before.filled if before is not None else ZERO
        notional_before = (
            before.filled * before.average_price
            if before is not None and before.average_price is not None
            else ZERO
        )
        fees_before = before.fees if before is not None else ZERO
        notional = after.filled * after.average_price if after.average_price is not None else ZERO
        if after.filled == filled_before and after.fees == fees_before:
            return
        delta = notional - notional_before
        fees = after.fees - fees_before
        self.cash += (-delta if order is Side.BUY else delta) - fees

    def close(self, decision: Decision, status: LifecycleStatus, *, release: bool = True) -> None:
        orders = self.exchange.ledger(decision.workflow_id)
        payouts: dict[tuple[str, str], Decimal] = {}
        for order in orders:
            payout = self.exchange.yes_payout(VenueId(order.venue), order.market_id)
            if payout is not None:
                payouts[(order.venue, order.market_id)] = payout
        summary = summarise(
            orders, self._expected.get(decision.workflow_id, {}), payouts, status.value
        )
        decision.status = status.value
        decision.fees = summary.fees
        decision.orders = [
            OrderFact(
                client_order_id=o.client_order_id,
                leg=o.leg or "",
                purpose=o.purpose.value,
                side=o.side.value,
                requested=o.size,
                filled=o.filled_size,
                average_price=o.average_price,
                fees=o.fees,
                status=o.status.value,
            )
            for o in orders
        ]
        if not release:
            return
        decision.closed_at = self.clock.now()
        decision.realized_pnl = summary.realized_pnl if summary.filled_orders else None
        self._reservations.pop(decision.workflow_id, None)
        self._open.pop(decision.workflow_id, None)
        if decision.realized_pnl is not None:
            day = decision.closed_at.date()
            self._realised_by_day[day] = self._realised_by_day.get(day, ZERO) + (
                decision.realized_pnl
            )

    def settle_cash(self, decision: Decision) -> None:
        """Credit the payout of what the lifecycle still holds (at its recorded resolution)."""
        orders = self.exchange.ledger(decision.workflow_id)
        for instrument in dict.fromkeys(o.instrument_id for o in orders):
            held = net_holding(orders, instrument)
            if held == ZERO:
                continue
            sample = next(o for o in orders if o.instrument_id == instrument)
            payout = self.exchange.yes_payout(VenueId(sample.venue), sample.market_id)
            if payout is None:
                continue
            per_unit = payout if sample.outcome is Outcome.YES else 1 - payout
            self.cash += held * per_unit

    # -- valuation, guardian, tournament ---------------------------------------------------

    def portfolio_value(self) -> Decimal:
        """Cash plus open positions at mid (the live valuation's marks; at cost without one)."""
        value = self.cash
        for decision in self._open.values():
            orders = self.exchange.ledger(decision.workflow_id)
            for instrument in dict.fromkeys(o.instrument_id for o in orders):
                held = net_holding(orders, instrument)
                if held == ZERO:
                    continue
                sample = next(o for o in orders if o.instrument_id == instrument)
                mark = self.exchange.mark(VenueId(sample.venue), instrument)
                if mark is None:
                    mark = next(
                        (
                            o.average_price
                            for o in orders
                            if o.instrument_id == instrument
                            and o.side is Side.BUY
                            and o.average_price is not None
                        ),
                        ZERO,
                    )
                value += held * mark
        return value

    def _value(self) -> None:
        limits = self.config.limits
        value = self.portfolio_value()
        self.high_water = max(self.high_water, value)
        if not self.halted and value < limits.floor_for(self.high_water):
            self.halted = True  # the guardian's ratchet stop: only a human resumes
        now = self.clock.now()
        paused = self.paused_until is not None and self.paused_until > now
        if not paused:
            self.paused_until = None
        self.scanner.enabled = not (self.halted or paused)
        # Capital reserved, weighted by how long it stays reserved (one valuation period).
        self._utilisation_seconds += VALUATION_SECONDS
        weight = Decimal(repr(VALUATION_SECONDS))
        deployed = ZERO
        for reservation in self._reservations.values():
            deployed += reservation.capital
            self._utilisation[reservation.strategy] = (
                self._utilisation.get(reservation.strategy, ZERO) + reservation.capital * weight
            )
        self._utilisation["portfolio"] = (
            self._utilisation.get("portfolio", ZERO) + deployed * weight
        )
        if not self.curve or (now - self.curve[-1].at).total_seconds() >= CURVE_SECONDS:
            self.curve.append(CurvePoint(now, value, self.cash, deployed))

    def _tournament(self) -> None:
        """The daily reallocation over realised results, as the live tournament runs it."""
        rules = self.config.tournament
        today = self.clock.now().date()
        start = today - timedelta(days=rules.window_days)
        days = [start + timedelta(days=n) for n in range(rules.window_days)]
        records = []
        for name in self.config.strategies:
            closed = [
                d
                for d in self.decisions
                if d.strategy == name
                and d.realized_pnl is not None
                and d.closed_at is not None
                and start <= d.closed_at.date() < today
            ]
            by_day: dict[date, Decimal] = {}
            for d in closed:
                assert d.closed_at is not None and d.realized_pnl is not None
                by_day[d.closed_at.date()] = by_day.get(d.closed_at.date(), ZERO) + d.realized_pnl
            records.append(
                StrategyRecord(
                    strategy=name,
                    daily_pnl=tuple(by_day.get(day, ZERO) for day in days),
                    trades=len(closed),
                    wins=sum(
                        1 for d in closed if d.realized_pnl is not None and d.realized_pnl > 0
                    ),
                    fraction=self._fractions[name],
                    status=self._status[name],
                    paused_on=self._paused_on.get(name),
                )
            )
        allocations, _ = reallocate(records, self.config.limits.bankroll, today, rules)
        bankroll = self.config.limits.bankroll
        for allocation in allocations:
            self._fractions[allocation.strategy] = allocation.fraction
            self._status[allocation.strategy] = allocation.status
            self._paused_on[allocation.strategy] = allocation.paused_on
        self.budgets = tuple(
            StrategyBudget(a.strategy, a.fraction * bankroll, a.status is AllocationStatus.ACTIVE)
            for a in allocations
        )
        self.allocations.append(
            AllocationDay(
                today,
                {a.strategy: a.fraction for a in allocations},
                {a.strategy: a.reason for a in allocations},
            )
        )


class _Lifecycle:
    """One approved opportunity, step by step as the OpportunityWorkflow takes it."""

    def __init__(
        self, engine: Backtest, decision: Decision, opportunity: Opportunity, bid: Bid
    ) -> None:
        self.engine = engine
        self.decision = decision
        self.opportunity = opportunity
        self.bid = bid
        self.workflow_id = decision.workflow_id
        self.compensations: list[tuple[str, PlannedOrder, list[str], Decimal]] = []
        self.seen: dict[str, OrderOutcome] = {}
        self.sides: dict[str, Side] = {}
        self.expected = engine._expected.setdefault(self.workflow_id, {})

    @property
    def now(self) -> datetime:
        return self.engine.clock.now()

    def run(self) -> Step:
        engine = self.engine
        try:
            status = yield from self.execute()
            if status is LifecycleStatus.HOLDING:
                self.compensations.clear()
                engine.close(self.decision, LifecycleStatus.HOLDING, release=False)
                yield from self.hold()
                status = LifecycleStatus.SETTLED
        except _Halted:
            yield from self.compensate()
            engine.close(self.decision, LifecycleStatus.HALTED)
            return
        engine.close(self.decision, status)

    # -- legs ------------------------------------------------------------------------------

    def execute(self) -> Generator[Any, None, LifecycleStatus]:
        style = self.bid.style
        if style is ExecutionStyle.ATOMIC:
            return (yield from self.atomic())
        if style is ExecutionStyle.LEG_AND_HEDGE:
            return (yield from self.leg_and_hedge())
        if style is ExecutionStyle.SINGLE:
            return (yield from self.single())
        if style is ExecutionStyle.RESTING:
            return (yield from self.resting())
        return (yield from self.round_trip())

    def register(self, kind: str, order: PlannedOrder) -> None:
        self.compensations.append((kind, order, [], ZERO))

    def latency(self) -> float:
        config = self.engine.config
        drawn = config.paper_latency + self.engine._rng.random() * config.latency_jitter
        self.decision.latencies.append(drawn)
        return drawn

    def place(
        self, orders: tuple[PlannedOrder, ...], purpose: OrderPurpose, suffix: str = ""
    ) -> Generator[Any, None, list[OrderOutcome]]:
        items = tuple(
            OrderToSend(
                client_order_id(self.workflow_id, f"{o.leg}:{suffix}" if suffix else o.leg), o
            )
            for o in orders
        )
        for item in items:
            self.expected[item.client_order_id] = item.order.expected_price
        yield self.latency()
        if self.engine.halted and purpose.adds_risk:
            raise _Halted()
        outcomes = self.engine.exchange.place(
            self.workflow_id, purpose, items, self.bid.valid_until
        )
        for item, outcome in zip(items, outcomes, strict=True):
            self.account(item.order.side, outcome)
            for _kind, order, coids, _ in self.compensations:
                if order.leg == item.order.leg and not coids:
                    coids.append(outcome.client_order_id)
        return outcomes

    def account(self, side: Side, outcome: OrderOutcome) -> None:
        self.engine.order_filled(self.seen.get(outcome.client_order_id), outcome, side)
        self.seen[outcome.client_order_id] = outcome
        self.sides[outcome.client_order_id] = side

    def refresh(self, coid: str, side: Side) -> OrderOutcome | None:
        """Pick up fills a resting order got from book updates since it was last looked at."""
        outcome = self.engine.exchange.outcome(coid)
        if outcome is not None:
            self.account(side, outcome)
        return outcome

    def atomic(self) -> Generator[Any, None, LifecycleStatus]:
        bid = self.bid
        for order in bid.orders:
            self.register("unwind", order)
        outcomes = yield from self.place(bid.orders, OrderPurpose.OPEN)
        if all(o.filled == order.size for o, order in zip(outcomes, bid.orders, strict=True)):
            return LifecycleStatus.HOLDING
        yield from self.compensate()
        return (
            LifecycleStatus.UNWOUND
            if any(o.filled > ZERO for o in outcomes)
            else LifecycleStatus.NO_FILL
        )

    def leg_and_hedge(self) -> Generator[Any, None, LifecycleStatus]:
        bid = self.bid
        first, hedges = bid.orders[0], bid.orders[1:]
        self.register("unwind", first)
        (opened,) = yield from self.place((first,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        for hedge in hedges:
            self.register("unwind", hedge)
        hedged = {hedge.leg: ZERO for hedge in hedges}
        deadline = self.now + timedelta(seconds=bid.hedge_window_seconds or 5.0)
        attempt = 0
        while True:
            missing = tuple(
                replace(hedge, size=opened.filled - hedged[hedge.leg])
                for hedge in hedges
                if hedged[hedge.leg] < opened.filled
            )
            if not missing or self.now >= deadline:
                break
            outcomes = yield from self.place(missing, OrderPurpose.HEDGE, suffix=f"h{attempt}")
            for outcome, hedge in zip(outcomes, missing, strict=True):
                hedged[hedge.leg] += outcome.filled
            attempt += 1
            if any(hedged[hedge.leg] < opened.filled for hedge in hedges):
                yield HEDGE_PAUSE.total_seconds()
        complete = min(hedged.values(), default=opened.filled)
        if complete == opened.filled:
            return LifecycleStatus.HOLDING
        self.compensations = [(k, o, c, complete) for k, o, c, _ in self.compensations]
        yield from self.compensate()
        return LifecycleStatus.HOLDING if complete > ZERO else LifecycleStatus.UNWOUND

    def single(self) -> Generator[Any, None, LifecycleStatus]:
        order = self.bid.orders[0]
        self.register("unwind", order)
        (outcome,) = yield from self.place((order,), OrderPurpose.OPEN)
        return LifecycleStatus.HOLDING if outcome.filled > ZERO else LifecycleStatus.NO_FILL

    def wait_for_fill(
        self, coid: str, side: Side, deadline: datetime
    ) -> Generator[Any, None, OrderOutcome | None]:
        while True:
            outcome = self.refresh(coid, side)
            if outcome is None or outcome.status.terminal or self.now >= deadline:
                return outcome
            yield POLL_SECONDS

    def cancel(self, coid: str, side: Side) -> Generator[Any, None, OrderOutcome | None]:
        yield self.latency()
        self.refresh(coid, side)
        outcome = self.engine.exchange.cancel(coid)
        if outcome is not None:
            self.account(side, outcome)
        return outcome

    def resting(self) -> Generator[Any, None, LifecycleStatus]:
        order = self.bid.orders[0]
        self.register("unwind", order)
        self.register("cancel", order)
        (outcome,) = yield from self.place((order,), OrderPurpose.OPEN)
        current: OrderOutcome | None = outcome
        if not outcome.status.terminal:
            current = yield from self.wait_for_fill(
                outcome.client_order_id, order.side, self.bid.valid_until
            )
        if current is not None and not current.status.terminal:
            current = (yield from self.cancel(current.client_order_id, order.side)) or current
        self.compensations = [c for c in self.compensations if c[0] != "cancel"]
        filled = current.filled if current is not None else ZERO
        return LifecycleStatus.HOLDING if filled > ZERO else LifecycleStatus.NO_FILL

    def round_trip(self) -> Generator[Any, None, LifecycleStatus]:
        bid = self.bid
        entry = bid.orders[0]
        self.register("unwind", entry)
        (opened,) = yield from self.place((entry,), OrderPurpose.OPEN)
        if opened.filled == ZERO:
            return LifecycleStatus.NO_FILL
        exit_order = replace(
            entry,
            side=Side.SELL,
            limit_price=bid.exit_price or entry.limit_price,
            expected_price=bid.exit_price or entry.limit_price,
            size=opened.filled,
            time_in_force=TimeInForce.GTC,
        )
        self.register("cancel", exit_order)
        (placed,) = yield from self.place((exit_order,), OrderPurpose.EXIT, suffix="exit")
        if not placed.status.terminal:
            stop = self.now + timedelta(seconds=bid.time_stop_seconds or 300.0)
            current = yield from self.wait_for_fill(placed.client_order_id, Side.SELL, stop)
            if current is not None and not current.status.terminal:
                yield from self.cancel(current.client_order_id, Side.SELL)
        yield from self.compensate()
        return LifecycleStatus.CLOSED

    # -- compensation ----------------------------------------------------------------------

    def compensate(self) -> Generator[Any, None, None]:
        while self.compensations:
            kind, order, coids, keep = self.compensations.pop()
            if kind == "cancel":
                if coids:
                    yield from self.cancel(coids[0], order.side)
                continue
            yield from self.unwind(order, keep)

    def unwind(self, order: PlannedOrder, keep: Decimal) -> Generator[Any, None, None]:
        """Sell what this lifecycle holds of the leg's instrument down to ``keep``, as the
        unwind activity does: cross the best bid by a bounded concession, up to its rounds."""
        exchange = self.engine.exchange
        for _ in range(UNWIND_ROUNDS):
            for coid, seen in list(self.seen.items()):
                if not seen.status.terminal:
                    self.refresh(coid, self.sides[coid])
            ledger = exchange.ledger(self.workflow_id)
            held = net_holding(ledger, order.instrument_id)
            excess = held - keep
            if excess <= ZERO:
                return
            round_number = sum(
                1 for o in ledger if o.purpose is OrderPurpose.UNWIND and o.leg == order.leg
            )
            price = exchange.unwind_price(order.venue, order.instrument_id)
            planned = PlannedOrder(
                leg=order.leg,
                venue=order.venue,
                market_id=order.market_id,
                instrument_id=order.instrument_id,
                outcome=order.outcome,
                side=Side.SELL,
                limit_price=price,
                size=excess,
                time_in_force=TimeInForce.FAK,
                expected_price=price,
            )
            coid = f"{self.workflow_id}:unwind:{order.leg}:{round_number}"
            yield self.latency()
            (outcome,) = exchange.place(
                self.workflow_id, OrderPurpose.UNWIND, (OrderToSend(coid, planned),), None
            )
            self.account(Side.SELL, outcome)
            if outcome.filled == ZERO:
                yield 1.0
        # Whatever could not be sold stays held until the market resolves (pessimistic: the
        # position keeps its risk; the live activity would keep retrying).

    # -- hold ------------------------------------------------------------------------------

    def hold(self) -> Generator[Any, None, None]:
        resolves_at = self.opportunity.resolves_at
        if resolves_at is not None and resolves_at > self.now:
            yield (resolves_at - self.now).total_seconds()
        for venue, market_id in dict.fromkeys((o.venue, o.market_id) for o in self.bid.orders):
            yield _AwaitResolution(venue, market_id)
        self.engine.settle_cash(self.decision)


def _tick(event: OracleUpdate) -> OracleTick | None:
    """A recorded oracle row as the live feeds' tick (a source pmarb does not know is skipped)."""
    try:
        return oracle_tick(event)
    except ValueError:
        return None


def trades(decisions: list[Decision]) -> Iterator[Decision]:
    """Decisions that became trades: something filled and the P&L is known."""
    return (d for d in decisions if d.realized_pnl is not None)


def is_oracle(decision: Decision) -> bool:
    return decision.kind == OpportunityKind.ORACLE_LAG.value or (
        decision.strategy in ORACLE_STRATEGIES
    )
