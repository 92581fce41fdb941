"""``pmarb marketdata``: the data plane, and the worker for everything that needs live books.

Venue watchers keep every book in memory; oracle feeds keep the latest ticks; the scanner
re-evaluates only what an update touches and emits opportunities; this process starts one
OpportunityWorkflow per opportunity, eagerly, on its own task queue, and runs that workflow and
its order activities itself (eager start and eager activities need the same process and client;
paper fills need the live books). Market data never enters workflow history: only the
opportunity that is worth acting on does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from pmarb.activities.orders import OrderActivities
from pmarb.activities.record import RecordActivities
from pmarb.activities.risk import RiskActivities
from pmarb.alerts.dispatch import raise_and_dispatch
from pmarb.config import Settings
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.domain.oracle import OracleSource, TickKind, series_key
from pmarb.domain.parity import Outcome
from pmarb.domain.portfolio import Mark, book_mark
from pmarb.domain.risk import RiskLimits
from pmarb.feeds.health import FeedHealth
from pmarb.infra.runtime import Endpoints
from pmarb.oracles.binance import binance_feed
from pmarb.oracles.fair_value.live import LiveFairValues
from pmarb.oracles.stream import StreamingOracleFeed
from pmarb.reconciliation.paper import resume_paper_venues
from pmarb.reconciliation.reconciler import Reconciler
from pmarb.recording.recorder import HEARTBEAT_SECONDS, MarketDataRecorder
from pmarb.recording.writer import RecordingMetadata, RecordingWriter
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.store.alerts import AlertTier
from pmarb.store.db import connect, open_pool
from pmarb.store.feed_health import publish_feed_health
from pmarb.store.markets import get_markets, upsert_markets
from pmarb.store.matches import list_matches
from pmarb.store.portfolio import record_valuation, value_ledger
from pmarb.store.risk import current_limits
from pmarb.store.risk_state import read_halt_state
from pmarb.store.tournament import latest_allocations
from pmarb.strategies.allocator import equal_budgets
from pmarb.strategies.base import SizingLimits, StrategyBudget
from pmarb.venues.base import Venue
from pmarb.venues.factory import LiveVenue, build_live_venues, trading_venues
from pmarb.venues.kalshi.adapter import KalshiVenue
from pmarb.venues.polymarket.adapter import PolymarketVenue
from pmarb.workers.client import connect_client
from pmarb.workers.heap import startup_heap_frozen
from pmarb.workers.worker import workflow_runner
from pmarb.workflows import search_attributes
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow
from pmarb.workflows.risk_guardian import WORKFLOW_ID as GUARDIAN_ID
from pmarb.workflows.risk_guardian import RiskGuardianWorkflow, ValueUpdate

log = logging.getLogger(__name__)

BUDGET_REFRESH_SECONDS = 30.0
PAIR_REFRESH_SECONDS = 30.0
HALT_POLL_SECONDS = 0.5
HEALTH_PUBLISH_SECONDS = 2.0
VALUATION_SECONDS = 5.0
RECONCILE_SECONDS = 60.0
# Tell the guardian about the portfolio value only when it moves this share of the bankroll.
MATERIAL_MOVE = Decimal("0.005")


# Trades first: they carry the exchange's own time, while spot bookTicker frames have none and
# can only be stamped on arrival.
FAIR_VALUE_PROXIES = {
    "BTC": [
        series_key(OracleSource.BINANCE, "BTCUSDT", TickKind.TRADE),
        series_key(OracleSource.BINANCE, "BTCUSDT", TickKind.MID),
    ]
}


def scanner_config(risk: RiskLimits) -> ScannerConfig:
    """The scanner's thresholds under a risk profile (shared by the live path and backtests)."""
    return ScannerConfig(
        max_book_age_seconds=risk.stale_quote_seconds * 2,
        max_oracle_age_seconds=risk.stale_quote_seconds,
        max_slippage=risk.max_slippage,
    )


