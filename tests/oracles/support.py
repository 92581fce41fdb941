"""Fixture access and a scripted WebSocket server for the oracle tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tests.support import FIXTURES

ORACLES = FIXTURES / "oracles"
RECEIVED_AT = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)


def fixture_path(folder: str, name: str) -> Path:
    return ORACLES / folder / name


def raw(folder: str, name: str) -> str:
    return fixture_path(folder, name).read_text()


def document(folder: str, name: str) -> Any:
    return json.loads(raw(folder, name))


def message_fixtures(folder: str) -> list[str]:
    """Every fixture file of a folder except its SOURCES.json."""
    return sorted(p.name for p in (ORACLES / folder).glob("*.json") if p.name != "SOURCES.json")


@dataclass(frozen=True)
class Script:
    """What one connection gets: these frames, then a close (or silence, keeping it open)."""

    frames: Sequence[str]
    close: bool = True


@dataclass
class ScriptedServer:
    """Connection n gets scripts[n] (the last script repeats); it records what the client sent."""

    scripts: Sequence[Script]
    expected_subscriptions: int = 0
    received: list[list[str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    url: str = ""

    async def handler(self, connection: ServerConnection) -> None:
        index = len(self.received)
        inbox: list[str] = []
        self.received.append(inbox)
        self.paths.append(connection.request.path if connection.request else "")
        for _ in range(self.expected_subscriptions):
            inbox.append(str(await connection.recv()))
        script = self.scripts[min(index, len(self.scripts) - 1)]
        for frame in script.frames:
            await connection.send(frame)
        if script.close:
            await connection.close()  # forced disconnect: the feed must come back
            return
        try:
            async for message in connection:  # stay open, keep recording (e.g. app PINGs)
                inbox.append(str(message))
        except Exception:
            return


@asynccontextmanager
async def scripted_server(server: ScriptedServer) -> AsyncIterator[ScriptedServer]:
    async with serve(server.handler, "127.0.0.1", 0) as running:
        port = running.sockets[0].getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}"
        yield server


async def run_until(feed: Any, done: Any, timeout: float = 10.0) -> None:
    """Run ``feed`` until ``done()`` holds, then stop it cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done():
            if task.done():
                task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("feed did not reach the expected state in time")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
