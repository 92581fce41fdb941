"""The newest tick of each series a feed carries, with its freshness.

Every streaming oracle feed parses messages into ticks and hands them here. A tick older than
the one already held (a subscribe snapshot replaying recent points, a newest-first trade
snapshot) never replaces it, so the latest value is always the latest by source time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from pmarb.domain.oracle import OracleTick
from pmarb.feeds.health import FeedHealth

log = logging.getLogger(__name__)

TickListener = Callable[[OracleTick], None]


class LatestTicks:
    def __init__(self, health: FeedHealth) -> None:
        self.health = health
        self._latest: dict[str, OracleTick] = {}
        self._listeners: list[TickListener] = []

    def subscribe(self, listener: TickListener) -> None:
        """Call ``listener`` with every tick that becomes a series' latest value."""
        self._listeners.append(listener)

    def apply(self, ticks: Iterable[OracleTick]) -> None:
        for tick in ticks:
            key = tick.series
            held = self._latest.get(key)
            if held is not None and tick.source_time < held.source_time:
                continue
            self._latest[key] = tick
            self.health.record_message(key)
            for listener in self._listeners:
                try:
                    listener(tick)
                except Exception:
                    log.exception("%s: tick listener failed", self.health.name)

    def latest(self, series: str) -> OracleTick | None:
        return self._latest.get(series)

    def age(self, series: str) -> float | None:
        """Seconds since this series last received a tick (None if never)."""
        return self.health.age(series)

    def is_fresh(self, series: str, max_age: float) -> bool:
        return self.health.is_fresh(series, max_age)

    def series(self) -> list[str]:
        return list(self._latest)
