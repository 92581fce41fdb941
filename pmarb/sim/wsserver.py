"""A WebSocket server (the ``websockets`` library) with per-connection send queues and faults.

Each protocol server subclasses :class:`SocketServer` and implements ``on_open``/``on_text``.
Sends never block the simulation: a message is queued and a per-connection task writes it,
dropping it while the server is silenced. Handshakes go through ``authorize`` and the HTTP
faults, so a 401 or a 429 on connect is possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pmarb.sim.faults import Faults

log = logging.getLogger(__name__)


class Client:
    """One connected socket and whatever its protocol remembers about it."""

    def __init__(self, server: SocketServer, connection: ServerConnection) -> None:
        self.server = server
        self.connection = connection
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.state: dict[str, Any] = {}
        self.sent = 0
        self.dropped = 0
        self.closed = False

    @property
    def path(self) -> str:
        request = self.connection.request
        return request.path if request is not None else "/"

    @property
    def headers(self) -> Any:
        request = self.connection.request
        return request.headers if request is not None else {}

    def send(self, text: str) -> None:
        if not self.closed:
            self.queue.put_nowait(text)

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            if self.server.faults.is_silenced(self.server.name) and not text.startswith("\x00"):
                self.dropped += 1
                continue
            try:
                await self.connection.send(text.removeprefix("\x00"))
            except ConnectionClosed:
                return
            self.sent += 1


class SocketServer:
    name = "ws"
    malformed_frame = '{"malformed": '
    ping_interval: float | None = 20.0
    heartbeat_payload: bytes | None = None

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.clients: set[Client] = set()
        self._server: Server | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self.port = 0
        faults.register_socket_server(self)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str, port: int) -> int:
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            ping_interval=None if self.heartbeat_payload is not None else self.ping_interval,
            ping_timeout=None,
            compression=None,
            max_queue=None,
        )
        sockets = list(self._server.sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for client in list(self.clients):
            client.closed = True
            client.queue.put_nowait(None)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    # ------------------------------------------------------------------ protocol hooks

    def authorize(self, request: Request) -> Response | None:
        """Return a response to refuse the handshake."""
        return None

    def accepts_path(self, path: str) -> bool:
        return True

    def on_open(self, client: Client) -> None:
        """Called once connected."""

    def on_text(self, client: Client, text: str) -> None:
        """Called for every text frame from the client."""

    def on_close(self, client: Client) -> None:
        """Called when the client has gone."""

    # ------------------------------------------------------------------ machinery

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if not self.accepts_path(request.path):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        status = self.faults.take_http_fault(self.name, path, after_processing=False)
        if status is not None:
            return connection.respond(HTTPStatus(status), f"{HTTPStatus(status).phrase}\n")
        return self.authorize(request)

    async def _handle(self, connection: ServerConnection) -> None:
        client = Client(self, connection)
        self.clients.add(client)
        writer = asyncio.create_task(client.writer())
        heartbeat = (
            asyncio.create_task(self._heartbeat(client))
            if self.heartbeat_payload is not None and self.ping_interval
            else None
        )
        try:
            self.on_open(client)
            async for message in connection:
                if isinstance(message, bytes):
                    message = message.decode(errors="replace")
                try:
                    self.on_text(client, message)
                except Exception:  # a protocol bug must not kill the socket silently
                    log.exception("%s: handler failed on %r", self.name, message[:200])
        except ConnectionClosed:
            pass
        finally:
            client.closed = True
            self.clients.discard(client)
            client.queue.put_nowait(None)
            if heartbeat is not None:
                heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self.on_close(client)

    async def _heartbeat(self, client: Client) -> None:
        assert self.ping_interval is not None and self.heartbeat_payload is not None
        while not client.closed:
            await asyncio.sleep(self.ping_interval)
            with contextlib.suppress(ConnectionClosed):
                await client.connection.ping(self.heartbeat_payload)

    def broadcast(self, clients: Iterable[Client], text: str) -> None:
        for client in clients:
            client.send(text)

    def disconnect_all(self, *, abrupt: bool) -> int:
        count = 0
        for client in list(self.clients):
            count += 1
            client.closed = True
            if abrupt and client.connection.transport is not None:
                client.connection.transport.abort()
            else:
                task = asyncio.ensure_future(client.connection.close(1012, "service restart"))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return count

    def send_malformed(self) -> int:
        for client in self.clients:
            # The NUL prefix marks a fault frame that is sent even while silenced.
            client.send("\x00" + self.malformed_frame)
        return len(self.clients)
