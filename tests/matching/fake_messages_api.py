"""A local HTTP server that speaks the Anthropic Messages API (``POST /v1/messages``).

The real API cannot be reached from here, so the SDK is pointed at this over a real socket.
Tests decide each answer with a function of the request; the server records every request
(body and headers) and can answer the first N calls with a throttling error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pmarb.matching.proposition import FIELDS

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def contracts(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two market documents the matcher put in the user message."""
    text = body["messages"][0]["content"]
    a = re.search(r"Contract A:\n(\{.*?\n\})\n\nContract B:", text, re.S)
    b = re.search(r"Contract B:\n(\{.*?\n\})\n\nDeterministic", text, re.S)
    assert a and b, "the prompt no longer carries both contracts as JSON"
    return json.loads(a.group(1)), json.loads(b.group(1))


def verdict(
    relation: str,
    confidence: float,
    *,
    agreement: str = "agree",
    overrides: dict[str, str] | None = None,
    reasons: tuple[str, ...] = ("scripted answer",),
) -> dict[str, Any]:
    fields = {
        name: {"a": "x", "b": "x", "agreement": (overrides or {}).get(name, agreement)}
        for name in FIELDS
    }
    return {
        "relation": relation,
        "confidence": confidence,
        "fields": fields,
        "reasons": list(reasons),
    }


class FakeMessagesAPI:
    def __init__(self, answer: Answer, *, throttle_first: int = 0) -> None:
        self.answer = answer
        self.throttle_left = throttle_first
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])

    async def messages(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.throttle_left > 0:
            self.throttle_left -= 1
            return JSONResponse(
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                status_code=429,
                headers={"retry-after-ms": "20"},
            )
        tool = body["tools"][0]["name"]
        answered = len([r for r in self.requests if r is not body])
        return JSONResponse(
            {
                "id": f"msg_{len(self.requests):04d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": tool, "input": self.answer(body)}
                ],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 900,
                    "output_tokens": 300,
                    # The first call writes the shared instructions to the cache; later ones read.
                    "cache_creation_input_tokens": 2000 if answered == 0 else 0,
                    "cache_read_input_tokens": 0 if answered == 0 else 2000,
                },
            }
        )
