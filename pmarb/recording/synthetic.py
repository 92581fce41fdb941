"""Synthetic scenario recordings: the simulator's models run in simulated time, written in the
recording format (``pmarb sim --record PATH --hours H --seed N``).

No server and no clock: the scenario (BTC random walk, fair-value contracts, market maker, noise
taker) is stepped as fast as it computes, and after each step the recorder reads what changed:
every book whose top levels moved (one row per instrument, as the live recorder writes them),
each BTC trade and book-ticker mid as Binance ticks, each noise trade, each settlement at the
moment it happens, and each market the scenario rolls in. Market definitions are the simulator's
own venue payloads decoded by the real venue adapters, so they are what ``pmarb record`` would
have stored for the same markets.

So that a backtest has something to trade, a schedule drawn from the seed injects situations one
at a time, each for a limited time: a cross-venue gap on a pair that really is the same contract,
an intra-venue gap on an event of mutually exclusive outcomes, and a BTC jump that venue quotes
follow only after a lag. Pairs are recorded as tradable only when both markets settle on the same
scenario contract (the simulator's BTC "pair" settles on a candle close on one venue and a
60-second average on the other: not the same contract, so not an arbitrage).

The same seed, start and length give byte-identical files.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec

from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.parity import Outcome, Side
from pmarb.recording.schema import MICROS, to_micros
from pmarb.recording.writer import RecordingMetadata, RecordingWriter
from pmarb.scanner.detectors import MatchedPair
from pmarb.sim.exchange import Exchange, MarketUpdate, SimMarket
from pmarb.sim.faults import Faults
from pmarb.sim.kalshi import KalshiAuth
from pmarb.sim.kalshi import KalshiVenue as SimKalshi
from pmarb.sim.polymarket import PolymarketCredentials
from pmarb.sim.polymarket import PolymarketVenue as SimPolymarket
from pmarb.sim.scenario import ExternalTick, Scenario, ScenarioSettings
from pmarb.sim.units import PRICE_SCALE, SIZE_SCALE
from pmarb.venues.kalshi import fees as kalshi_fees
from pmarb.venues.kalshi.adapter import market_from
from pmarb.venues.kalshi.messages import EventPayload
from pmarb.venues.polymarket.gamma import GammaMarket, to_market

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
_PRICE_TO_MICROS = MICROS // PRICE_SCALE
_SIZE_TO_MICROS = MICROS // SIZE_SCALE if SIZE_SCALE <= MICROS else 0
_NS_PER_MS = 1_000_000
_BINANCE = "binance"


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    seed: int = 0
    hours: float = 24.0
    start: datetime = DEFAULT_START
    # 5 s steps generate a day in about a minute and a half on one core; the BTC walk's
    # volatility and every model adapt to the step.
    step_seconds: float = 5.0
    top_levels: int = 10
    # Mean simulated minutes between injected situations (0: none).
    situation_every_minutes: float = 20.0


@dataclass
class SyntheticSummary:
    path: Path
    steps: int = 0
    markets: int = 0
    resolutions: int = 0
    situations: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    # Every injected situation: kind, start and end (ISO), what it touched, its size.
    schedule: list[dict[str, str]] = field(default_factory=list)


class _Catalogue:
    """Domain markets for the simulator's markets, decoded from its venue payloads by the real
    adapters' parsers (the simulator never imports the adapters; this module may)."""

    def __init__(self, exchange: Exchange, scenario: Scenario) -> None:
        self.scenario = scenario
        self.exchange = exchange
        self._kalshi = SimKalshi(exchange, scenario, Faults(), KalshiAuth())
        self._polymarket = SimPolymarket(exchange, scenario, Faults(), PolymarketCredentials())
        exchange.detach_listeners()  # render-only: they must not see (or slow) every update

    def market(self, sim: SimMarket) -> Market:
        if sim.venue is VenueId.POLYMARKET:
            payload = msgspec.convert(self._polymarket.gamma_market(sim), GammaMarket)
            market = to_market(payload)
            if market is None:
                raise ValueError(f"the Polymarket parser refused {sim.key}")
            return market
        event = msgspec.convert(self._kalshi.event_object(sim.event_key, nested=True), EventPayload)
        series = self.scenario.series[sim.series]
        fees = kalshi_fees.fee_schedule(series["fee_type"], series["fee_multiplier"])
        for entry in event.markets or ():
            if entry.ticker == sim.market_id:
                return market_from(entry, event, fees)
        raise ValueError(f"the Kalshi event of {sim.key} does not list it")


