"""A small seeded scenario in the recording's shape, for tests and benchmarks.

Not a market simulator (that is ``pmarb sim``): just enough structure for every detector and
strategy to have something to do, with outcomes decided by the generated data itself.

- BTC trades once a second (a random walk at ~50 % annual volatility, with occasional jumps).
- Each hour a Kalshi "BTC above K at the top of the hour" market (CF BRTI 60-second average
  rules, so the live fair-value model prices it). Its market maker re-quotes from spot with a
  two-second lag, and now and then stops re-quoting for half a minute after a jump: the stale
  quote is the oracle-lag opportunity. It resolves on the 60-second average it was written on.
- Each hour a matched pair (Kalshi and Polymarket) on an event whose probability drifts. Now and
  then one venue's ask dips for a few seconds (a cross-venue gap) or Polymarket's YES and NO asks
  sum below one (an intra-venue gap). The event resolves at the end of the hour by a draw from
  its final probability.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pmarb.backtest.events import (
    NANOS,
    BookUpdate,
    Dataset,
    Event,
    OracleUpdate,
    Resolution,
    in_memory,
    to_ns,
)
from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.scanner.detectors import MatchedPair

MICROS = 1_000_000
TICK = 10_000  # one cent in micro-units
KALSHI_FEES = FeeSchedule(taker_rate=Decimal("0.07"), exponent=1, rounding_step=Decimal("0.01"))
SECONDS_PER_YEAR = 365 * 24 * 3600
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class ScenarioSettings:
    hours: float = 24.0
    seed: int = 1
    start: datetime = DEFAULT_START
    btc_start: float = 90_000.0
    btc_vol: float = 0.5
    stale_every_seconds: float = 900.0  # mean time between stale-quote episodes
    gap_every_seconds: float = 600.0  # mean time between injected gaps per pair
    book_every_seconds: float = 2.0


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _price(probability: float) -> int:
    """A probability as a tradable price in micro-units, on the cent grid, inside (0, 1)."""
    cents = min(99, max(1, round(probability * 100)))
    return cents * TICK


def _ladder(best: int, step: int, sizes: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    prices, amounts = [], []
    for n, size in enumerate(sizes):
        price = best + n * step
        if not TICK <= price <= MICROS - TICK:
            break
        prices.append(price)
        amounts.append(size * MICROS)
    return tuple(prices), tuple(amounts)


class _Generator:
    def __init__(self, settings: ScenarioSettings) -> None:
        self.s = settings
        self.rng = random.Random(settings.seed)
        self.events: list[Event] = []
        self.markets: list[Market] = []
        self.pairs: list[MatchedPair] = []
        self.start_ns = to_ns(settings.start)
        self.listed: dict[tuple[VenueId, str], int] = {}

    def sizes(self) -> list[int]:
        return [self.rng.randint(20, 120) for _ in range(5)]

    def book(
        self, ts: int, venue: VenueId, instrument: str, bid: int | None, ask: int | None
    ) -> None:
        bid_px, bid_sz = _ladder(bid, -TICK, self.sizes()) if bid is not None else ((), ())
        ask_px, ask_sz = _ladder(ask, TICK, self.sizes()) if ask is not None else ((), ())
        self.events.append(BookUpdate(ts, venue, instrument, bid_px, bid_sz, ask_px, ask_sz))

    def run(self) -> Dataset:
        seconds = int(self.s.hours * 3600)
        spot = self._spot_path(seconds)
        for t, price in enumerate(spot):
            self.events.append(
                OracleUpdate(
                    self.start_ns + t * NANOS, "binance", "BTCUSDT", "trade", round(price * MICROS)
                )
            )
        for hour in range(math.ceil(seconds / 3600)):
            self._btc_market(hour, spot, seconds)
            self._event_pair(hour, seconds)
        return in_memory(
            self.markets,
            self.pairs,
            self.events,
            synthetic=True,
            seed=self.s.seed,
            listed_at=self.listed,
        )

    def _spot_path(self, seconds: int) -> list[float]:
        sigma = self.s.btc_vol / math.sqrt(SECONDS_PER_YEAR)
        price = self.s.btc_start
        path = []
        jump_rate = 1.0 / self.s.stale_every_seconds
        self.jumps: set[int] = set()
        for t in range(seconds + 1):
            step = self.rng.gauss(0.0, sigma)
            if t > 600 and self.rng.random() < jump_rate:
                step += self.rng.choice((-1, 1)) * 0.004
                self.jumps.add(t)
            price *= math.exp(step)
            path.append(price)
        return path

    def _btc_market(self, hour: int, spot: list[float], seconds: int) -> None:
        begin = hour * 3600
        end = min(begin + 3600, seconds)
        if end - begin < 600:
            return
        close = self.s.start + timedelta(seconds=end)
        strike = Decimal(round(spot[begin] / 100) * 100) - Decimal("0.01")
        ticker = f"KXBTCD-{close:%y%b%d%H}-T{strike}".upper()
        when = close.isoformat().replace("+00:00", "Z")
        market = Market(
            venue=VenueId.KALSHI,
            market_id=ticker,
            title=f"Bitcoin price above ${strike:,} at {when}?",
            yes_instrument_id=f"{ticker}:yes",
            no_instrument_id=f"{ticker}:no",
            rules=(
                "If the simple average of the sixty seconds of CF Benchmarks' Real-Time Index "
                f"before {when} is above {strike}, then the market resolves to Yes."
            ),
            close_time=close,
            series_id="KXBTCD",
            event_id=f"KXBTCD-{close:%y%b%d%H}".upper(),
            category="Crypto",
            fees=KALSHI_FEES,
            strike_type="greater",
            floor_strike=strike,
        )
        self.markets.append(market)
        self.listed[(market.venue, market.market_id)] = self.start_ns + begin * NANOS
        sigma = self.s.btc_vol / math.sqrt(SECONDS_PER_YEAR)
        frozen_until = -1
        quote_from = begin
        for t in range(begin, end, 1):
            if t in self.jumps and t - 2 > begin:
                frozen_until = t + self.rng.randint(15, 40)
            if t < frozen_until:
                continue  # the market maker is asleep: its last quote stays up
            if t % 1 == 0:
                quote_from = max(begin, t - 2)
            left = max(end - quote_from, 1)
            ln = math.log(spot[quote_from] / float(strike))
            fair = _cdf(ln / (sigma * math.sqrt(left)))
            mid = _price(fair)
            self.book(
                self.start_ns + t * NANOS,
                VenueId.KALSHI,
                market.yes_instrument_id,
                mid - TICK if mid - TICK >= TICK else None,
                mid + TICK if mid + TICK <= MICROS - TICK else None,
            )
        window = spot[max(end - 60, 0) : end]
        average = sum(window) / len(window)
        outcome = Outcome.YES if average > float(strike) else Outcome.NO
        self.events.append(
            Resolution(self.start_ns + (end + 5) * NANOS, VenueId.KALSHI, ticker, outcome)
        )

    def _event_pair(self, hour: int, seconds: int) -> None:
        begin = hour * 3600
        end = min(begin + 3600, seconds)
        if end - begin < 600:
            return
        close = self.s.start + timedelta(seconds=end)
        key = f"EVT-{close:%y%b%d%H}".upper()
        kalshi = Market(
            venue=VenueId.KALSHI,
            market_id=key,
            title=f"Synthetic event {key} happens?",
            yes_instrument_id=f"{key}:yes",
            no_instrument_id=f"{key}:no",
            rules=f"Resolves Yes if synthetic event {key} happens before {close.isoformat()}.",
            close_time=close,
            category="Synthetic",
            fees=KALSHI_FEES,
        )
        poly_id = f"0x{self.rng.getrandbits(64):016x}"
        poly = Market(
            venue=VenueId.POLYMARKET,
            market_id=poly_id,
            title=f"Will synthetic event {key} happen?",
            yes_instrument_id=f"{int(poly_id, 16) * 2 + 1}",
            no_instrument_id=f"{int(poly_id, 16) * 2 + 2}",
            rules=f"Resolves Yes if synthetic event {key} happens before {close.isoformat()}.",
            close_time=close,
            category="Synthetic",
            fees=NO_FEES,
        )
        self.markets += [kalshi, poly]
        for listed in (kalshi, poly):
            self.listed[(listed.venue, listed.market_id)] = self.start_ns + begin * NANOS
        self.pairs.append(MatchedPair(len(self.pairs) + 1, kalshi, poly, inverted=False))
        p = self.rng.uniform(0.25, 0.75)
        step = self.s.book_every_seconds
        gap_rate = step / self.s.gap_every_seconds
        gap_until, gap_kind = -1.0, ""
        t = float(begin)
        while t < end:
            p = min(0.9, max(0.1, p + self.rng.gauss(0.0, 0.004)))
            ts = self.start_ns + round(t * NANOS)
            mid = _price(p)
            if t >= gap_until and self.rng.random() < gap_rate:
                gap_until, gap_kind = (
                    t + self.rng.choice((2.0, 4.0, 6.0)),
                    self.rng.choice(("cross", "intra")),
                )
            gap = t < gap_until
            # Kalshi: one YES ladder.
            self.book(ts, VenueId.KALSHI, kalshi.yes_instrument_id, mid - TICK, mid + TICK)
            # Polymarket: a book per outcome token.
            yes_ask = mid + TICK
            no_ask = MICROS - mid + TICK
            if gap and gap_kind == "cross":
                yes_ask = mid - 4 * TICK  # cheap YES here against Kalshi's NO at 1 - (mid - 1c)
            elif gap and gap_kind == "intra":
                yes_ask, no_ask = mid - TICK, MICROS - mid - 2 * TICK
            self.book(
                ts + 1, VenueId.POLYMARKET, poly.yes_instrument_id, yes_ask - 2 * TICK, yes_ask
            )
            self.book(ts + 2, VenueId.POLYMARKET, poly.no_instrument_id, no_ask - 2 * TICK, no_ask)
            t += step
        outcome = Outcome.YES if self.rng.random() < p else Outcome.NO
        resolved = self.start_ns + (end + 5) * NANOS
        self.events.append(Resolution(resolved, VenueId.KALSHI, kalshi.market_id, outcome))
        self.events.append(Resolution(resolved, VenueId.POLYMARKET, poly.market_id, outcome))


def scenario(settings: ScenarioSettings | None = None) -> Dataset:
    """The seeded scenario: the same settings give the same events, byte for byte."""
    return _Generator(settings or ScenarioSettings()).run()
