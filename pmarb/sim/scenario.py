"""Scripted markets for the simulator, deterministic for a given seed, runnable without servers.

A scenario owns:

* an external BTC/USDT price (:class:`ExternalPrice`): an integer-cent random walk that the
  Binance stream publishes, with its history so venue quotes can lag it;
* *contracts*: fair-value processes. One contract can back several markets — the same contract
  on Kalshi and Polymarket, the two sides of a two-team event, or every outcome of a neg-risk
  event (whose fair values sum to one);
* one market maker per venue that keeps a ladder around each market's fair value, diffing the
  ladder it wants against what rests so every step produces a few absolute/ signed level
  changes rather than a full book churn; and a noise taker that lifts or hits the touch now and
  then, so trades, ``last_trade_price`` and fills happen;
* situations a test can inject: a cross-venue gap, an intra-venue (YES asks of mutually
  exclusive outcomes summing below one) gap, an oracle lag, and a fee-tight steady state.

Nothing here touches a socket: :meth:`Scenario.step` mutates the exchange, whose listeners
(the protocol servers, or a recorder) see every change. All randomness comes from one
``random.Random(seed)`` drawn in a fixed order, so the same seed and the same start time give
the same event stream.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.money import CENT
from pmarb.domain.orders import TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import POLYMARKET_UP_DOWN_TAKER_DELAY
from pmarb.sim.exchange import Exchange, OrderError, SimMarket, SimOrder, Ticket
from pmarb.sim.units import ONE_PRICE, PRICE_SCALE, SIZE_SCALE, price_decimal

MARKET_MAKER = "sim-market-maker"
NOISE_TAKER = "sim-noise-taker"
_MS_PER_YEAR = 365.25 * 24 * 3600 * 1000


@dataclass
class ScenarioSettings:
    seed: int = 0
    start_ms: int = 0
    step_seconds: float = 0.25
    oracle_lag_seconds: float = 0.0
    btc_start_cents: int = 9_700_000  # $97,000.00
    btc_step_cents: int = 800  # stdev of one step of the random walk
    mm_levels: int = 5
    mm_half_spread: Decimal = CENT
    mm_level_step: Decimal = CENT
    mm_min_size: int = 50
    mm_max_size: int = 500
    jitter_probability: float = 0.9
    taker_probability: float = 0.04
    fair_move_probability: float = 0.15
    # None: price crypto contracts with the volatility the BTC random walk really has, so a
    # "fair" market is fair under the simulator's own dynamics (see ``walk_volatility``).
    crypto_vol_annual: float | None = None
    # Markets close at their close time and settle from the scenario's own models; BTC rounds
    # (15-minute up/down, 6-hour above) roll: a new round opens as each one closes.
    resolve_markets: bool = True
    roll_crypto: bool = True

    def walk_volatility(self, price_cents: int) -> float:
        """Annualised volatility of the external walk at ``price_cents``: each step makes 1–3
        (two on average) moves of stdev ``btc_step_cents/√2``, so a step's variance is
        ``btc_step_cents²``."""
        if self.crypto_vol_annual is not None:
            return self.crypto_vol_annual
        per_second = self.btc_step_cents / math.sqrt(self.step_seconds) / price_cents
        return per_second * math.sqrt(_MS_PER_YEAR / 1000)


# --------------------------------------------------------------------------- external price


@dataclass(frozen=True)
class ExternalTick:
    """One step of the external market: trades then a top-of-book update (Binance shapes)."""

    ts_ms: int
    symbol: str
    trades: tuple[dict[str, Any], ...]
    agg_trades: tuple[dict[str, Any], ...]
    book_ticker: dict[str, Any]


def _cents_str(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}000000"


class ExternalPrice:
    """BTCUSDT in integer cents; keeps its history so quotes can lag it."""

    def __init__(self, rng: random.Random, start_cents: int, step_cents: int) -> None:
        self.rng = rng
        self.cents = start_cents
        self.step_cents = step_cents
        self.symbol = "BTCUSDT"
        self.history: deque[tuple[int, int]] = deque(maxlen=20_000)
        self.trade_id = 6_720_000_000
        self.agg_id = 3_988_000_000
        self.update_id = 34_698_000_000
        self.listeners: list[Callable[[ExternalTick], None]] = []

    @property
    def price(self) -> Decimal:
        return Decimal(self.cents) / 100

    def price_at(self, ts_ms: int) -> int:
        """The price in cents as it was at ``ts_ms`` (the oldest known if earlier)."""
        for at, cents in reversed(self.history):
            if at <= ts_ms:
                return cents
        return self.history[0][1] if self.history else self.cents

    def record(self, ts_ms: int) -> None:
        self.history.append((ts_ms, self.cents))

    def step(self, ts_ms: int) -> ExternalTick:
        trades = []
        aggs = []
        for _ in range(self.rng.randint(1, 3)):
            move = round(self.rng.gauss(0, self.step_cents / math.sqrt(2)))
            self.cents = max(100, self.cents + move)
            quantity = self.rng.randint(1, 50_000)  # in 1e-8 BTC
            buyer_maker = self.rng.random() < 0.5
            self.trade_id += 1
            self.agg_id += 1
            qty = _sats(quantity)
            trades.append(
                {
                    "e": "trade",
                    "E": ts_ms,
                    "s": self.symbol,
                    "t": self.trade_id,
                    "p": _cents_str(self.cents),
                    "q": qty,
                    "T": ts_ms,
                    "m": buyer_maker,
                    "M": True,
                }
            )
            aggs.append(
                {
                    "e": "aggTrade",
                    "E": ts_ms,
                    "s": self.symbol,
                    "a": self.agg_id,
                    "p": _cents_str(self.cents),
                    "q": qty,
                    "f": self.trade_id,
                    "l": self.trade_id,
                    "T": ts_ms,
                    "m": buyer_maker,
                    "M": True,
                }
            )
        self.record(ts_ms)
        return self._tick(ts_ms, tuple(trades), tuple(aggs))

    def jump(self, ts_ms: int, cents: int) -> ExternalTick:
        self.cents = max(100, cents)
        self.trade_id += 1
        self.agg_id += 1
        trade = {
            "e": "trade",
            "E": ts_ms,
            "s": self.symbol,
            "t": self.trade_id,
            "p": _cents_str(self.cents),
            "q": _sats(100_000),
            "T": ts_ms,
            "m": False,
            "M": True,
        }
        agg = {
            "e": "aggTrade",
            "E": ts_ms,
            "s": self.symbol,
            "a": self.agg_id,
            "p": trade["p"],
            "q": trade["q"],
            "f": self.trade_id,
            "l": self.trade_id,
            "T": ts_ms,
            "m": False,
            "M": True,
        }
        self.record(ts_ms)
        return self._tick(ts_ms, (trade,), (agg,))

    def _tick(
        self, ts_ms: int, trades: tuple[dict[str, Any], ...], aggs: tuple[dict[str, Any], ...]
    ) -> ExternalTick:
        self.update_id += 1
        book_ticker = {
            "u": self.update_id,
            "s": self.symbol,
            "b": _cents_str(self.cents - 1),
            "B": _sats(self.rng.randint(1_000, 500_000)),
            "a": _cents_str(self.cents),
            "A": _sats(self.rng.randint(1_000, 500_000)),
        }
        tick = ExternalTick(ts_ms, self.symbol, trades, aggs, book_ticker)
        for listener in self.listeners:
            listener(tick)
        return tick


def _sats(quantity: int) -> str:
    return f"{quantity // 100_000_000}.{quantity % 100_000_000:08d}"


# --------------------------------------------------------------------------- contracts


class Contract:
    """A fair-value process with one or more legs (fair values in price units)."""

    legs: tuple[str, ...] = ("yes",)

    def step(self, rng: random.Random, settings: ScenarioSettings) -> None:
        """Advance one step (random walks move; oracle-driven contracts read the price)."""

    def fair(self, leg: str, now_ms: int) -> int:
        raise NotImplementedError


class WalkContract(Contract):
    """A single probability that drifts in ticks and reverts towards where it started."""

    def __init__(self, start: Decimal) -> None:
        self.anchor = int(start * PRICE_SCALE)
        self.value = self.anchor

    def step(self, rng: random.Random, settings: ScenarioSettings) -> None:
        if rng.random() < settings.fair_move_probability:
            pull = 1 if self.value < self.anchor else -1
            move = rng.choice((-100, -50, 50, 100)) + (25 * pull)
            self.value = min(9_500, max(500, self.value + move))

    def fair(self, leg: str, now_ms: int) -> int:
        return self.value


class PairContract(WalkContract):
    """Two mutually exclusive, exhaustive outcomes ("a" wins or "b" wins)."""

    legs = ("a", "b")

    def fair(self, leg: str, now_ms: int) -> int:
        return self.value if leg == "a" else ONE_PRICE - self.value


class MultiOutcomeContract(Contract):
    """A neg-risk event: one of several named outcomes wins; fair values sum to one."""

    def __init__(self, weights: dict[str, Decimal]) -> None:
        self.legs = tuple(weights)
        self.weights = {leg: float(w) for leg, w in weights.items()}

    def step(self, rng: random.Random, settings: ScenarioSettings) -> None:
        if rng.random() < settings.fair_move_probability:
            leg = rng.choice(self.legs)
            self.weights[leg] = min(0.9, max(0.02, self.weights[leg] * rng.choice((0.97, 1.03))))

    def fair(self, leg: str, now_ms: int) -> int:
        total = sum(self.weights.values())
        return round(self.weights[leg] / total * PRICE_SCALE)


class BtcAboveContract(Contract):
    """P(BTC at close > strike) from a lognormal model, on the lagged external price.

    ``averaging_seconds`` > 0 prices a contract that settles on the average of the last that
    many seconds (Kalshi's BRTI rule): the variance of the average, and inside the window the
    part already observed, so the market maker is not naive in the final minute.
    """

    def __init__(
        self,
        external: ExternalPrice,
        strike_cents: int,
        close_ms: int,
        lag: Callable[[], int],
        averaging_seconds: int = 0,
    ) -> None:
        self.external = external
        self.strike_cents = strike_cents
        self.close_ms = close_ms
        self.lag = lag
        self.averaging_seconds = averaging_seconds
        self.vol = 0.6

    def step(self, rng: random.Random, settings: ScenarioSettings) -> None:
        self.vol = settings.walk_volatility(self.external.cents)

    def settles_yes(self) -> bool:
        """At or after the close: the settlement value (the last print, or the average over
        the window for an averaging contract) is at least the strike."""
        if self.averaging_seconds == 0:
            return self.external.price_at(self.close_ms) >= self.strike_cents
        begin = self.close_ms - self.averaging_seconds * 1000
        window = [c for at, c in self.external.history if begin <= at <= self.close_ms]
        value = sum(window) / len(window) if window else self.external.price_at(self.close_ms)
        return value >= self.strike_cents

    def fair(self, leg: str, now_ms: int) -> int:
        seen_ms = now_ms - self.lag()
        spot = self.external.price_at(seen_ms)
        sigma2 = (self.vol**2) * 1000 / _MS_PER_YEAR  # per second
        remaining = max(self.close_ms - seen_ms, 0) / 1000
        window = float(self.averaging_seconds)
        mean = math.log(spot)
        if window == 0:
            variance = sigma2 * max(remaining, 60.0)
        elif remaining >= window:
            variance = sigma2 * (remaining - 2 * window / 3)
        else:
            begin = self.close_ms - int(window * 1000)
            observed = []
            for at, cents in reversed(self.external.history):
                if at < begin:
                    break
                if at <= seen_ms:
                    observed.append(math.log(cents))
            elapsed = window - remaining
            observed_mean = sum(observed) / len(observed) if observed else mean
            mean = (observed_mean * elapsed + mean * remaining) / window
            variance = sigma2 * remaining**3 / (3 * window**2)
        if variance <= 0:
            probability = 1.0 if mean > math.log(self.strike_cents) else 0.0
        else:
            d = (mean - math.log(self.strike_cents)) / math.sqrt(variance)
            probability = 0.5 * (1 + math.erf(d / math.sqrt(2)))
        return min(9_900, max(100, round(probability * PRICE_SCALE)))


# --------------------------------------------------------------------------- market catalogue


def stable_hex(text: str, nbytes: int = 32) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()[: nbytes * 2]


def stable_token_id(text: str) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16) >> 4)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Quoting:
    """Where a market's quotes come from and how an injected situation shifts them."""

    contract: str
    leg: str
    offset: int = 0  # price units added to the fair value (cross-venue gaps, steady state)


def polymarket_fees(rate: str) -> FeeSchedule:
    return FeeSchedule(taker_rate=Decimal(rate), exponent=1, rounding_step=Decimal("0.000001"))


def kalshi_fees(fee_type: str, multiplier: Decimal = Decimal(1)) -> FeeSchedule:
    maker = (
        Decimal("0.0175") * multiplier if fee_type == "quadratic_with_maker_fees" else Decimal(0)
    )
    return FeeSchedule(
        taker_rate=Decimal("0.07") * multiplier, maker_rate=maker, exponent=1, rounding_step=CENT
    )


@dataclass
class EventInfo:
    key: str
    venue: VenueId
    title: str
    neg_risk: bool
    markets: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    gap: int | None = None  # injected: the asks of all markets sum to 1 − gap (price units)


class Scenario:
    """The default scenario: a handful of markets on each venue around one BTC price."""

    name = "default"

    def __init__(self, settings: ScenarioSettings, exchange: Exchange) -> None:
        self.settings = settings
        self.exchange = exchange
        self.rng = random.Random(settings.seed)
        self.now_ms = settings.start_ms
        self.external = ExternalPrice(self.rng, settings.btc_start_cents, settings.btc_step_cents)
        self.external.record(self.now_ms)
        self.lag_ms = int(settings.oracle_lag_seconds * 1000)
        self.contracts: dict[str, Contract] = {}
        self.quoting: dict[str, Quoting] = {}
        self.events: dict[str, EventInfo] = {}
        self.series: dict[str, dict[str, Any]] = {}
        self.pairs: dict[str, list[str]] = {}  # pair key -> market keys (cross-venue)
        self.ladder_sizes: dict[tuple[str, Side], list[int]] = {}
        # The market maker's resting orders: market key -> (side, price) -> order.
        self.mm_orders: dict[str, dict[tuple[Side, int], SimOrder]] = {}
        self.half_spread = settings.mm_half_spread
        self.on_step: list[Callable[[Scenario], None]] = []
        # Hooks told of each market that settles, and of each market that opens after start.
        self.on_settle: list[Callable[[SimMarket], None]] = []
        self.on_new_market: list[Callable[[SimMarket], None]] = []
        self.resolutions: list[tuple[int, str, Outcome]] = []  # (ms, market key, outcome)
        self._winners: dict[str, str] = {}  # contract -> winning leg (settled contracts)
        self.steps = 0
        self._build()

    # ------------------------------------------------------------------ catalogue

    def _build(self) -> None:
        start = self.settings.start_ms
        strike = (self.settings.btc_start_cents // 100_000) * 100_000  # round thousand below
        day_close = start + 6 * 3600 * 1000
        updown_close = start + 15 * 60 * 1000
        lag = lambda: self.lag_ms  # noqa: E731

        self.contracts["fed-dec-cut"] = WalkContract(Decimal("0.62"))
        self.contracts["btc-above"] = BtcAboveContract(self.external, strike, day_close, lag)
        self.contracts["btc-updown"] = BtcAboveContract(
            self.external, self.settings.btc_start_cents, updown_close, lag
        )
        # Kalshi's crypto markets settle on a 60-second average of the index, not one print.
        self.contracts["btc-above-avg"] = BtcAboveContract(
            self.external, strike, day_close, lag, averaging_seconds=60
        )
        self.contracts["btc-updown-avg"] = BtcAboveContract(
            self.external, self.settings.btc_start_cents, updown_close, lag, averaging_seconds=60
        )
        self.contracts["game7"] = PairContract(Decimal("0.55"))
        self.contracts["nominee"] = MultiOutcomeContract(
            {
                "newsom": Decimal("0.34"),
                "shapiro": Decimal("0.24"),
                "buttigieg": Decimal("0.22"),
                "ocasio-cortez": Decimal("0.20"),
            }
        )
        self.contracts["nyc-high"] = WalkContract(Decimal("0.41"))
        # Polymarket -------------------------------------------------------------
        self._poly_market(
            "fed-dec-cut",
            question="Will the Fed decrease interest rates after the December 2026 meeting?",
            description=(
                'This market will resolve to "Yes" if the Federal Reserve lowers the upper '
                "bound of the federal funds target range at its December 2026 meeting. "
                'Otherwise, this market will resolve to "No".'
            ),
            event=("fed-decision-in-december-2026", "Fed decision in December 2026", False),
            quoting=Quoting("fed-dec-cut", "yes"),
            fees=("economics_fees", "0.05"),
            close_ms=start + 90 * 24 * 3600 * 1000,
            pair="fed-dec-cut",
        )
        self._btc_above_poly("", strike, day_close, start)
        self._btc_updown_poly("", start, updown_close)
        for leg, team in (("a", "Lakers"), ("b", "Celtics")):
            self._poly_market(
                f"will-the-{team.lower()}-win-game-7",
                question=f"Will the {team} win Game 7?",
                description=(
                    f'This market will resolve to "Yes" if the {team} win Game 7 of the '
                    "series. Exactly one of the two teams wins."
                ),
                event=("lakers-vs-celtics-game-7", "Lakers vs. Celtics: Game 7", False),
                quoting=Quoting("game7", leg),
                fees=("sports_fees", "0.03"),
                close_ms=start + 2 * 24 * 3600 * 1000,
            )
        for leg in self.contracts["nominee"].legs:
            name = leg.replace("-", " ").title()
            self._poly_market(
                f"will-{leg}-win-the-2028-democratic-nomination",
                question=f"Will {name} win the 2028 Democratic presidential nomination?",
                description=(
                    f'This market will resolve to "Yes" if {name} wins and accepts the 2028 '
                    "nomination of the Democratic Party for U.S. president."
                ),
                event=(
                    "democratic-presidential-nominee-2028",
                    "Democratic Presidential Nominee 2028",
                    True,
                ),
                quoting=Quoting("nominee", leg),
                fees=("politics_fees", "0.04"),
                close_ms=start + 700 * 24 * 3600 * 1000,
                tick=Decimal("0.001"),
                extra={"groupItemTitle": name},
            )

        # Kalshi -----------------------------------------------------------------
        self._kalshi_series(
            "KXFEDDECISION", "Fed decision", "Economics", "quadratic_with_maker_fees"
        )
        self._kalshi_series("KXBTCD", "Bitcoin price today", "Crypto", "quadratic", "daily")
        self._kalshi_series("KXBTC15M", "BTC 15 minutes", "Crypto", "quadratic", "fifteen_min")
        self._kalshi_series(
            "KXHIGHNY", "Highest temperature in NYC", "Climate and Weather", "quadratic", "daily"
        )
        self._kalshi_market(
            "KXFEDDECISION-26DEC-C25",
            series="KXFEDDECISION",
            event="KXFEDDECISION-26DEC",
            title="Will the Fed cut rates at the December 2026 meeting?",
            rules=(
                "If the Federal Reserve lowers the upper bound of the federal funds target range "
                "at its December 2026 meeting, then the market resolves to Yes."
            ),
            quoting=Quoting("fed-dec-cut", "yes"),
            close_ms=start + 90 * 24 * 3600 * 1000,
            pair="fed-dec-cut",
            strike={"strike_type": "structured"},
        )
        self._btc_above_kalshi("", strike, day_close, start)
        self._btc_updown_kalshi("", start, updown_close, self.settings.btc_start_cents)
        self._kalshi_market(
            f"KXHIGHNY-{_kalshi_date(day_close)}-T69",
            series="KXHIGHNY",
            event=f"KXHIGHNY-{_kalshi_date(day_close)}",
            title="Will the high temp in NYC be >69°?",
            rules=(
                "If the highest temperature recorded in Central Park, New York as reported by "
                "the National Weather Service's Climatological Report (Daily), is greater than "
                "69°, then the market resolves to Yes."
            ),
            quoting=Quoting("nyc-high", "yes"),
            close_ms=day_close,
            strike={"strike_type": "greater", "floor_strike": Decimal(69)},
        )

    # ------------------------------------------------------------------ crypto rounds
    # Each builder registers one market of a BTC round; ``suffix`` is "" for the opening round
    # (keys and pair names as they always were) and "@<close ms>" for rounds rolled in later.

    def _btc_above_poly(self, suffix: str, strike: int, close_ms: int, open_ms: int) -> None:
        strike_text = f"{strike // 100:,}"
        slug = "btc-above" if not suffix else f"btc-above-{close_ms // 1000}"
        self._poly_market(
            slug,
            question=f"Will the price of Bitcoin be above ${strike_text} at {iso(close_ms)}?",
            description=(
                f'This market will resolve to "Yes" if the Binance BTC/USDT 1-minute candle '
                f'closing at {iso(close_ms)} closes above ${strike_text}. Otherwise "No".'
            ),
            event=("bitcoin-above-on-close", "Bitcoin above ___ on close", False),
            quoting=Quoting("btc-above" + suffix, "yes"),
            fees=("crypto_fees", "0.07"),
            close_ms=close_ms,
            pair="btc-above" + suffix,
            extra={"resolutionSource": "https://www.binance.com/en/trade/BTC_USDT"},
            open_ms=open_ms,
        )

    def _btc_updown_poly(self, suffix: str, open_ms: int, close_ms: int) -> None:
        window_start = open_ms // 1000
        self._poly_market(
            f"btc-updown-15m-{window_start}",
            question=f"Bitcoin Up or Down - {iso(open_ms)} to {iso(close_ms)}",
            description=(
                'This market will resolve to "Up" if the Bitcoin price at the end of the time '
                "range is greater than or equal to the price at the beginning. Otherwise "
                '"Down".'
            ),
            event=(f"btc-updown-15m-{window_start}", "Bitcoin Up or Down 15m", False),
            quoting=Quoting("btc-updown" + suffix, "yes"),
            fees=("crypto_fees", "0.07"),
            close_ms=close_ms,
            outcomes=("Up", "Down"),
            extra={
                "resolutionSource": "https://data.chain.link/streams/btc-usd",
                "eventStartTime": iso(open_ms),
                "cryptoMarketConfig": {
                    "id": "btc-15m",
                    "asset": "btc",
                    "duration": "15m",
                    "twapEnabled": False,
                    "twapLookbackSeconds": 0,
                },
            },
            open_ms=open_ms,
            taker_delay=POLYMARKET_UP_DOWN_TAKER_DELAY,  # held as on every up/down market
        )

    def _btc_above_kalshi(self, suffix: str, strike: int, close_ms: int, open_ms: int) -> None:
        strike_text = f"{strike // 100:,}"
        kalshi_strike = Decimal(strike) / 100 - CENT
        self._kalshi_market(
            f"KXBTCD-{_kalshi_date(close_ms)}-T{kalshi_strike}",
            series="KXBTCD",
            event=f"KXBTCD-{_kalshi_date(close_ms)}",
            title=f"Bitcoin price above ${strike_text} at {iso(close_ms)}?",
            rules=(
                "If the simple average of the sixty seconds of CF Benchmarks' Real-Time Index "
                f"before {iso(close_ms)} is above {kalshi_strike}, then the market resolves to "
                "Yes."
            ),
            quoting=Quoting("btc-above-avg" + suffix, "yes"),
            close_ms=close_ms,
            pair="btc-above" + suffix,
            strike={"strike_type": "greater", "floor_strike": kalshi_strike},
            open_ms=open_ms,
        )

    def _btc_updown_kalshi(
        self, suffix: str, open_ms: int, close_ms: int, opening_cents: int
    ) -> None:
        self._kalshi_market(
            f"KXBTC15M-{_kalshi_date(close_ms)}-{_minutes(close_ms)}",
            series="KXBTC15M",
            event=f"KXBTC15M-{_kalshi_date(close_ms)}",
            title="BTC price up in next 15 mins?",
            rules=(
                "If the simple average of the sixty seconds of CF Benchmarks' BRTI before the "
                "close is at least the simple average before the open, the market resolves to Yes."
            ),
            quoting=Quoting("btc-updown-avg" + suffix, "yes"),
            close_ms=close_ms,
            strike={
                "strike_type": "greater_or_equal",
                "floor_strike": Decimal(opening_cents) / 100,
            },
            open_ms=open_ms,
        )

    def _poly_market(
        self,
        slug: str,
        *,
        question: str,
        description: str,
        event: tuple[str, str, bool],
        quoting: Quoting,
        fees: tuple[str, str],
        close_ms: int,
        outcomes: tuple[str, str] = ("Yes", "No"),
        tick: Decimal = CENT,
        pair: str | None = None,
        extra: dict[str, Any] | None = None,
        open_ms: int | None = None,
        taker_delay: float = 0.0,
    ) -> None:
        event_slug, event_title, neg_risk = event
        key = f"polymarket:{slug}"
        market = SimMarket(
            key=key,
            venue=VenueId.POLYMARKET,
            market_id=stable_hex(f"condition:{slug}"),
            yes_id=stable_token_id(f"token:{slug}:0"),
            no_id=stable_token_id(f"token:{slug}:1"),
            title=question,
            rules=description,
            tick=tick,
            min_size=Decimal(5),
            fees=polymarket_fees(fees[1]),
            outcomes=outcomes,
            neg_risk=neg_risk,
            event_key=f"polymarket:{event_slug}",
            pair_key=pair,
            close_time_ms=close_ms,
            open_time_ms=self.settings.start_ms if open_ms is None else open_ms,
            taker_delay_ms=round(taker_delay * 1000),
            meta={
                "slug": slug,
                "id": str(
                    500_000 + int(hashlib.sha256(slug.encode()).hexdigest()[:6], 16) % 99_999
                ),
                "question_id": stable_hex(f"question:{slug}"),
                "fee_type": fees[0],
                "fee_rate": fees[1],
                "neg_risk_market_id": stable_hex(f"negrisk:{event_slug}") if neg_risk else "",
                **(extra or {}),
            },
        )
        self._register(market, quoting, event_title)

    def _kalshi_series(
        self,
        ticker: str,
        title: str,
        category: str,
        fee_type: str,
        frequency: str = "custom",
        multiplier: Decimal = Decimal(1),
    ) -> None:
        self.series[ticker] = {
            "ticker": ticker,
            "title": title,
            "category": category,
            "frequency": frequency,
            "fee_type": fee_type,
            "fee_multiplier": multiplier,
        }

    def _kalshi_market(
        self,
        ticker: str,
        *,
        series: str,
        event: str,
        title: str,
        rules: str,
        quoting: Quoting,
        close_ms: int,
        strike: dict[str, Any],
        pair: str | None = None,
        open_ms: int | None = None,
    ) -> None:
        info = self.series[series]
        market = SimMarket(
            key=f"kalshi:{ticker}",
            venue=VenueId.KALSHI,
            market_id=ticker,
            yes_id=ticker,
            no_id=f"{ticker}:no",
            title=title,
            rules=rules,
            tick=CENT,
            min_size=Decimal("0.01"),
            fees=kalshi_fees(info["fee_type"], info["fee_multiplier"]),
            event_key=f"kalshi:{event}",
            series=series,
            pair_key=pair,
            close_time_ms=close_ms,
            open_time_ms=self.settings.start_ms if open_ms is None else open_ms,
            meta={"market_uuid": str(_uuid_from(ticker)), **strike},
        )
        self._register(market, quoting, title)

    def _register(self, market: SimMarket, quoting: Quoting, event_title: str) -> None:
        self.exchange.add_market(market)
        self.quoting[market.key] = quoting
        event = self.events.get(market.event_key)
        if event is None:
            event = EventInfo(market.event_key, market.venue, event_title, market.neg_risk)
            if market.venue is VenueId.KALSHI:
                event.meta["series"] = market.series
            self.events[market.event_key] = event
        event.markets.append(market.key)
        if market.pair_key:
            self.pairs.setdefault(market.pair_key, []).append(market.key)
        for side in (Side.BUY, Side.SELL):
            self.ladder_sizes[(market.key, side)] = [
                self.rng.randint(self.settings.mm_min_size, self.settings.mm_max_size)
                for _ in range(self.settings.mm_levels)
            ]

    # ------------------------------------------------------------------ quoting

    def fair(self, market_key: str) -> int:
        quoting = self.quoting[market_key]
        return self.contracts[quoting.contract].fair(quoting.leg, self.now_ms)

    def _mids(self) -> dict[str, int]:
        mids: dict[str, int] = {}
        for key, market in self.exchange.markets.items():
            if not market.is_open:
                continue  # nobody quotes a closed market (and its model need not run)
            tick = market.tick_units
            # Round the fair value first so a tick-aligned offset moves the quotes exactly.
            mids[key] = _round_to(self.fair(key), tick) + self.quoting[key].offset
        for event in self.events.values():
            if event.gap is None or len(event.markets) < 2:
                continue
            if any(key not in mids for key in event.markets):
                continue
            # Shift the mids (in whole ticks) until the asks of all outcomes sum to 1 − gap.
            half = self._half_spread_units()
            tick = self.exchange.markets[event.markets[0]].tick_units
            asks = sum(mids[k] + half for k in event.markets)
            excess_ticks = (asks - (ONE_PRICE - event.gap)) // tick
            count = len(event.markets)
            for index, key in enumerate(event.markets):
                share = excess_ticks // count + (1 if index < excess_ticks % count else 0)
                mids[key] -= share * tick
        return mids

    def _half_spread_units(self) -> int:
        return int(self.half_spread * PRICE_SCALE)

    def target_ladder(self, market: SimMarket, mid: int) -> dict[Side, dict[int, int]]:
        tick = market.tick_units
        half = max(tick, _round_to(self._half_spread_units(), tick))
        step = max(tick, int(self.settings.mm_level_step * PRICE_SCALE))
        mid = min(ONE_PRICE - half - tick, max(half + tick, mid))
        ladder: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}
        for level in range(self.settings.mm_levels):
            bid = mid - half - level * step
            ask = mid + half + level * step
            if bid >= tick:
                ladder[Side.BUY][bid] = self.ladder_sizes[(market.key, Side.BUY)][level]
            if ask <= ONE_PRICE - tick:
                ladder[Side.SELL][ask] = self.ladder_sizes[(market.key, Side.SELL)][level]
        return ladder

    def requote(self, market: SimMarket, mid: int) -> None:
        """Make the market maker's resting orders equal the target ladder, level by level."""
        target = self.target_ladder(market, mid)
        account = MARKET_MAKER
        self.exchange.account(market.venue, account, unlimited=True)
        # Cancels first (both sides), so a moved ladder never crosses its own stale quotes.
        resting = self.mm_orders.setdefault(market.key, {})
        for (side, price), order in list(resting.items()):
            if not order.is_open:
                del resting[(side, price)]
                continue
            want = target[side].get(price, 0) * SIZE_SCALE
            have = order.resting_size
            if want == 0:
                self.exchange.cancel(order.order_id, "requote")
                del resting[(side, price)]
            elif want < have:
                self.exchange.reduce(order.order_id, have - want)
        for side, levels in target.items():
            for price, size in levels.items():
                existing = resting.get((side, price))
                have = existing.resting_size if existing is not None and existing.is_open else 0
                want = size * SIZE_SCALE
                if want > have:
                    if existing is not None and existing.is_open:
                        # Top up by replacing: the level's size rises, queue position is lost.
                        self.exchange.cancel(existing.order_id, "requote")
                    placed = self._mm_place(market, side, price, want)
                    if placed is not None:
                        resting[(side, price)] = placed

    def _mm_place(self, market: SimMarket, side: Side, price: int, size: int) -> SimOrder | None:
        ticket = Ticket(
            venue=market.venue,
            account=MARKET_MAKER,
            market_key=market.key,
            outcome=Outcome.YES,
            side=side,
            price=price_decimal(price),
            size=Decimal(size) / SIZE_SCALE,
            time_in_force=TimeInForce.GTC,
        )
        order_id = self.exchange.new_hex_id() if market.venue is VenueId.POLYMARKET else None
        try:
            order = self.exchange.submit(ticket, order_id)
        except OrderError:
            return None
        return order if order.is_open else None

    def requote_all(self) -> None:
        mids = self._mids()
        for key, market in self.exchange.markets.items():
            if not market.is_open:
                continue
            with self.exchange.batch():
                self.requote(market, mids[key])

    # ------------------------------------------------------------------ driver

    def start(self) -> None:
        self.requote_all()

    def step(self, step_ms: int) -> None:
        """Advance simulated time by ``step_ms`` and let everything react once."""
        self.now_ms += step_ms
        self.steps += 1
        self.external.step(self.now_ms)
        for contract in self.contracts.values():
            contract.step(self.rng, self.settings)
        for sizes in self.ladder_sizes.values():
            if self.rng.random() < self.settings.jitter_probability / 2:
                level = self.rng.randrange(len(sizes))
                sizes[level] = self.rng.randint(
                    self.settings.mm_min_size, self.settings.mm_max_size
                )
        self.requote_all()
        self._noise_trades()
        self.exchange.release_held()
        self.exchange.expire()
        if self.settings.resolve_markets:
            self._close_due()
        for hook in self.on_step:
            hook(self)

    def _noise_trades(self) -> None:
        for key, market in self.exchange.markets.items():
            if not market.is_open:
                continue
            if self.rng.random() >= self.settings.taker_probability:
                continue
            side = Side.BUY if self.rng.random() < 0.5 else Side.SELL
            book = self.exchange.books[key]
            best = book.best_ask() if side is Side.BUY else book.best_bid()
            size = self.rng.randint(5, 40)
            if best is None:
                continue
            self.exchange.account(market.venue, NOISE_TAKER, unlimited=True)
            ticket = Ticket(
                venue=market.venue,
                account=NOISE_TAKER,
                market_key=key,
                outcome=Outcome.YES,
                side=side,
                price=price_decimal(best),
                size=Decimal(size),
                time_in_force=TimeInForce.FAK,
            )
            order_id = self.exchange.new_hex_id() if market.venue is VenueId.POLYMARKET else None
            try:
                self.exchange.submit(ticket, order_id)
            except OrderError:
                continue

    # ------------------------------------------------------------------ resolution

    def _close_due(self) -> None:
        due = [
            market
            for market in self.exchange.markets.values()
            if market.is_open and 0 < market.close_time_ms <= self.now_ms
        ]
        for market in sorted(due, key=lambda m: (m.close_time_ms, m.key)):
            self.resolve_market(market.key, self.outcome_at_close(market.key))
            if self.settings.roll_crypto:
                self._roll(market)

    def outcome_at_close(self, market_key: str) -> Outcome:
        """How the market settles under the scenario's own models: BTC contracts from the
        external price (the 60-second average for averaging contracts), two-way and multi-way
        events pick one winner by their fair values, single walks resolve YES with their fair
        probability (a draw that depends only on the seed and the contract)."""
        quoting = self.quoting[market_key]
        contract = self.contracts[quoting.contract]
        if isinstance(contract, BtcAboveContract):
            return Outcome.YES if contract.settles_yes() else Outcome.NO
        winner = self._winners.get(quoting.contract)
        if winner is None:
            draw = random.Random(f"{self.settings.seed}:settle:{quoting.contract}").random()
            if isinstance(contract, WalkContract) and not isinstance(contract, PairContract):
                winner = "yes" if draw < contract.value / PRICE_SCALE else "no"
            else:
                cumulative = 0.0
                winner = contract.legs[-1]
                for leg in contract.legs:
                    cumulative += contract.fair(leg, self.now_ms) / PRICE_SCALE
                    if draw < cumulative:
                        winner = leg
                        break
            self._winners[quoting.contract] = winner
        return Outcome.YES if winner == quoting.leg else Outcome.NO

    def resolve_market(self, market_key: str, outcome: Outcome) -> SimMarket:
        """Close the market now (cancelling every resting order) and settle it to ``outcome``;
        the venues show it closed with the result from this moment."""
        market = self.exchange.close_market(market_key, outcome)
        self.mm_orders.pop(market_key, None)
        self.resolutions.append((self.now_ms, market_key, outcome))
        for hook in self.on_settle:
            hook(market)
        return market

    def _roll(self, closed: SimMarket) -> None:
        """Open the next BTC round when a round's market closes (one per round and venue)."""
        quoting = self.quoting[closed.key]
        base = quoting.contract.split("@", 1)[0]
        period = closed.close_time_ms - closed.open_time_ms
        if base not in ("btc-updown", "btc-above") or period <= 0:
            return  # the averaging twin rolls with its Polymarket partner
        open_ms, close_ms = closed.close_time_ms, closed.close_time_ms + period
        suffix = f"@{close_ms}"
        before = set(self.exchange.markets)
        lag = lambda: self.lag_ms  # noqa: E731
        if base == "btc-updown":
            opening = self.external.cents
            self.contracts["btc-updown" + suffix] = BtcAboveContract(
                self.external, opening, close_ms, lag
            )
            self.contracts["btc-updown-avg" + suffix] = BtcAboveContract(
                self.external, opening, close_ms, lag, averaging_seconds=60
            )
            self._btc_updown_poly(suffix, open_ms, close_ms)
            self._btc_updown_kalshi(suffix, open_ms, close_ms, opening)
        else:
            strike = (self.external.cents // 100_000) * 100_000
            self.contracts["btc-above" + suffix] = BtcAboveContract(
                self.external, strike, close_ms, lag
            )
            self.contracts["btc-above-avg" + suffix] = BtcAboveContract(
                self.external, strike, close_ms, lag, averaging_seconds=60
            )
            self._btc_above_poly(suffix, strike, close_ms, open_ms)
            self._btc_above_kalshi(suffix, strike, close_ms, open_ms)
        for key in self.exchange.markets:
            if key not in before:
                market = self.exchange.markets[key]
                with self.exchange.batch():
                    self.requote(market, _round_to(self.fair(key), market.tick_units))
                for hook in self.on_new_market:
                    hook(market)

    # ------------------------------------------------------------------ injections

    def set_cross_venue_gap(self, pair_key: str, gap: Decimal, cheap: VenueId) -> None:
        """Price the same contract apart: the ``cheap`` venue's best ask sits ``gap`` below
        the other venue's best bid (before fees)."""
        keys = self.pairs[pair_key]
        tick = max(self.exchange.markets[key].tick_units for key in keys)
        total_ticks = (int(gap * PRICE_SCALE) + 2 * self._half_spread_units()) // tick
        for key in keys:
            market = self.exchange.markets[key]
            if market.venue is cheap:
                self.quoting[key].offset = -(total_ticks // 2) * tick
            else:
                self.quoting[key].offset = (total_ticks - total_ticks // 2) * tick
        self.requote_all()

    def set_intra_venue_gap(self, event_key: str, gap: Decimal) -> None:
        """The YES asks of an event's mutually exclusive outcomes sum to 1 − ``gap``."""
        self.events[event_key].gap = int(gap * PRICE_SCALE)
        self.requote_all()

    def oracle_jump(self, cents: int, lag_seconds: float) -> None:
        """The external price jumps now; venue quotes follow after ``lag_seconds``."""
        self.lag_ms = int(lag_seconds * 1000)
        self.external.jump(self.now_ms, cents)

    def steady_state(self) -> None:
        """Fee-tight and fair: no lag, cross-venue books touch (best bid on one venue equals
        the best ask on the other) and the asks of every exclusive event sum to exactly one,
        so every gross edge is zero and any positive fee makes it a loss."""
        self.lag_ms = 0
        for quoting in self.quoting.values():
            quoting.offset = 0
        for event in self.events.values():
            event.gap = 0 if len(event.markets) > 1 and _is_exclusive(self, event) else None
        for pair_key in self.pairs:
            self.set_cross_venue_gap(pair_key, Decimal(0), VenueId.KALSHI)
        self.requote_all()

    def clear_injections(self) -> None:
        self.lag_ms = int(self.settings.oracle_lag_seconds * 1000)
        for quoting in self.quoting.values():
            quoting.offset = 0
        for event in self.events.values():
            event.gap = None
        self.requote_all()


def _is_exclusive(scenario: Scenario, event: EventInfo) -> bool:
    contracts = {scenario.quoting[key].contract for key in event.markets}
    return len(contracts) == 1 and isinstance(
        scenario.contracts[next(iter(contracts))], (PairContract, MultiOutcomeContract)
    )


def _round_to(units: int, tick: int) -> int:
    quotient, remainder = divmod(units, tick)
    if remainder * 2 > tick or (remainder * 2 == tick and quotient % 2):
        quotient += 1
    return quotient * tick


def _kalshi_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%y%b%d%H%M").upper()


def _minutes(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%M")


def _uuid_from(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


SCENARIOS: dict[str, type[Scenario]] = {"default": Scenario}
