"""The simulator as one object: scenario + exchange + protocol servers + faults + admin API.

See ``pmarb/sim/README.md`` for the public API. Everything runs in the caller's event loop:
``async with Simulator(SimConfig(...)) as sim`` starts every server on 127.0.0.1 (port 0 picks a
free port), and ``sim.advance(seconds)`` moves simulated time without sleeping. With
``realtime=True`` a background task steps the scenario on the wall clock instead (the demo and
``pmarb sim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from pmarb.domain.market import VenueId
from pmarb.domain.parity import Outcome, Side
from pmarb.sim.binance import BinanceSocket
from pmarb.sim.exchange import Exchange, ReceivedOrder, SimMarket
from pmarb.sim.faults import FaultError, Faults
from pmarb.sim.http import JSON, HttpServer
from pmarb.sim.kalshi import PREFIX, WS_PATH, KalshiAuth, KalshiVenue
from pmarb.sim.polymarket import PolymarketCredentials, PolymarketVenue
from pmarb.sim.scenario import SCENARIOS, Scenario, ScenarioSettings
from pmarb.sim.units import ONE_PRICE, price_decimal, size_decimal

HOST = "127.0.0.1"


@dataclass
class SimConfig:
    """How to run the simulator. Every field has a default that works for a test."""

    seed: int = 0
    scenario: str = "default"
    # Simulated start time (unix ms). None: the wall clock at start (timestamps look live);
    # fix it for a byte-identical event stream across runs.
    start_time_ms: int | None = None
    step_seconds: float = 0.25
    realtime: bool = False
    oracle_lag_seconds: float = 0.0
    kalshi_public_key_pem: bytes | str | None = None
    kalshi_key_id: str | None = None
    polymarket_api_key: str | None = None
    polymarket_api_secret: str | None = None
    polymarket_passphrase: str | None = None
    polymarket_confirm_seconds: float = 0.0
    starting_balance: Decimal = Decimal(10_000)
    random_faults_probability: float = 0.0
    random_faults_seed: int | None = None
    host: str = HOST
    ports: dict[str, int] = field(default_factory=dict)  # server name -> port, 0 = free
    settings: dict[str, Any] = field(default_factory=dict)  # ScenarioSettings overrides


@dataclass(frozen=True)
class SimUrls:
    polymarket_gamma: str
    polymarket_clob: str
    polymarket_ws: str
    kalshi_rest: str
    kalshi_ws: str
    binance_ws: str
    admin: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MarketInfo:
    """What a test needs to address a scenario market on its venue."""

    key: str
    venue: VenueId
    market_id: str  # Polymarket condition id / Kalshi ticker
    yes_instrument_id: str  # Polymarket YES token id / Kalshi ticker
    no_instrument_id: str  # Polymarket NO token id / "<ticker>:no"
    title: str
    tick_size: Decimal
    min_size: Decimal
    neg_risk: bool
    event: str  # Polymarket event slug / Kalshi event ticker
    series: str  # Kalshi series ticker ("" on Polymarket)
    pair_key: str | None  # the same contract on the other venue has the same pair key
    outcomes: tuple[str, str]


@dataclass(frozen=True)
class BookView:
    """An instrument's book as the engine holds it: price → size, best first."""

    bids: dict[Decimal, Decimal]
    asks: dict[Decimal, Decimal]

    @property
    def best_bid(self) -> Decimal | None:
        return next(iter(self.bids), None)

    @property
    def best_ask(self) -> Decimal | None:
        return next(iter(self.asks), None)


class Simulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        cfg = self.config
        start_ms = cfg.start_time_ms if cfg.start_time_ms is not None else int(time.time()) * 1000
        scenario_type = SCENARIOS.get(cfg.scenario)
        if scenario_type is None:
            raise ValueError(f"unknown scenario {cfg.scenario!r}; known: {sorted(SCENARIOS)}")
        settings = ScenarioSettings(
            seed=cfg.seed,
            start_ms=start_ms,
            step_seconds=cfg.step_seconds,
            oracle_lag_seconds=cfg.oracle_lag_seconds,
            **cfg.settings,
        )
        self.exchange = Exchange(
            lambda: self.scenario.now_ms, seed=cfg.seed, starting_cash=cfg.starting_balance
        )
        self.scenario: Scenario = scenario_type(settings, self.exchange)
        self.faults = Faults()
        pem = cfg.kalshi_public_key_pem
        self.kalshi = KalshiVenue(
            self.exchange,
            self.scenario,
            self.faults,
            KalshiAuth(pem.encode() if isinstance(pem, str) else pem, cfg.kalshi_key_id),
        )
        self.polymarket = PolymarketVenue(
            self.exchange,
            self.scenario,
            self.faults,
            PolymarketCredentials(
                cfg.polymarket_api_key, cfg.polymarket_api_secret, cfg.polymarket_passphrase
            ),
            confirm_seconds=cfg.polymarket_confirm_seconds,
        )
        self.binance = BinanceSocket(self.faults)
        self.scenario.external.listeners.append(self.binance.on_tick)
        self._random_faults_installed = False
        if cfg.random_faults_probability > 0:
            self.set_random_faults(cfg.random_faults_probability)
        self._http = {
            "gamma": HttpServer(self.polymarket.gamma_app(), "gamma"),
            "clob": HttpServer(self.polymarket.clob_app(), "clob"),
            "kalshi": HttpServer(self.kalshi.app(), "kalshi"),
            "admin": HttpServer(self._admin_app(), "admin"),
        }
        self._sockets = {
            "polymarket_ws": self.polymarket.socket,
            "kalshi_ws": self.kalshi.socket,
            "binance_ws": self.binance,
        }
        self._urls: SimUrls | None = None
        self._runner: asyncio.Task[None] | None = None
        self._started = False
        self.scenario.start()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> SimUrls:
        cfg = self.config
        ports: dict[str, int] = {}
        try:
            for name, server in self._http.items():
                ports[name] = await server.start(cfg.host, cfg.ports.get(name, 0))
            for name, socket_server in self._sockets.items():
                ports[name] = await socket_server.start(cfg.host, cfg.ports.get(name, 0))
        except BaseException:
            await self.stop()
            raise
        host = cfg.host
        self._urls = SimUrls(
            polymarket_gamma=f"http://{host}:{ports['gamma']}",
            polymarket_clob=f"http://{host}:{ports['clob']}",
            polymarket_ws=f"ws://{host}:{ports['polymarket_ws']}/ws/market",
            kalshi_rest=f"http://{host}:{ports['kalshi']}{PREFIX}",
            kalshi_ws=f"ws://{host}:{ports['kalshi_ws']}{WS_PATH}",
            binance_ws=f"ws://{host}:{ports['binance_ws']}",
            admin=f"http://{host}:{ports['admin']}/_sim",
        )
        self._started = True
        if cfg.realtime:
            self._runner = asyncio.create_task(self._run_realtime())
        return self._urls

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for socket_server in self._sockets.values():
            await socket_server.stop()
        for server in self._http.values():
            await server.stop()
        self._started = False

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run_realtime(self) -> None:
        step = self.config.step_seconds
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += step
            self.step()
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    @property
    def urls(self) -> SimUrls:
        if self._urls is None:
            raise RuntimeError("the simulator is not started; use `async with Simulator(...)`")
        return self._urls

    # ------------------------------------------------------------------ time

    @property
    def now_ms(self) -> int:
        return self.scenario.now_ms

    def step(self) -> None:
        """One scenario step (``step_seconds`` of simulated time)."""
        self.scenario.step(int(self.config.step_seconds * 1000))

    def set_random_faults(self, probability: float) -> None:
        """Inject a random fault with ``probability`` per step from now on (0 stops them)."""
        if not 0 <= probability <= 1:
            raise FaultError(f"random fault probability must be within [0, 1], got {probability}")
        if not self._random_faults_installed:
            cfg = self.config
            seed = cfg.random_faults_seed if cfg.random_faults_seed is not None else cfg.seed
            self.scenario.on_step.append(self.faults.random_script(seed, probability))
            self._random_faults_installed = True
        self.faults.random_probability = probability

    def advance(self, seconds: float) -> int:
        """Run as many steps as fit in ``seconds`` of simulated time; returns the count."""
        steps = max(1, round(seconds / self.config.step_seconds))
        for _ in range(steps):
            self.step()
        return steps

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued WebSocket message has been written (or dropped)."""
        deadline = time.monotonic() + timeout
        while any(
            not client.queue.empty()
            for server in self._sockets.values()
            for client in server.clients
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("WebSocket queues did not drain")
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ inspection

    def markets(self, venue: VenueId | None = None) -> list[MarketInfo]:
        return [
            _info(m) for m in self.exchange.markets.values() if venue is None or m.venue is venue
        ]

    def market(self, key: str) -> MarketInfo:
        return _info(self.exchange.markets[key])

    def pair(self, pair_key: str) -> dict[VenueId, MarketInfo]:
        """The same contract on each venue (e.g. ``"fed-dec-cut"``, ``"btc-above"``)."""
        return {
            self.exchange.markets[k].venue: _info(self.exchange.markets[k])
            for k in self.scenario.pairs[pair_key]
        }

    def book(self, venue: VenueId | str, instrument_id: str) -> BookView:
        """The engine's current book for an instrument, best first (NO books by parity)."""
        venue = VenueId(venue)
        market = self.exchange.market_for(venue, instrument_id)
        book = self.exchange.books[market.key]
        bids = book.levels(Side.BUY)
        asks = book.levels(Side.SELL)
        if instrument_id == market.no_id:
            bids, asks = (
                [(ONE_PRICE - p, s) for p, s in asks],
                [(ONE_PRICE - p, s) for p, s in bids],
            )
        return BookView(
            {price_decimal(p): size_decimal(s) for p, s in bids},
            {price_decimal(p): size_decimal(s) for p, s in asks},
        )

    def orders_received(self, venue: VenueId | str | None = None) -> list[ReceivedOrder]:
        """Every order request the venue received (accepted, duplicate or rejected)."""
        return [
            entry
            for entry in self.exchange.received
            if venue is None or entry.venue is VenueId(venue)
        ]

    def order_counts(self, venue: VenueId | str) -> Counter[str]:
        """How many times each client order id (Polymarket: order hash) was received."""
        return self.exchange.received_counts(VenueId(venue))

    @property
    def external_price(self) -> Decimal:
        return self.scenario.external.price

    # ------------------------------------------------------------------ injections

    def inject_cross_venue_gap(
        self, pair_key: str, gap: Decimal, *, cheap: VenueId = VenueId.KALSHI
    ) -> None:
        """The ``cheap`` venue's best YES ask sits ``gap`` below the other venue's best YES
        bid for the same contract (a gross edge of ``gap`` before fees)."""
        self.scenario.set_cross_venue_gap(pair_key, gap, cheap)

    def inject_intra_venue_gap(self, event: str, gap: Decimal) -> None:
        """The YES asks of an event's mutually exclusive markets sum to 1 − ``gap``.
        ``event`` is the event key, e.g. ``"polymarket:lakers-vs-celtics-game-7"``."""
        if event not in self.scenario.events:
            raise KeyError(f"unknown event {event!r}; known: {sorted(self.scenario.events)}")
        self.scenario.set_intra_venue_gap(event, gap)

    def inject_oracle_lag(self, jump: Decimal, lag_seconds: float) -> Decimal:
        """The external price moves by ``jump`` (a fraction, e.g. 0.01 = +1%) now; venue
        quotes follow after ``lag_seconds`` of simulated time. Returns the new price."""
        cents = int(self.scenario.external.cents * (1 + jump))
        self.scenario.oracle_jump(cents, lag_seconds)
        return self.scenario.external.price

    def resolve_market(self, market_key: str, outcome: Outcome | None = None) -> MarketInfo:
        """Close ``market_key`` now and settle it to ``outcome`` (default: what the scenario's
        model says at this moment). Kalshi then shows ``status`` "finalized" with ``result``;
        Polymarket ``closed`` with ``outcomePrices`` "1"/"0"."""
        chosen = outcome if outcome is not None else self.scenario.outcome_at_close(market_key)
        self.scenario.resolve_market(market_key, chosen)
        return _info(self.exchange.markets[market_key])

    def inject_steady_state(self) -> None:
        """Fair, fee-tight books: every gross edge is exactly zero, so no arbitrage after fees."""
        self.scenario.steady_state()

    def clear_injections(self) -> None:
        self.scenario.clear_injections()

    def inject_tick_size_change(self, market_key: str, tick_size: Decimal) -> None:
        """Polymarket only: change a market's tick and publish ``tick_size_change``."""
        market = self.exchange.markets[market_key]
        if market.venue is not VenueId.POLYMARKET:
            raise ValueError("tick size changes are a Polymarket message")
        self.polymarket.tick_size_change(market, tick_size)

    # ------------------------------------------------------------------ admin HTTP

    def _admin_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/_sim/health", self._admin_health),
                Route("/_sim/urls", self._admin_urls),
                Route("/_sim/markets", self._admin_markets),
                Route("/_sim/book", self._admin_book),
                Route("/_sim/orders", self._admin_orders),
                Route("/_sim/advance", self._admin_advance, methods=["POST"]),
                Route("/_sim/faults", self._admin_faults),
                Route("/_sim/faults/{kind}", self._admin_fault, methods=["POST"]),
                Route("/_sim/inject/{kind}", self._admin_inject, methods=["POST"]),
            ]
        )

    async def _admin_health(self, request: Request) -> JSON:
        return JSON({"ok": True, "now_ms": self.now_ms, "steps": self.scenario.steps})

    async def _admin_urls(self, request: Request) -> JSON:
        return JSON(self.urls.as_dict())

    async def _admin_markets(self, request: Request) -> JSON:
        return JSON([_info_json(m) for m in self.markets()])

    async def _admin_book(self, request: Request) -> JSON:
        try:
            view = self.book(request.query_params["venue"], request.query_params["instrument_id"])
        except (KeyError, ValueError) as e:
            return JSON({"error": str(e)}, status_code=404)
        return JSON(
            {
                "bids": {str(p): str(s) for p, s in view.bids.items()},
                "asks": {str(p): str(s) for p, s in view.asks.items()},
            }
        )

    async def _admin_orders(self, request: Request) -> JSON:
        venue = request.query_params.get("venue")
        entries = self.orders_received(venue)
        since = request.query_params.get("since")  # Unix seconds: only orders received after
        if since is not None:
            try:
                after = float(since)
            except ValueError:
                return JSON(
                    {"error": f"since must be Unix seconds, not {since!r}"}, status_code=400
                )
            entries = [entry for entry in entries if entry.received_at >= after]
        return JSON(
            {
                "received": [entry.__dict__ | {"venue": entry.venue.value} for entry in entries],
                "counts": dict(self.exchange.received_counts(VenueId(venue))) if venue else {},
            }
        )

    async def _admin_advance(self, request: Request) -> JSON:
        body = await _json_body(request)
        steps = self.advance(float(body.get("seconds", self.config.step_seconds)))
        return JSON({"steps": steps, "now_ms": self.now_ms})

    async def _admin_faults(self, request: Request) -> JSON:
        return JSON(
            {
                "history": [record.__dict__ for record in self.faults.history],
                "pending_http": self.faults.pending_http,
            }
        )

    async def _admin_fault(self, request: Request) -> JSON:
        kind = request.path_params["kind"]
        body = await _json_body(request)
        target = body.get("target")
        try:
            if kind == "http_error":
                self.faults.http_error(
                    int(body["status"]),
                    int(body.get("count", 1)),
                    target=target,
                    path_prefix=body.get("path_prefix"),
                    after_processing=bool(body.get("after_processing", False)),
                )
                result: Any = None
            elif kind == "disconnect":
                result = self.faults.disconnect(target, abrupt=bool(body.get("abrupt", True)))
            elif kind == "silence":
                self.faults.silence(target, float(body["seconds"]))
                result = None
            elif kind == "malformed":
                result = self.faults.malformed(target)
            elif kind == "seq_gap":
                result = self.faults.kalshi_seq_gap()
            elif kind == "clear":
                result = self.faults.clear()
            elif kind == "random":
                self.set_random_faults(float(body["probability"]))
                result = self.faults.random_probability
            else:
                return JSON({"error": f"unknown fault {kind!r}"}, status_code=404)
        except (FaultError, KeyError, ValueError) as e:
            return JSON({"error": str(e)}, status_code=400)
        return JSON({"ok": True, "result": result})

    async def _admin_inject(self, request: Request) -> JSON:
        kind = request.path_params["kind"]
        body = await _json_body(request)
        try:
            if kind == "cross_venue_gap":
                self.inject_cross_venue_gap(
                    body["pair"],
                    Decimal(str(body["gap"])),
                    cheap=VenueId(body.get("cheap", "kalshi")),
                )
            elif kind == "intra_venue_gap":
                self.inject_intra_venue_gap(body["event"], Decimal(str(body["gap"])))
            elif kind == "oracle_lag":
                self.inject_oracle_lag(Decimal(str(body["jump"])), float(body["lag_seconds"]))
            elif kind == "steady_state":
                self.inject_steady_state()
            elif kind == "clear":
                self.clear_injections()
            else:
                return JSON({"error": f"unknown injection {kind!r}"}, status_code=404)
        except (KeyError, ValueError) as e:
            return JSON({"error": str(e)}, status_code=400)
        return JSON({"ok": True})


async def _json_body(request: Request) -> dict[str, Any]:
    import json

    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _info(market: SimMarket) -> MarketInfo:
    return MarketInfo(
        key=market.key,
        venue=market.venue,
        market_id=market.market_id,
        yes_instrument_id=market.yes_id,
        no_instrument_id=market.no_id,
        title=market.title,
        tick_size=market.tick,
        min_size=market.min_size,
        neg_risk=market.neg_risk,
        event=market.event_key.split(":", 1)[1],
        series=market.series,
        pair_key=market.pair_key,
        outcomes=market.outcomes,
    )


def _info_json(info: MarketInfo) -> dict[str, Any]:
    return {
        **info.__dict__,
        "venue": info.venue.value,
        "tick_size": str(info.tick_size),
        "min_size": str(info.min_size),
        "outcomes": list(info.outcomes),
    }
