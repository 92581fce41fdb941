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
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from pmarb.activities.risk import RiskCheckResult, build_request
from pmarb.backtest.driver import (
    Holding,
    Idle,
    Latency,
    ReplayDriver,
    UntilResolved,
    Wait,
    classify,
    replay_risk_check,
)
from pmarb.backtest.events import (
    NANOS,
    BookUpdate,
    Dataset,
    Event,
    FeedHeartbeat,
    OracleUpdate,
    Resolution,
    to_datetime,
    to_ns,
)
from pmarb.backtest.exchange import ReplayClock, ReplayExchange
from pmarb.domain.bid import Bid
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity, OpportunityKind
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.risk import RiskLimits
from pmarb.lifecycle.messages import TradeOutcome
from pmarb.lifecycle.program import LifecycleResult, OpportunityLifecycle
from pmarb.lifecycle.steps import CloseTrade
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.recording.replay import known_oracle_tick
from pmarb.risk.rules import Exposure, GuardState, LegExposure, RiskReason
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.store.risk import next_utc_midnight
from pmarb.strategies.allocator import STRATEGIES
from pmarb.strategies.base import SizingLimits, StrategyBudget
from pmarb.strategies.tournament import (
    AllocationStatus,
    StrategyRecord,
    TournamentRules,
    reallocate,
)
from pmarb.venues.paper.venue import PaperConfig
from pmarb.workers.marketdata import (
    FAIR_VALUE_PROXIES,
    VALUATION_SECONDS,
    register_detectors,
    scanner_config,
)

ORACLE_STRATEGIES = frozenset({"oracle-sniper", "oracle-patient", "mean-reversion"})
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
    paper_latency: float = PaperConfig().latency
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


@dataclass(frozen=True)
class Mark:
    """A position still held when the replay ended, and the price it is valued at."""

    venue: str
    market_id: str
    instrument_id: str
    size: Decimal
    price: Decimal
    basis: str  # "payout" (resolved), "mid", "bid" or "ask" (the book's), "cost" (no book)

    @property
    def value(self) -> Decimal:
        return self.size * self.price


@dataclass
class Decision:
    """Everything the replay decided about one detected opportunity.

    Its money: ``cash_flow`` is every cash movement of its orders (fills, fees, unwinds) and
    settlement payouts; ``marks`` value what it still held when the replay ended; ``pnl`` is
    their sum. A closed lifecycle holds nothing: its ``pnl`` is its ``realized_pnl``.
    """

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
    cash_flow: Decimal = ZERO
    opened_at: datetime | None = None  # its first fill
    holdings: dict[str, Holding] = field(default_factory=dict)  # instrument id -> what it holds
    marks: list[Mark] = field(default_factory=list)

    @property
    def traded(self) -> bool:
        """Something filled: a trade, whose money counts."""
        return self.opened_at is not None

    @property
    def unrealized_pnl(self) -> Decimal:
        """Still open at the end: what it has cost and been paid so far, plus its marks."""
        if not self.traded or self.closed_at is not None:
            return ZERO
        return self.cash_flow + sum((mark.value for mark in self.marks), ZERO)

    @property
    def pnl(self) -> Decimal:
        """Realised and unrealised together, fees included."""
        return (self.realized_pnl or ZERO) + self.unrealized_pnl


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
    halted_at: datetime | None = None  # the ratchet stop fired: nothing traded after it
    situations: tuple[Mapping[str, Any], ...] = ()  # what the world injected, if synthetic


