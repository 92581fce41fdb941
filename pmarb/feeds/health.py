"""How fresh each key (instrument, symbol) of a feed is, and what went wrong with it.

Freshness counts data messages only: a socket that answers pings but sends nothing goes stale.
A key can also be invalidated (book dropped after a tick-size change, a sequence gap, a
reconnect) and stays unusable until fresh data for it arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

_MALFORMED_LOG_INTERVAL = 10.0


@dataclass(frozen=True)
class FeedHealthSnapshot:
    name: str
    connected: bool
    messages: int
    malformed: int
    reconnects: int
    stale_keys: int
    fresh_keys: int
    oldest_age_seconds: float | None
    last_error: str | None


class FeedHealth:
    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._invalid: set[str] = set()
        self.connected = False
        self.messages = 0
        self.malformed = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._last_malformed_log = -_MALFORMED_LOG_INTERVAL

    def now(self) -> float:
        return self._clock()

    def record_message(self, key: str | None = None, at: float | None = None) -> None:
        self.messages += 1
        if key is not None:
            self._last_seen[key] = self._clock() if at is None else at
            self._invalid.discard(key)

    def record_malformed(self, reason: str, raw: str | bytes | None = None) -> None:
        """Count a message we could not use; log it, at most every few seconds."""
        self.malformed += 1
        self.last_error = reason
        now = self._clock()
        if now - self._last_malformed_log >= _MALFORMED_LOG_INTERVAL:
            self._last_malformed_log = now
            sample = raw[:200] if raw is not None else ""
            log.warning(
                "%s: malformed message #%d (%s): %r", self.name, self.malformed, reason, sample
            )

    def record_error(self, reason: str) -> None:
        self.last_error = reason

    def record_reconnect(self) -> None:
        self.reconnects += 1

    def invalidate(self, key: str) -> None:
        self._invalid.add(key)

    def invalidate_all(self) -> None:
        self._invalid.update(self._last_seen)

    def last_seen(self, key: str) -> float | None:
        """When ``key`` last had data (this health's clock), None if never."""
        return self._last_seen.get(key)

    def age(self, key: str) -> float | None:
        seen = self._last_seen.get(key)
        return None if seen is None else self._clock() - seen

    def is_fresh(self, key: str, max_age: float) -> bool:
        if key in self._invalid:
            return False
        age = self.age(key)
        return age is not None and age <= max_age

    def keys(self) -> list[str]:
        return list(self._last_seen)

    def snapshot(self, max_age: float) -> FeedHealthSnapshot:
        fresh = sum(1 for key in self._last_seen if self.is_fresh(key, max_age))
        ages = [age for key in self._last_seen if (age := self.age(key)) is not None]
        return FeedHealthSnapshot(
            name=self.name,
            connected=self.connected,
            messages=self.messages,
            malformed=self.malformed,
            reconnects=self.reconnects,
            stale_keys=len(self._last_seen) - fresh,
            fresh_keys=fresh,
            oldest_age_seconds=max(ages) if ages else None,
            last_error=self.last_error,
        )
