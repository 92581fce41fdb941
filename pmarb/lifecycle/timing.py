"""Every timing constant and default of the lifecycle, each defined once.

The workflow builds its timers, timeouts and retry policies from these; the backtest advances
its replay clock by the same amounts, so a backtest waits exactly as long as live trading does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

# -- leg and hedge --------------------------------------------------------------------------
DEFAULT_HEDGE_WINDOW = timedelta(seconds=5)
"""How long the hedge legs may keep trying when a bid does not say."""
HEDGE_PAUSE = timedelta(milliseconds=500)
"""Between two hedge attempts: let the book refill instead of hammering an empty level."""

# -- round trip -----------------------------------------------------------------------------
DEFAULT_TIME_STOP = timedelta(seconds=300)
"""How long a round trip's exit order may rest when a bid does not say."""

# -- placement ------------------------------------------------------------------------------
MIN_PLACEMENT_TIMEOUT = timedelta(seconds=1)
"""An opening placement may take until the opportunity expires, but never less than this."""
EXIT_PLACEMENT_TIMEOUT = timedelta(seconds=30)
"""An exit order is placed after the opportunity's own deadline, so it gets its own."""

# -- waiting --------------------------------------------------------------------------------
FILL_POLL = timedelta(milliseconds=250)
"""How often a resting order is looked up while waiting for it to fill."""
SETTLEMENT_POLL = timedelta(seconds=5)
"""How often a held market is asked whether it has resolved."""

# -- unwinding ------------------------------------------------------------------------------
UNWIND_ROUNDS = 10
"""Sell attempts in one unwind before it reports back (and is retried, see COMPENSATION)."""
UNWIND_EMPTY_ROUND_PAUSE = timedelta(seconds=1)
"""After a round that sold nothing: the book had no bid worth taking; wait for one."""
UNWIND_PRICE_CONCESSION = Decimal("0.05")
"""An unwind crosses the best bid by this much: get out, but not at any price."""
UNWIND_PRICE_FLOOR = Decimal("0.01")
"""The lowest price an unwind ever offers (a price must be a valid tick above zero)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between attempts: ``initial``, ×``coefficient`` each time, capped."""

    initial: timedelta
    coefficient: float
    maximum: timedelta
    attempts: int | None = None  # None: forever

    def delay(self, attempt: int) -> timedelta:
        """The wait before retry number ``attempt`` (0 for the first retry)."""
        scaled = self.initial.total_seconds() * self.coefficient**attempt
        return timedelta(seconds=min(scaled, self.maximum.total_seconds()))


FORWARD = Backoff(timedelta(milliseconds=200), 2.0, timedelta(seconds=2), attempts=6)
"""Orders that add risk: a few quick retries, then give up (the opportunity is gone)."""
COMPENSATION = Backoff(timedelta(seconds=1), 2.0, timedelta(seconds=60))
"""An unhedged position is worse than a slow hedge: compensations never give up."""
DECISION = Backoff(timedelta(milliseconds=200), 2.0, timedelta(seconds=5))
"""The risk decision and its audit row must exist whatever happens: keep trying."""
