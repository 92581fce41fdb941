"""A streaming oracle feed: the shared reconnecting WebSocket, one source's parser, the latest
tick per series and its health. Sources differ only in their parser, URL and subscriptions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from websockets.asyncio.client import ClientConnection

from pmarb.domain.oracle import OracleTick
from pmarb.feeds.backoff import Backoff
from pmarb.feeds.health import FeedHealth
from pmarb.feeds.websocket import WebSocketFeed, WebSocketFeedConfig
from pmarb.oracles.latest import LatestTicks, TickListener

log = logging.getLogger(__name__)

WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class MalformedOracleMessage(ValueError):
    """A message we cannot use; counted, logged, never fatal."""


class OracleServerError(Exception):
    """The source itself reported an error (bad subscription, rate limit)."""


class StreamParser(Protocol):
    def parse(self, raw: str | bytes, received_at: datetime) -> list[OracleTick]:
        """Ticks in the message; [] for control frames. Raises MalformedOracleMessage or
        OracleServerError."""
        ...


def positive_price(value: Decimal, field: str) -> Decimal:
    """A price we can use: finite and above zero (msgspec accepts "NaN" as a Decimal)."""
    if not value.is_finite() or value <= 0:
        raise MalformedOracleMessage(f"{field} is not a positive price: {value}")
    return value


def ms_to_datetime(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


class StreamingOracleFeed:
    def __init__(
        self,
        name: str,
        url: str,
        parser: StreamParser,
        subscribe_messages: Sequence[str] = (),
        *,
        silence_timeout: float = 30.0,
        app_ping_text: str | None = None,
        app_ping_interval: float = 10.0,
        backoff: Backoff | None = None,
        clock: WallClock = utc_now,
    ) -> None:
        self.name = name
        self.parser = parser
        self.subscribe_messages = tuple(subscribe_messages)
        self.health = FeedHealth(name)
        self.ticks = LatestTicks(self.health)
        self.server_errors = 0
        self.last_server_error: str | None = None
        self._clock = clock
        self.websocket = WebSocketFeed(
            WebSocketFeedConfig(
                url=url,
                name=name,
                silence_timeout=silence_timeout,
                app_ping_text=app_ping_text,
                app_ping_interval=app_ping_interval,
                backoff=backoff or Backoff(),
            ),
            self.health,
            on_connect=self._subscribe,
            on_message=self._on_message,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.websocket.run(stop)

    def subscribe(self, listener: TickListener) -> None:
        self.ticks.subscribe(listener)

    def latest(self, series: str) -> OracleTick | None:
        return self.ticks.latest(series)

    def age(self, series: str) -> float | None:
        return self.ticks.age(series)

    def is_fresh(self, series: str, max_age: float) -> bool:
        return self.ticks.is_fresh(series, max_age)

    async def _subscribe(self, connection: ClientConnection) -> None:
        for message in self.subscribe_messages:
            await connection.send(message)

    def _on_message(self, raw: str | bytes) -> None:
        try:
            ticks = self.parser.parse(raw, self._clock())
        except MalformedOracleMessage as e:
            self.health.record_malformed(str(e), raw)
            return
        except OracleServerError as e:
            self.server_errors += 1
            self.last_server_error = str(e)
            self.health.record_error(str(e))
            log.warning("%s: source reported an error: %s", self.name, e)
            return
        self.ticks.apply(ticks)