class _Generator:
    def __init__(self, path: Path, spec: SyntheticSpec) -> None:
        if spec.hours <= 0:
            raise ValueError(f"hours must be positive, got {spec.hours}")
        if spec.step_seconds <= 0:
            raise ValueError(f"step_seconds must be positive, got {spec.step_seconds}")
        self.spec = spec
        start_ms = int(spec.start.timestamp() * 1000)
        self.step_ms = int(spec.step_seconds * 1000)
        self.total_steps = int(spec.hours * 3600 * 1000) // self.step_ms
        holder: list[Scenario] = []
        self.exchange = Exchange(lambda: holder[0].now_ms, seed=spec.seed)
        settings = ScenarioSettings(
            seed=spec.seed, start_ms=start_ms, step_seconds=spec.step_seconds
        )
        self.scenario = Scenario(settings, self.exchange)
        holder.append(self.scenario)
        self.catalogue = _Catalogue(self.exchange, self.scenario)
        end = spec.start + timedelta(milliseconds=self.total_steps * self.step_ms)
        self.writer = RecordingWriter(
            path,
            metadata=RecordingMetadata(
                synthetic=True,
                seed=spec.seed,
                created_at=spec.start,
                start=spec.start,
                end=end,
                sources=("polymarket", "kalshi", _BINANCE),
                notes=(
                    f"pmarb sim --record: default scenario, {spec.hours:g} h in "
                    f"{spec.step_seconds:g} s steps; injected situations drawn from the seed"
                ),
                top_levels=spec.top_levels,
                extra={"step_seconds": spec.step_seconds},
            ),
            max_buffered_rows=50_000,
            flush_seconds=None,  # flushes by row count only: deterministic part files
        )
        self.summary = SyntheticSummary(path)
        self.markets: dict[str, Market] = {}  # sim key -> domain market
        self._last_rows: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
        self._next_pair_id = 1
        self._recorded_pairs: set[str] = set()
        self._active: list[str] = []  # sim keys whose books are still recorded
        self._situations = random.Random(f"{spec.seed}:situations")
        self._situation_ends_at: int | None = None
        self._next_situation_at = start_ms + self._gap_ms()
        self.scenario.external.listeners.append(self._on_external)
        self.exchange.add_listener(self._on_exchange)
        self.scenario.on_settle.append(self._on_settle)
        self.scenario.on_new_market.append(self._on_new_market)

    # -- time ------------------------------------------------------------------------------

    def _ts(self) -> int:
        return self.scenario.now_ms * _NS_PER_MS

    def _gap_ms(self) -> int:
        every = self.spec.situation_every_minutes
        if every <= 0:
            return 1 << 62
        return int(self._situations.expovariate(1 / (every * 60_000))) + 60_000

    # -- what the scenario tells us ---------------------------------------------------------

    def _on_external(self, tick: ExternalTick) -> None:
        writer = self.writer
        ts = tick.ts_ms * _NS_PER_MS
        for trade in tick.trades:
            writer.oracle(
                ts,
                _BINANCE,
                tick.symbol,
                "trade",
                to_micros(Decimal(trade["p"])),
                trade["T"] * _NS_PER_MS,
            )
        book = tick.book_ticker
        mid = (Decimal(book["b"]) + Decimal(book["a"])) / 2
        # Spot book tickers carry no time of their own: the receive time stands in (as live).
        writer.oracle(ts, _BINANCE, tick.symbol, "mid", to_micros(mid), ts)

    def _on_exchange(self, update: MarketUpdate) -> None:
        if not update.executions:
            return
        market = self.markets.get(update.market.key)
        if market is None:
            return
        for execution in update.executions:
            taker = execution.taker
            self.writer.trade(
                execution.ts_ms * _NS_PER_MS,
                market.venue,
                market.yes_instrument_id,
                execution.yes_price * _PRICE_TO_MICROS,
                execution.size * _SIZE_TO_MICROS,
                str(taker.yes_side),
            )

    def _on_settle(self, sim: SimMarket) -> None:
        market = self.markets.get(sim.key)
        if market is None or sim.result is None:
            return
        ts = self._ts()
        self.writer.resolution(ts, market.venue, market.market_id, sim.result)
        self.writer.market(ts, _settled(market, sim.result))
        self.summary.resolutions += 1

    def _on_new_market(self, sim: SimMarket) -> None:
        self._add_market(sim)
        self._add_pairs()

    def _add_market(self, sim: SimMarket) -> None:
        market = self.catalogue.market(sim)
        self.markets[sim.key] = market
        self._active.append(sim.key)
        self.writer.market(self._ts(), market)
        self.summary.markets += 1

    def _add_pairs(self) -> None:
        for pair_key, keys in self.scenario.pairs.items():
            if pair_key in self._recorded_pairs or len(keys) != 2:
                continue
            contracts = {self.scenario.quoting[key].contract for key in keys}
            if len(contracts) != 1 or not all(key in self.markets for key in keys):
                continue
            by_venue = {self.markets[key].venue: self.markets[key] for key in keys}
            if set(by_venue) != {VenueId.KALSHI, VenueId.POLYMARKET}:
                continue
            pair = MatchedPair(
                self._next_pair_id,
                by_venue[VenueId.KALSHI],
                by_venue[VenueId.POLYMARKET],
                inverted=False,
            )
            self._next_pair_id += 1
            self.writer.pair(self._ts(), pair)
            self._recorded_pairs.add(pair_key)

    # -- books -----------------------------------------------------------------------------

    def _record_books(self) -> None:
        depth = self.spec.top_levels
        writer = self.writer
        ts = self._ts()
        finished: list[str] = []
        for key in self._active:
            market = self.markets[key]
            if not self.exchange.markets[key].is_open:
                finished.append(key)  # its last row (empty: no orders rest) is written now
            book = self.exchange.books[key]
            bids = book.levels(Side.BUY)[:depth]
            asks = book.levels(Side.SELL)[:depth]
            row = (
                [p * _PRICE_TO_MICROS for p, _ in bids],
                [s * _SIZE_TO_MICROS for _, s in bids],
                [p * _PRICE_TO_MICROS for p, _ in asks],
                [s * _SIZE_TO_MICROS for _, s in asks],
            )
            if self._last_rows.get(key) == row:
                continue
            self._last_rows[key] = row
            writer.book(ts, market.venue, market.yes_instrument_id, *row)
            if market.venue is VenueId.POLYMARKET:
                # The NO token has its own book on Polymarket: the YES book's mirror.
                writer.book(
                    ts,
                    market.venue,
                    market.no_instrument_id,
                    [MICROS - p for p in row[2]],
                    row[3],
                    [MICROS - p for p in row[0]],
                    row[1],
                )
        if finished:
            self._active = [key for key in self._active if key not in finished]

    # -- situations ------------------------------------------------------------------------

    def _situation(self) -> None:
        now = self.scenario.now_ms
        if self._situation_ends_at is not None and now >= self._situation_ends_at:
            self.scenario.clear_injections()
            self._situation_ends_at = None
            self._next_situation_at = now + self._gap_ms()
        if self._situation_ends_at is not None or now < self._next_situation_at:
            return
        rng = self._situations
        kind = rng.choice(("cross_venue", "intra_venue", "oracle_lag"))
        target = size = ""
        if kind == "cross_venue":
            pairs = [k for k, keys in self.scenario.pairs.items() if self._same_contract(keys)]
            if not pairs:
                kind = "oracle_lag"
            else:
                pair = rng.choice(sorted(pairs))
                gap = Decimal(rng.randint(5, 8)) / 100  # gross: fees take up to ~3 cents
                cheap = rng.choice((VenueId.KALSHI, VenueId.POLYMARKET))
                self.scenario.set_cross_venue_gap(pair, gap, cheap)
                target, size = pair, str(gap)
        if kind == "intra_venue":
            events = sorted(
                key
                for key, event in self.scenario.events.items()
                # Only a neg-risk event's outcomes are known to exclude each other: a gap
                # between two unlinked markets is no arbitrage pmarb could see or trade.
                if event.neg_risk
                and len(event.markets) > 1
                and all(self.exchange.markets[k].is_open for k in event.markets)
                and len({self.scenario.quoting[k].contract for k in event.markets}) == 1
            )
            if not events:
                kind = "oracle_lag"
            else:
                event, gap = rng.choice(events), Decimal(rng.randint(5, 8)) / 100
                self.scenario.set_intra_venue_gap(event, gap)
                target, size = event, str(gap)
        if kind == "oracle_lag":
            jump = rng.choice((-1, 1)) * rng.uniform(0.004, 0.012)
            cents = round(self.scenario.external.cents * (1 + jump))
            lag = rng.uniform(4.0, 12.0)
            self.scenario.oracle_jump(cents, lag)
            target, size = f"BTCUSDT to {Decimal(cents) / 100}", f"lag {lag:.1f}s"
        self._situation_ends_at = now + rng.randint(15, 60) * 1000
        self.summary.schedule.append(
            {
                "kind": kind,
                "start": _iso(now),
                "end": _iso(self._situation_ends_at),
                "target": target,
                "size": size,
            }
        )
        self.summary.situations[kind] = self.summary.situations.get(kind, 0) + 1

    def _same_contract(self, keys: list[str]) -> bool:
        if len(keys) != 2 or not all(self.exchange.markets[k].is_open for k in keys):
            return False
        return len({self.scenario.quoting[k].contract for k in keys}) == 1

    # -- the run ---------------------------------------------------------------------------

    def run(self, progress: Callable[[int, int], None] | None) -> SyntheticSummary:
        self.writer.open()
        try:
            for sim in list(self.exchange.markets.values()):
                self._add_market(sim)
            self._add_pairs()
            self._record_books()
            report_every = max(1, self.total_steps // 200)
            prune_every = max(1, 3_600_000 // self.step_ms)  # an hour of simulated time
            for step in range(1, self.total_steps + 1):
                self._situation()
                self.scenario.step(self.step_ms)
                self._record_books()
                if step % prune_every == 0:
                    self.exchange.forget_finished_orders()
                if progress is not None and (step % report_every == 0 or step == self.total_steps):
                    progress(step, self.total_steps)
            self.summary.steps = self.total_steps
        finally:
            # The ground truth a test or a reader can check detections against.
            self.writer.metadata = replace(
                self.writer.metadata,
                extra={**self.writer.metadata.extra, "situations": self.summary.schedule},
            )
            self.writer.close()
        self.summary.rows = dict(self.writer.rows_by_table)
        return self.summary


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _settled(market: Market, outcome: Outcome) -> Market:
    return replace(market, status=MarketStatus.SETTLED, settled_outcome=outcome)


def generate(
    path: Path, spec: SyntheticSpec, progress: Callable[[int, int], None] | None = None
) -> SyntheticSummary:
    """Write a synthetic recording at ``path``; ``progress(step, total)`` is called as it goes."""
    return _Generator(Path(path), spec).run(progress)
