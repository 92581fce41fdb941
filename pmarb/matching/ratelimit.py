"""Spacing between model calls, so a big batch stays under the account's request rate."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """At most ``per_minute`` starts per minute, evenly spaced, and ``concurrency`` in flight."""

    def __init__(self, per_minute: float, concurrency: int) -> None:
        self._interval = 60.0 / per_minute
        self._next_start = 0.0
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> RateLimiter:
        await self._slots.acquire()
        async with self._lock:
            now = time.monotonic()
            wait = self._next_start - now
            self._next_start = max(now, self._next_start) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release()
