"""Live fair values for the scanner: oracle ticks in, each market's P(YES) and stdev out.

For every asset it keeps a one-second price history from the freshest proxy feed (for window
openings and the observed parts of averaging windows) and a realised-volatility estimate. A
market is priced only when its settlement is understood, its inputs are fresh and the history
covers what the contract needs; otherwise it gets no fair value and therefore no opportunity.
"""

from __future__ import annotations

import bisect
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pmarb.domain.market import Market
from pmarb.domain.oracle import OracleTick
from pmarb.oracles.fair_value.estimators import RealizedVolatility
from pmarb.oracles.fair_value.models import InvalidModelInput
from pmarb.oracles.fair_value.pricing import CryptoInputs, price_crypto
from pmarb.oracles.fair_value.settlement import (
    CryptoSettlement,
    Reference,
    UnknownSettlement,
    settlement_for,
)
from pmarb.scanner.detectors import FairValueQuote

log = logging.getLogger(__name__)

HISTORY_SECONDS = 4 * 3600


@dataclass
class _AssetState:
    history_times: deque[float]
    history_prices: deque[float]
    vol: RealizedVolatility
    last_tick: OracleTick | None = None


class LiveFairValues:
    """Satisfies the scanner's ``FairValueSource``.

    ``proxies`` maps an asset ("BTC") to the oracle series keys that price it, best first
    (e.g. the Binance BTCUSDT mid, then trades).
    """

    def __init__(
        self,
        proxies: Mapping[str, Sequence[str]],
        *,
        max_age_seconds: float = 5.0,
        vol_sample_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._proxies = {asset.upper(): tuple(series) for asset, series in proxies.items()}
        self._series_asset = {s: a for a, keys in self._proxies.items() for s in keys}
        self._max_age = timedelta(seconds=max_age_seconds)
        self._assets = {
            asset: _AssetState(
                deque(maxlen=HISTORY_SECONDS),
                deque(maxlen=HISTORY_SECONDS),
                RealizedVolatility(sample_seconds=vol_sample_seconds),
            )
            for asset in self._proxies
        }
        self._specs: dict[tuple[str, str], CryptoSettlement | None] = {}

    def series_for(self, market: Market) -> list[str]:
        """The oracle series whose ticks can change this market's fair value (none: unpriced)."""
        spec = self._spec(market)
        return [] if spec is None else list(self._proxies.get(spec.asset.upper(), ()))

    def observe(self, tick: OracleTick) -> None:
        asset = self._series_asset.get(tick.series)
        if asset is None:
            return
        state = self._assets[asset]
        # Use the best-ranked proxy that is live; a lower-ranked one only fills a silence.
        preferred = self._proxies[asset]
        held = state.last_tick
        if (
            held is not None
            and held.series != tick.series
            and preferred.index(held.series) < preferred.index(tick.series)
            and tick.received_at - held.received_at < self._max_age
        ):
            return
        price = float(tick.value)
        at = tick.source_time.timestamp()
        state.vol.update(at, price)
        state.last_tick = tick
        times, prices = state.history_times, state.history_prices
        second = float(int(at))
        if times and times[-1] == second:
            prices[-1] = price
        elif not times or second > times[-1]:
            times.append(second)
            prices.append(price)

    def last_tick_time(self, asset: str) -> datetime | None:
        """Source time of the newest tick seen for ``asset``."""
        state = self._assets.get(asset.upper())
        return None if state is None or state.last_tick is None else state.last_tick.source_time

    def fair_value(self, market: Market) -> FairValueQuote | None:
        spec = self._spec(market)
        if spec is None or spec.settles_at is None:
            return None
        state = self._assets.get(spec.asset.upper())
        if state is None or state.last_tick is None:
            return None
        tick = state.last_tick
        # A silent feed leaves an old last tick: no price is better than a stale one.
        if self._clock() - tick.received_at > self._max_age:
            return None
        vol = state.vol.estimate()
        if vol is None:
            return None
        now = tick.source_time
        if now >= spec.settles_at:
            return None
        averaging = float(spec.averaging_seconds)
        inputs = CryptoInputs(
            now=now,
            spot=float(tick.value),
            vol=vol,
            staleness_seconds=max(0.0, (tick.received_at - tick.source_time).total_seconds()),
            open_value=self._open_value(market, spec, state),
            observed_start_average=self._observed_start(spec, state, now),
            observed_end_average=self._average(
                state, spec.settles_at - timedelta(seconds=averaging), now
            )
            if averaging > 0 and (spec.settles_at - now).total_seconds() < averaging
            else None,
        )
        if spec.reference is Reference.WINDOW_OPEN and spec.window_start is not None:
            started = now >= spec.window_start
            if started and inputs.open_value is None:
                return None
        try:
            fair = price_crypto(spec, inputs)
        except InvalidModelInput as e:
            log.debug("%s: cannot price (%s)", market.market_id, e)
            return None
        return FairValueQuote(fair.probability, fair.stdev, tick.received_at)

    def _spec(self, market: Market) -> CryptoSettlement | None:
        key = (market.venue.value, market.market_id)
        if key not in self._specs:
            try:
                spec = settlement_for(
                    market,
                    strike=market.floor_strike if market.strike_type != "between" else None,
                )
            except UnknownSettlement:
                spec = None
            self._specs[key] = spec if isinstance(spec, CryptoSettlement) else None
        return self._specs[key]

    def _open_value(
        self, market: Market, spec: CryptoSettlement, state: _AssetState
    ) -> float | None:
        if spec.reference is not Reference.WINDOW_OPEN or spec.window_start is None:
            return None
        if market.floor_strike is not None:  # Kalshi publishes the opening average
            return float(market.floor_strike)
        start = spec.window_start
        if spec.averaging_seconds:
            return self._average(state, start - timedelta(seconds=spec.averaging_seconds), start)
        return self._price_at(state, start)

    def _observed_start(
        self, spec: CryptoSettlement, state: _AssetState, now: datetime
    ) -> float | None:
        if spec.window_start is None or not spec.averaging_seconds:
            return None
        begin = spec.window_start - timedelta(seconds=spec.averaging_seconds)
        if not begin < now <= spec.window_start:
            return None
        return self._average(state, begin, now)

    @staticmethod
    def _price_at(state: _AssetState, moment: datetime) -> float | None:
        times = state.history_times
        index = bisect.bisect_right(times, moment.timestamp()) - 1
        if index < 0 or not times or times[0] > moment.timestamp():
            return None
        return state.history_prices[index]

    @staticmethod
    def _average(state: _AssetState, begin: datetime, end: datetime) -> float | None:
        """Mean of the one-second prices in [begin, end]; None unless history covers begin."""
        times, prices = state.history_times, state.history_prices
        if not times or times[0] > begin.timestamp():
            return None
        lo = bisect.bisect_left(times, begin.timestamp())
        hi = bisect.bisect_right(times, end.timestamp())
        window = [prices[i] for i in range(lo, hi)]
        return sum(window) / len(window) if window else None