Step = Generator[Wait, None, LifecycleResult]


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
        self.fair_values = replay_fair_values(limits, self.clock)
        self.exchange.fair_values = self.fair_values
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
        self._awaiting: dict[tuple[VenueId, str], list[Callable[[], None]]] = {}
        self.cash = limits.bankroll
        self.high_water = limits.bankroll
        self.halted = False
        self.halted_at: datetime | None = None
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
        self._value(final=True)  # the curve's last point is the end's value
        for decision in self._open.values():  # still open: valued as the last curve point is
            self._record_orders(decision)
            decision.marks = self.marks(decision)
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
            halted_at=self.halted_at,
            situations=self.dataset.situations,
        )

    def _apply(self, event: Event) -> None:
        if isinstance(event, BookUpdate):
            self.exchange.apply(event)
        elif isinstance(event, FeedHeartbeat):
            self.exchange.heartbeat(event)
        elif isinstance(event, OracleUpdate):
            tick = known_oracle_tick(event)
            if tick is not None:
                self.fair_values.observe(tick)
                self.scanner.on_oracle_update(tick.series)
        elif isinstance(event, Resolution):
            self.exchange.resolve(event)
            for resume in self._awaiting.pop((event.venue, event.market_id), []):
                resume()

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
        self._schedule(self.config.decision_latency, partial(self._start, decision, opportunity))

    def _start(self, decision: Decision, opportunity: Opportunity) -> None:
        """The workflow starts: the lifecycle program runs on the replay from here."""
        decision.decided_at = self.clock.now()
        decision.decided_ns = self.clock.ns
        decision.cash = self.cash
        decision.budgets = self.budgets
        lifecycle = OpportunityLifecycle(
            opportunity,
            self.budgets,
            workflow_id=decision.workflow_id,
            clock=self.clock.now,
            classify=classify,
            sizing=SizingLimits.of(self.config.limits),
        )
        driver = ReplayDriver(lifecycle, self.exchange, _Books(self, decision), self.clock.now)
        decision.holdings = driver.orders.holdings
        self._advance(decision, driver.run())

    def _advance(self, decision: Decision, step: Step) -> None:
        try:
            wait = next(step)
        except StopIteration as done:
            result: LifecycleResult = done.value
            if decision.status == "pending":  # ended before any trade was recorded
                decision.status = result.status.value
            return
        resume = partial(self._advance, decision, step)
        if isinstance(wait, UntilResolved):
            key = (wait.venue, wait.market_id)
            if self.exchange.yes_payout(*key) is not None:
                self._schedule(0.0, resume)
            else:
                self._awaiting.setdefault(key, []).append(resume)
            return
        assert isinstance(wait, Latency | Idle)
        self._schedule(wait.seconds, resume)

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

    def check_risk(self, decision: Decision, bid: Bid) -> RiskCheckResult:
        """The guardian's pre-trade check over the replay's own ledger, reserving on approval."""
        now = self.clock.now()
        assert decision.opportunity is not None
        request = build_request(decision.workflow_id, decision.opportunity, bid)
        exposure = self.exposure(bid.strategy)
        guard = self.guard_state()
        decision.exposure, decision.guard = exposure, guard
        verdict = replay_risk_check(request, self.config.limits, guard, exposure, self.cash, now)
        decision.risk = verdict.reason
        if verdict.reason == RiskReason.DAILY_LOSS_PAUSE.value and (
            self.paused_until is None or self.paused_until <= now
        ):
            self.paused_until = next_utc_midnight(now)
            self.scanner.enabled = False
        if verdict.approved:
            self._reservations[decision.workflow_id] = Reservation(
                bid.strategy, request.capital, request.legs
            )
            self._open[decision.workflow_id] = decision
        return verdict

    # -- accounting ------------------------------------------------------------------------

    def close(self, decision: Decision, step: CloseTrade, outcome: TradeOutcome) -> None:
        """The lifecycle recorded its trade: the report's facts, and the reservation's release."""
        decision.status = step.status
        self._record_orders(decision)
        if not step.release:
            return
        decision.closed_at = self.clock.now()
        decision.realized_pnl = outcome.realized_pnl if outcome.filled_orders else None
        self._reservations.pop(decision.workflow_id, None)
        self._open.pop(decision.workflow_id, None)
        if decision.realized_pnl is not None:
            day = decision.closed_at.date()
            self._realised_by_day[day] = self._realised_by_day.get(day, ZERO) + (
                decision.realized_pnl
            )

    def _record_orders(self, decision: Decision) -> None:
        orders = self.exchange.ledger(decision.workflow_id)
        decision.fees = sum((o.fees for o in orders), ZERO)
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

    # -- valuation, guardian, tournament ---------------------------------------------------

    def marks(self, decision: Decision) -> list[Mark]:
        """What an open lifecycle holds, each position at its mark: the resolution's payout once
        the market has resolved, else the book's mid (or the one side it shows, as the live
        valuation marks), else its cost."""
        marks = []
        for instrument, holding in decision.holdings.items():
            if holding.size == ZERO:
                continue
            price, basis = self._mark(decision, instrument, holding)
            marks.append(
                Mark(
                    holding.venue.value,
                    holding.market_id,
                    instrument,
                    holding.size,
                    price,
                    basis,
                )
            )
        return marks

    def _mark(self, decision: Decision, instrument: str, holding: Holding) -> tuple[Decimal, str]:
        payout = self.exchange.yes_payout(holding.venue, holding.market_id)
        if payout is not None:
            return (payout if holding.outcome is Outcome.YES else 1 - payout), "payout"
        price, basis = self.exchange.mark(holding.venue, instrument)
        if price is not None:
            return price, basis
        cost = next(
            (
                o.average_price
                for o in self.exchange.ledger(decision.workflow_id)
                if o.instrument_id == instrument
                and o.side is Side.BUY
                and o.average_price is not None
            ),
            ZERO,
        )
        return cost, "cost"

    def portfolio_value(self) -> Decimal:
        """Cash plus every open lifecycle's positions at their marks."""
        value = self.cash
        for decision in self._open.values():
            for instrument, holding in decision.holdings.items():
                if holding.size != ZERO:
                    price, _ = self._mark(decision, instrument, holding)
                    value += holding.size * price
        return value

    def _value(self, *, final: bool = False) -> None:
        limits = self.config.limits
        value = self.portfolio_value()
        self.high_water = max(self.high_water, value)
        if not self.halted and value < limits.floor_for(self.high_water):
            self.halted = True  # the guardian's ratchet stop: only a human resumes
            self.halted_at = self.clock.now()
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
        if final or not self.curve or (now - self.curve[-1].at).total_seconds() >= CURVE_SECONDS:
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


