"""A WebSocket subscription that survives: reconnect with back-off, resubscribe, resync.

The caller supplies what is venue-specific: headers (signed per connection), what to send after
connecting (subscriptions, then a REST resync), and how to handle one raw message. Handler
errors are counted as malformed messages, never allowed to end the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from pmarb.feeds.backoff import Backoff
from pmarb.feeds.health import FeedHealth

log = logging.getLogger(__name__)

OnConnect = Callable[[ClientConnection], Awaitable[None]]
OnMessage = Callable[[str | bytes], None]


@dataclass
class WebSocketFeedConfig:
    url: str
    name: str
    headers: Callable[[], Mapping[str, str]] = dict
    # Application-level keep-alive some venues require (Polymarket: text "PING" every 10 s).
    app_ping_text: str | None = None
    app_ping_interval: float = 10.0
    # No data message for this long while connected: reconnect (and resync) instead of waiting.
    silence_timeout: float = 30.0
    open_timeout: float = 10.0
    max_size: int = 16 * 1024 * 1024
    backoff: Backoff = field(default_factory=Backoff)


class WebSocketFeed:
    def __init__(
        self,
        config: WebSocketFeedConfig,
        health: FeedHealth,
        *,
        on_connect: OnConnect,
        on_message: OnMessage,
        is_data: Callable[[str | bytes], bool] = lambda raw: raw not in ("PONG", b"PONG"),
    ) -> None:
        self.config = config
        self.health = health
        self._on_connect = on_connect
        self._on_message = on_message
        self._is_data = is_data
        self._connection: ClientConnection | None = None
        self._force_reconnect = asyncio.Event()
        self.connections = 0

    async def send(self, message: str) -> None:
        if self._connection is None:
            raise ConnectionError(f"{self.config.name} is not connected")
        await self._connection.send(message)

    def reconnect(self) -> None:
        """Drop the connection and start again (used to recover from a detected gap)."""
        self._force_reconnect.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self.config.backoff
        while not stop.is_set():
            try:
                await self._session(stop)
                backoff.reset()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as e:
                self.health.record_error(f"{type(e).__name__}: {e}")
                log.warning("%s: connection lost (%s)", self.config.name, e)
            except InvalidURI:
                raise
            finally:
                self._connection = None
                self.health.connected = False
                self.health.invalidate_all()
            if stop.is_set():
                return
            self.health.record_reconnect()
            delay = backoff.next_delay()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(
            self.config.url,
            additional_headers=dict(self.config.headers()),
            open_timeout=self.config.open_timeout,
            max_size=self.config.max_size,
            compression=None,
        ) as connection:
            self._connection = connection
            self.connections += 1
            self._force_reconnect.clear()
            self.health.connected = True
            await self._on_connect(connection)
            pinger = (
                asyncio.create_task(self._app_ping(connection))
                if self.config.app_ping_text
                else None
            )
            try:
                await self._read(connection, stop)
            finally:
                if pinger is not None:
                    pinger.cancel()

    async def _read(self, connection: ClientConnection, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        last_data = loop.time()
        while not stop.is_set() and not self._force_reconnect.is_set():
            remaining = self.config.silence_timeout - (loop.time() - last_data)
            if remaining <= 0:
                log.warning(
                    "%s: no data for %.0fs; reconnecting",
                    self.config.name,
                    self.config.silence_timeout,
                )
                self.health.record_error("silent feed")
                return
            try:
                raw = await asyncio.wait_for(connection.recv(), timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
            if not self._is_data(raw):
                continue
            last_data = loop.time()
            try:
                self._on_message(raw)
            except Exception as e:
                self.health.record_malformed(f"{type(e).__name__}: {e}", raw)

    async def _app_ping(self, connection: ClientConnection) -> None:
        assert self.config.app_ping_text is not None
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.config.app_ping_interval)
                await connection.send(self.config.app_ping_text)
