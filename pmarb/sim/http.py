"""Shared HTTP plumbing for the simulator's REST servers: JSON, faults, uvicorn on port 0."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import uvicorn
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pmarb.sim.faults import Faults

_encoder = msgspec.json.Encoder(decimal_format="number")


def dumps(payload: Any) -> str:
    return _encoder.encode(payload).decode()


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


FAULT_BODIES = {
    429: {"error": "too many requests"},
    425: {"error": "Too Early: the matching engine is restarting"},
}


class FaultMiddleware:
    """Answer the next requests with an injected status, before or after the app ran."""

    def __init__(self, app: ASGIApp, faults: Faults, server: str) -> None:
        self.app = app
        self.faults = faults
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        status = self.faults.take_http_fault(self.server, path, after_processing=False)
        if status is not None:
            await self._reply(status, scope, receive, send)
            return
        late = self.faults.take_http_fault(self.server, path, after_processing=True)
        if late is None:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await self._reply(late, scope, receive, send)

    async def _reply(self, status: int, scope: Scope, receive: Receive, send: Send) -> None:
        body = FAULT_BODIES.get(status, {"error": "internal server error"})
        await JSON(body, status_code=status)(scope, receive, send)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the owner decides when to stop."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, app: ASGIApp, name: str) -> None:
        self.name = name
        self.app = app
        self.port = 0
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        # IPPROTO_TCP named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets
        # whose proto says TCP, and with it on, a response written as head then body waited for
        # the client's delayed ACK — 40 ms on every keep-alive request, which no venue does.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False, ws="none"
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"{self.name} server stopped during start-up")
            await asyncio.sleep(0.005)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