class _Books:
    """What one lifecycle's replay sees of the backtest around it (the driver's Account)."""

    def __init__(self, engine: Backtest, decision: Decision) -> None:
        self.engine = engine
        self.decision = decision

    def latency(self) -> float:
        config = self.engine.config
        drawn = config.paper_latency + self.engine._rng.random() * config.latency_jitter
        self.decision.latencies.append(drawn)
        return drawn

    def halted(self) -> bool:
        return self.engine.halted

    def check_risk(self, bid: Bid) -> RiskCheckResult:
        return self.engine.check_risk(self.decision, bid)

    def stage(self, stage: str) -> None:
        return None

    def strategy(self, strategy: str) -> None:
        self.decision.strategy = strategy

    def unpursued(self, status: str) -> None:
        self.decision.status = status

    def cash_moved(self, amount: Decimal) -> None:
        self.engine.cash += amount
        self.decision.cash_flow += amount
        if self.decision.opened_at is None:
            self.decision.opened_at = self.engine.clock.now()

    def settled(self, payout: Decimal) -> None:
        self.engine.cash += payout
        self.decision.cash_flow += payout

    def close(self, step: CloseTrade, outcome: TradeOutcome) -> None:
        self.engine.close(self.decision, step, outcome)


def replay_fair_values(limits: RiskLimits, clock: ReplayClock) -> LiveFairValues:
    """The live fair-value models on the replay's clock, as the market-data worker runs them."""
    return LiveFairValues(
        FAIR_VALUE_PROXIES, max_age_seconds=limits.stale_quote_seconds, clock=clock.now
    )


def trades(decisions: list[Decision]) -> Iterator[Decision]:
    """Decisions that became trades: something filled and the P&L is known."""
    return (d for d in decisions if d.realized_pnl is not None)


def is_oracle(decision: Decision) -> bool:
    return decision.kind == OpportunityKind.ORACLE_LAG.value or (
        decision.strategy in ORACLE_STRATEGIES
    )