def register_detectors(
    scanner: Scanner, fair_values: LiveFairValues, markets: list[Market], pairs: list[MatchedPair]
) -> None:
    """Every detector the markets and matched pairs need: binary bundles, complete neg-risk
    events, pairs, and oracle-priced markets."""
    events: dict[tuple[VenueId, str], list[Market]] = {}
    oracle_markets = 0
    for market in markets:
        scanner.add_binary_market(market)
        if market.neg_risk and market.event_id and not market.neg_risk_augmented:
            events.setdefault((market.venue, market.event_id), []).append(market)
        symbols = fair_values.series_for(market)
        if symbols:
            scanner.add_oracle_market(market, symbols)
            oracle_markets += 1
    for members in events.values():
        if len(members) >= 2:
            scanner.add_neg_risk_event(members)
    for pair in pairs:
        scanner.add_pair(pair)
    log.info(
        "scanner: %d markets, %d neg-risk events, %d matched pairs, %d oracle-priced",
        len(markets),
        len(events),
        len(pairs),
        oracle_markets,
    )


class StartStats:
    def __init__(self) -> None:
        self.recent: deque[Opportunity] = deque(maxlen=100)
        self.detected = 0
        self.started = 0
        self.duplicates = 0
        self.suppressed_halted = 0
        self.failed = 0


