"""Online estimators the models need, fed tick by tick at O(1) cost and bounded memory.

* :class:`RealizedVolatility`: σ per √second from log returns of the price sampled on a fixed
  grid (previous-tick), over a rolling window. Sampling every few seconds rather than every
  trade keeps bid-ask bounce out of the estimate; feed it mids where there are any.
* :class:`BasisEstimator`: mean and variance of log(index) − log(feed) from paired readings,
  for pricing off a proxy feed (Binance for Chainlink, Coinbase for BRTI).
"""

from __future__ import annotations

import math
from collections import deque

from pmarb.oracles.fair_value.models import Basis, InvalidModelInput, Volatility

WARM_RELATIVE_ERROR = 0.10
"""The estimate is warm, and anything may trade on it, once its standard error σ/√(2n) is at
most this share of σ: n ≥ 1 / (2 × 0.10²) = 50 returns, about four minutes of 5-second samples.
A colder estimate (12 returns: ±20 %) prices every market off by more than the edge threshold."""
WARM_RETURNS = math.ceil(1 / (2 * WARM_RELATIVE_ERROR**2))


class RealizedVolatility:
    def __init__(
        self,
        *,
        sample_seconds: float = 5.0,
        window_seconds: float = 900.0,
        min_returns: int = WARM_RETURNS,
    ) -> None:
        if sample_seconds <= 0 or window_seconds < sample_seconds:
            raise InvalidModelInput("need 0 < sample_seconds ≤ window_seconds")
        self.sample_seconds = sample_seconds
        self.min_returns = min_returns
        self._capacity = int(window_seconds // sample_seconds)
        self._returns: deque[float] = deque(maxlen=self._capacity)
        self._sum_squares = 0.0
        self._next_grid: float | None = None
        self._grid_log_price: float | None = None
        self._last_log_price: float | None = None

    def update(self, at: float, price: float) -> None:
        """A price observed at ``at`` (seconds, any fixed epoch). Out-of-order ticks are dropped."""
        if not (price > 0.0 and math.isfinite(price)):
            return
        log_price = math.log(price)
        if self._next_grid is None:
            self._next_grid = at + self.sample_seconds
            self._grid_log_price = self._last_log_price = log_price
            return
        if at < self._next_grid - self.sample_seconds:
            return
        # Close every grid point passed since the last tick at the previous price; a gap longer
        # than the window only needs the window's worth of (zero) returns.
        steps = 0
        while at >= self._next_grid and steps <= self._capacity:
            assert self._grid_log_price is not None and self._last_log_price is not None
            self._push(self._last_log_price - self._grid_log_price)
            self._grid_log_price = self._last_log_price
            self._next_grid += self.sample_seconds
            steps += 1
        if at >= self._next_grid:  # skipped ahead after a long gap
            self._next_grid = at + self.sample_seconds
        self._last_log_price = log_price

    def _push(self, value: float) -> None:
        if len(self._returns) == self._capacity:
            self._sum_squares -= self._returns[0] ** 2
        self._returns.append(value)
        self._sum_squares += value * value

    @property
    def returns(self) -> int:
        return len(self._returns)

    def estimate(self) -> Volatility | None:
        """σ per √second with its standard error σ/√(2n); None until enough returns."""
        n = len(self._returns)
        if n < self.min_returns:
            return None
        variance = max(self._sum_squares, 0.0) / (n * self.sample_seconds)
        sigma = math.sqrt(variance)
        return Volatility(sigma, sigma / math.sqrt(2.0 * n))


class BasisEstimator:
    def __init__(self, *, window: int = 300, min_pairs: int = 10) -> None:
        if window < 2:
            raise InvalidModelInput("a basis window needs at least two readings")
        self.min_pairs = min_pairs
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sum_squares = 0.0

    def update(self, index_price: float, feed_price: float) -> None:
        if not (index_price > 0.0 and feed_price > 0.0):
            return
        value = math.log(index_price) - math.log(feed_price)
        if len(self._values) == self._values.maxlen:
            old = self._values[0]
            self._sum -= old
            self._sum_squares -= old * old
        self._values.append(value)
        self._sum += value
        self._sum_squares += value * value

    def estimate(self) -> Basis | None:
        n = len(self._values)
        if n < self.min_pairs:
            return None
        mean = self._sum / n
        variance = max(0.0, (self._sum_squares - n * mean * mean) / (n - 1))
        return Basis(mean=mean, variance=variance, mean_stdev=math.sqrt(variance / n))
