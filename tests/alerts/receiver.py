"""A local HTTP endpoint standing in for push/SMS/e-mail providers: apprise's ``json://``
target posts each notification here, and the test reads what arrived."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Receiver:
    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.failing = set(failing)
        self.app = Starlette(routes=[Route("/{channel}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        channel = request.path_params["channel"]
        self.messages.append((channel, await request.json()))
        return Response(status_code=500 if channel in self.failing else 200)

    def count(self, channel: str) -> int:
        return sum(1 for name, _ in self.messages if name == channel)

    def titles(self, channel: str) -> list[str]:
        return [str(body["title"]) for name, body in self.messages if name == channel]


def channel_urls(port: int) -> dict[str, list[str]]:
    return {
        f"{channel}_urls": [f"json://127.0.0.1:{port}/{channel}"]
        for channel in ("push", "sms", "email")
    }