class MarketDataService:
    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        *,
        trade: bool = True,
        on_ready: Callable[[MarketDataService], Awaitable[None]] | None = None,
        recorder: MarketDataRecorder | None = None,
    ) -> None:
        self.settings = settings
        # Optional: receives every book update, oracle tick, market and tradable pair (it only
        # appends to a buffer on the hot path); the service closes it when it stops.
        self.recorder = recorder
        self.endpoints = endpoints
        self.trade = trade
        self._on_ready = on_ready
        self.live: dict[VenueId, LiveVenue] = {}
        self.venues: dict[VenueId, Venue] = {}
        self.markets: dict[tuple[VenueId, str], Market] = {}
        self.oracles: list[StreamingOracleFeed] = []
        self.fair_values = LiveFairValues(
            FAIR_VALUE_PROXIES, max_age_seconds=settings.risk.stale_quote_seconds
        )
        self.scanner: Scanner | None = None
        self.stats = StartStats()
        self.halted = False
        self.paused = False
        self.reconciler: Reconciler | None = None
        self._queue: asyncio.Queue[Opportunity] = asyncio.Queue(maxsize=1000)
        self._budgets: tuple[StrategyBudget, ...] = tuple(equal_budgets(settings.risk.bankroll))
        self._last_value_sent: Decimal | None = None
        self._pairs: list[MatchedPair] = []
        self.client: Client | None = None
        self.pool: AsyncConnectionPool[Any] | None = None

    # -- set-up ----------------------------------------------------------------------------

    async def _discover(self) -> list[Market]:
        found: list[Market] = []
        for venue_id, adapter in self.live.items():
            try:
                markets = await adapter.discover_markets()
            except Exception as e:
                log.error("%s: market discovery failed: %s", venue_id, e)
                continue
            log.info("%s: %d markets", venue_id, len(markets))
            found.extend(markets)
            for market in markets:
                self.markets[(venue_id, market.market_id)] = market
                add = getattr(self.venues.get(venue_id), "add_market", None)
                if add is not None:
                    add(market)
        if self.recorder is not None:
            self.recorder.on_markets(found)
        if self.pool is not None:
            async with self.pool.connection() as conn:
                await upsert_markets(conn, found)
        return found

    async def _tradable_pairs(self) -> list[MatchedPair]:
        assert self.pool is not None
        async with self.pool.connection() as conn:
            matches = await list_matches(conn, tradable=True, limit=10_000)
            stored = await get_markets(
                conn,
                [(m.venue_a, m.market_a) for m in matches]
                + [(m.venue_b, m.market_b) for m in matches],
            )
        pairs = []
        for match in matches:
            a = self.markets.get((VenueId(match.venue_a), match.market_a)) or stored.get(
                (match.venue_a, match.market_a)
            )
            b = self.markets.get((VenueId(match.venue_b), match.market_b)) or stored.get(
                (match.venue_b, match.market_b)
            )
            if a is None or b is None or match.relation not in ("equivalent", "inverted"):
                continue
            pairs.append(MatchedPair(match.id, a, b, inverted=match.relation == "inverted"))
        return pairs

    def _register_detectors(self, markets: list[Market], pairs: list[MatchedPair]) -> None:
        assert self.scanner is not None
        register_detectors(self.scanner, self.fair_values, markets, pairs)

    def _feeds(self) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
        runners: list[Callable[[asyncio.Event], Awaitable[None]]] = []
        for venue_id, adapter in self.live.items():
            markets = [m for (v, _), m in self.markets.items() if v is venue_id]
            if not markets:
                continue
            if isinstance(adapter, PolymarketVenue):
                assets = [i for m in markets for i in (m.yes_instrument_id, m.no_instrument_id)]
                runners.extend(feed.run for feed in adapter.stream(assets))
            elif isinstance(adapter, KalshiVenue):
                runners.append(adapter.stream([m.market_id for m in markets]).run)
        oracle_settings = self.settings.oracles
        if oracle_settings.binance.url:
            feed = binance_feed(oracle_settings.binance)
            feed.subscribe(self._on_tick)
            self.oracles.append(feed)
            runners.append(feed.run)
        return runners

    def _on_tick(self, tick: Any) -> None:
        if self.recorder is not None:
            self.recorder.on_tick(tick)
        self.fair_values.observe(tick)
        if self.scanner is not None:
            self.scanner.on_oracle_update(tick.series)

    # -- the loop --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.settings
        self.client = await connect_client(
            self.endpoints.temporal_address,
            namespace=settings.temporal_namespace,
            api_key=(
                settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
            ),
            tls=settings.temporal_tls,
        )
        self.pool = await open_pool(self.endpoints.database_url, max_size=8)
        self.live = build_live_venues(settings.venues)
        self.venues = trading_venues(
            self.live,
            settings.venues,
            paper=settings.paper,
            bankroll=settings.risk.bankroll,
            max_book_age=settings.risk.stale_quote_seconds,
        )
        markets = await self._discover()
        if settings.paper:
            restored = await resume_paper_venues(self.pool, self.venues)
            log.info("paper venues resumed from the ledger (%d orders)", restored)
        self.reconciler = Reconciler(
            self.pool,
            self.venues,
            instrument_of=self._instrument_of,
            market_of=self._market_of,
            workflow_running=self._workflow_running,
            raise_alert=self._raise_alert,
        )
        # Before any workflow runs here: the ledger must agree with the venues first.
        await self.reconciler.reconcile()
        self.scanner = Scanner(
            {venue_id: adapter.store for venue_id, adapter in self.live.items()},
            self._enqueue,
            config=scanner_config(settings.risk),
            fair_values=self.fair_values,
        )
        self._pairs = await self._tradable_pairs()
        self._register_detectors(markets, self._pairs)
        for venue_id, adapter in self.live.items():
            adapter.store.add_listener(self.scanner.listener_for(venue_id))
        self._start_recording(self._pairs)
        runners = self._feeds()
        orders = OrderActivities(
            self.venues, self.pool, paper=settings.paper, fair_value=self._fair_value_of
        )
        risk = RiskActivities(self.pool, settings.risk)
        record = RecordActivities(self.pool)
        worker = Worker(
            self.client,
            task_queue=settings.marketdata_task_queue,
            workflows=[OpportunityWorkflow],
            activities=[
                risk.check_risk,
                orders.place_orders,
                orders.cancel_orders,
                orders.wait_for_fill,
                orders.unwind,
                orders.await_settlement,
                record.close_trade,
                record.record_unpursued,
            ],
            workflow_runner=workflow_runner(),
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
            max_cached_workflows=2000,
        )
        tasks: list[asyncio.Task[None]] = [
            asyncio.ensure_future(runner(stop)) for runner in runners
        ]
        loops: list[Coroutine[Any, Any, None]] = [
            self._every(stop, HALT_POLL_SECONDS, self._refresh_halt),
            self._every(stop, BUDGET_REFRESH_SECONDS, self._refresh_budgets),
            self._every(stop, PAIR_REFRESH_SECONDS, self._refresh_pairs),
            self._every(stop, HEALTH_PUBLISH_SECONDS, self._publish_health),
            self._every(stop, VALUATION_SECONDS, self.value_portfolio),
            self._every(stop, RECONCILE_SECONDS, self._reconcile, first_after=RECONCILE_SECONDS),
        ]
        if self.trade:
            loops.append(self._start_workflows(stop))
        if self.recorder is not None:
            loops.append(self._every(stop, self.settings.recording.flush_seconds, self._flush))
            loops.append(self._every(stop, HEARTBEAT_SECONDS, self._heartbeat))
        tasks += [asyncio.create_task(loop) for loop in loops]
        try:
            with startup_heap_frozen():
                async with worker:
                    if self._on_ready is not None:
                        await self._on_ready(self)
                    log.info(
                        "market data running: %d markets, %d feeds, %s",
                        len(self.markets),
                        len(runners),
                        "paper" if settings.paper else "LIVE",
                    )
                    await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in self.live.values():
                with contextlib.suppress(Exception):
                    await adapter.aclose()
            self._stop_recording()
            await self.pool.close()

    # -- recording ---------------------------------------------------------------------------

    def _start_recording(self, pairs: list[MatchedPair]) -> None:
        """Hook the recorder (if any) to every book store's updates (after the scanner) and
        trade prints."""
        if self.recorder is None:
            return
        self.recorder.on_pairs(pairs)
        for venue_id, adapter in self.live.items():
            adapter.store.add_listener(self.recorder.book_listener(venue_id, adapter.store))
            adapter.store.add_trade_listener(self.recorder.trade_listener(venue_id))

    async def _heartbeat(self) -> None:
        if self.recorder is not None:
            for venue_id, adapter in self.live.items():
                self.recorder.heartbeat(venue_id, adapter.store)

    async def _flush(self) -> None:
        if self.recorder is not None:
            await self.recorder.flush_in_background()

    def _stop_recording(self) -> None:
        if self.recorder is not None:
            try:
                self.recorder.writer.close()
            except Exception as e:
                log.error("recorder: closing %s failed: %s", self.recorder.writer.path, e)

    async def record(self, stop: asyncio.Event) -> None:
        """Run the venue watchers and oracle feeds into the recorder only: no scanner, no
        worker, no workflow. The database, when reachable, supplies the tradable pairs."""
        assert self.recorder is not None, "record() needs a recorder"
        self.pool = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._record(stop, tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in self.live.values():
                with contextlib.suppress(Exception):
                    await adapter.aclose()
            self._stop_recording()
            if self.pool is not None:
                await self.pool.close()

    async def _record(self, stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        assert self.recorder is not None
        self.live = build_live_venues(self.settings.venues)
        if self.endpoints.database_url:
            try:  # one probe first: a pool that never connects would keep retrying
                probe = await connect(self.endpoints.database_url, timeout=3)
                await probe.close()
                self.pool = await open_pool(self.endpoints.database_url, max_size=2)
            except Exception as e:
                log.warning("recording without matched pairs: database unreachable (%s)", e)
        else:
            log.info("recording without matched pairs: no database configured or running")
        await self._discover()
        if self.pool is not None:
            self._pairs = await self._tradable_pairs()
        self._start_recording(self._pairs)
        tasks.extend(asyncio.ensure_future(runner(stop)) for runner in self._feeds())
        flush_seconds = self.settings.recording.flush_seconds
        tasks.append(asyncio.create_task(self._every(stop, flush_seconds, self._flush)))
        tasks.append(asyncio.create_task(self._every(stop, HEARTBEAT_SECONDS, self._heartbeat)))
        if self._on_ready is not None:
            await self._on_ready(self)
        log.info("recording %d markets to %s", len(self.markets), self.recorder.writer.path)
        await stop.wait()

    # -- reconciliation ----------------------------------------------------------------------

    async def _reconcile(self) -> None:
        if self.reconciler is not None:
            await self.reconciler.reconcile()

    def _instrument_of(self, venue: VenueId, market_id: str, outcome: Outcome) -> str:
        market = self.markets.get((venue, market_id))
        if market is None:
            return f"{market_id}:{outcome.value}"
        return market.yes_instrument_id if outcome is Outcome.YES else market.no_instrument_id

    def _fair_value_of(self, venue: VenueId, market_id: str, outcome: Outcome) -> Decimal | None:
        """The fair probability of ``outcome`` in the market now, as the scanner prices it."""
        market = self.markets.get((venue, market_id))
        quote = None if market is None else self.fair_values.fair_value(market)
        return None if quote is None else quote.of(outcome)

    def _market_of(self, venue: VenueId, instrument_id: str) -> str | None:
        for (market_venue, market_id), market in self.markets.items():
            if market_venue is venue and instrument_id in (
                market.yes_instrument_id,
                market.no_instrument_id,
            ):
                return market_id
        return None

    async def _workflow_running(self, workflow_id: str) -> bool:
        assert self.client is not None
        try:
            description = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                return False
            raise
        return description.status is WorkflowExecutionStatus.RUNNING

    async def _raise_alert(self, tier: AlertTier, title: str, body: str, dedupe_key: str) -> None:
        assert self.pool is not None
        await raise_and_dispatch(
            self.pool,
            self.client,
            self.settings.task_queue,
            tier,
            title,
            body,
            dedupe_key=dedupe_key,
        )

    def _enqueue(self, opportunity: Opportunity) -> None:
        self.stats.detected += 1
        self.stats.recent.append(opportunity)
        try:
            self._queue.put_nowait(opportunity)
        except asyncio.QueueFull:
            log.warning("opportunity queue full; dropping %s", opportunity.business_key)

    async def _every(
        self,
        stop: asyncio.Event,
        seconds: float,
        action: Callable[[], Awaitable[None]],
        *,
        first_after: float = 0.0,
    ) -> None:
        if first_after > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=first_after)
        while not stop.is_set():
            try:
                await action()
            except Exception as e:
                log.warning("%s failed: %s", getattr(action, "__name__", "task"), e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def _start_workflows(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            opportunity = await self._queue.get()
            if self.halted or self.paused:
                self.stats.suppressed_halted += 1
                continue
            await self.start(opportunity)

    async def start(self, opportunity: Opportunity) -> WorkflowHandle[Any, Any] | None:
        """Start the opportunity's lifecycle; a duplicate detection starts nothing new."""
        assert self.client is not None
        legs = opportunity.legs
        summary = (
            f"{opportunity.kind.value} "
            + " + ".join(f"{leg.venue}:{leg.outcome}@{leg.limit_price}" for leg in legs)
            + f" × {opportunity.size} edge {opportunity.edge:.4f}"
        )[:200]
        try:
            handle = await self.client.start_workflow(
                OpportunityWorkflow.run,
                OpportunityInput(
                    opportunity,
                    self._budgets,
                    self.settings.marketdata_task_queue,
                    sizing=SizingLimits.of(self.settings.risk),
                ),
                id=opportunity.workflow_id,
                task_queue=self.settings.marketdata_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                request_eager_start=True,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(
                            search_attributes.VENUE,
                            ",".join(v.value for v in opportunity.venues),
                        ),
                        SearchAttributePair(
                            search_attributes.MARKET,
                            ",".join(dict.fromkeys(leg.market_id for leg in legs))[:200],
                        ),
                        SearchAttributePair(
                            search_attributes.OPPORTUNITY_KIND, opportunity.kind.value
                        ),
                        SearchAttributePair(search_attributes.STAGE, "bid"),
                    ]
                ),
                static_summary=summary,
            )
        except WorkflowAlreadyStartedError:
            self.stats.duplicates += 1
            return None
        except Exception as e:
            self.stats.failed += 1
            log.warning("could not start %s: %s", opportunity.workflow_id, e)
            return None
        self.stats.started += 1
        return handle

    # -- periodic --------------------------------------------------------------------------

    async def _refresh_halt(self) -> None:
        assert self.pool is not None
        async with self.pool.connection() as conn:
            state = await read_halt_state(conn)
        self.halted = state.halted
        self.paused = state.paused_until is not None and state.paused_until > datetime.now(UTC)
        if self.scanner is not None:
            self.scanner.enabled = not (self.halted or self.paused)

    async def _refresh_pairs(self) -> None:
        """Pick up pairs confirmed (or withdrawn) since start: re-register every detector."""
        pairs = await self._tradable_pairs()
        if {p.match_id for p in pairs} == {p.match_id for p in self._pairs}:
            return
        assert self.scanner is not None
        self._pairs = pairs
        if self.recorder is not None:
            self.recorder.on_pairs(pairs)
        self.scanner.clear()
        markets = list(self.markets.values())
        self._register_detectors(markets, pairs)

    async def _refresh_budgets(self) -> None:
        assert self.pool is not None
        async with self.pool.connection() as conn:
            rows = await latest_allocations(conn)
        if not rows:
            return
        self._budgets = tuple(
            StrategyBudget(
                row["strategy"],
                Decimal(row["fraction"]) * self.settings.risk.bankroll,
                row["status"] == "active",
            )
            for row in rows
        )

    def feed_states(self, max_age: float) -> list[tuple[FeedHealth, bool]]:
        """Every feed with whether it is stale: book feeds by their connection's last data
        (quiet books on a live connection are fine), oracle feeds by any series going quiet."""
        states: list[tuple[FeedHealth, bool]] = []
        for adapter in self.live.values():
            for health in adapter.store.healths():
                if health.messages or health.connected:
                    states.append((health, not adapter.store.feed_is_live(health, max_age)))
        for feed in self.oracles:
            snapshot = feed.health.snapshot(max_age)
            states.append((feed.health, not snapshot.connected or snapshot.stale_keys > 0))
        return states

    async def _publish_health(self) -> None:
        assert self.pool is not None
        max_age = self.settings.risk.stale_quote_seconds * 2
        states = self.feed_states(max_age)
        snapshots = [health.snapshot(max_age) for health, _ in states]
        stale = []
        if self.scanner is not None:
            stale = [
                (venue.value, instrument, None, True)
                for venue, instrument in sorted(self.scanner.stats.stale_instruments)
            ][:200]
        async with self.pool.connection() as conn:
            await publish_feed_health(
                conn, snapshots, stale, {health.name: is_stale for health, is_stale in states}
            )

    async def value_portfolio(self) -> None:
        """Value the ledger at the live books (:mod:`pmarb.domain.portfolio`), keep the marks
        and a snapshot; tell the guardian when the value moved materially."""
        assert self.pool is not None
        async with self.pool.connection() as conn:
            bankroll = (await current_limits(conn, self.settings.risk)).bankroll
            valuation = await value_ledger(conn, self._mark, bankroll=bankroll)
            await record_valuation(conn, valuation)
        value = valuation.value
        last = self._last_value_sent
        if last is None or abs(value - last) >= bankroll * MATERIAL_MOVE:
            await self._signal_guardian(value)

    def _mark(self, venue: VenueId, instrument_id: str) -> Mark | None:
        adapter = self.live.get(venue)
        if adapter is None:
            return None
        return book_mark(*adapter.store.best_bid_ask(instrument_id))

    async def _signal_guardian(self, value: Decimal) -> None:
        if self.client is None:
            return
        handle = self.client.get_workflow_handle(GUARDIAN_ID)
        try:
            await handle.signal(
                RiskGuardianWorkflow.portfolio_value,
                ValueUpdate(value=value, update_id=f"value-{time.time_ns()}"),
            )
        except Exception as e:
            log.debug("risk guardian not reachable for a value update: %s", e)
            return
        self._last_value_sent = value


async def run_marketdata(settings: Settings, endpoints: Endpoints) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    recorder = None
    if settings.recording.enabled:
        recorder = open_recorder(settings, None, sources=("polymarket", "kalshi", "binance"))
        log.info("recording market data to %s", recorder.writer.path)
    await MarketDataService(settings, endpoints, recorder=recorder).run(stop)


def open_recorder(
    settings: Settings, path: Path | None, *, sources: tuple[str, ...], notes: str = ""
) -> MarketDataRecorder:
    """A recorder writing where ``settings.recording`` (or ``path``) says, already open."""
    config = settings.recording
    started = datetime.now(UTC)
    writer = RecordingWriter(
        config.directory(settings.data_dir, started, path),
        metadata=RecordingMetadata(
            created_at=started,
            start=started,
            sources=sources,
            notes=notes,
            top_levels=config.top_levels,
        ),
        max_buffered_rows=config.max_buffered_rows,
        flush_seconds=config.flush_seconds,
    )
    writer.open()
    return MarketDataRecorder(writer)
