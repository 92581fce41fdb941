"""The reconnecting WebSocket over real loopback sockets."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve

from pmarb.feeds.backoff import Backoff
from pmarb.feeds.health import FeedHealth
from pmarb.feeds.websocket import WebSocketFeed, WebSocketFeedConfig
from tests.support import eventually


async def test_reconnects_resubscribes_survives_bad_messages_and_detects_silence() -> None:
    subscriptions: list[str] = []
    connection_count = 0

    async def handler(connection: ServerConnection) -> None:
        nonlocal connection_count
        connection_count += 1
        subscriptions.append(str(await connection.recv()))
        if connection_count == 1:
            await connection.send(json.dumps({"key": "A", "n": 1}))
            await connection.send("not json")
            await connection.send(json.dumps({"key": "A", "n": 2}))
            await connection.close()  # forced disconnect
        elif connection_count == 2:
            await connection.send(json.dumps({"key": "A", "n": 3}))
            await asyncio.sleep(5)  # silent: pings are answered but no data is sent
        else:
            await connection.send(json.dumps({"key": "A", "n": 4}))
            await asyncio.sleep(5)

    received: list[int] = []

    def on_message(raw: str | bytes) -> None:
        message = json.loads(raw)
        received.append(message["n"])
        health.record_message(message["key"])

    health = FeedHealth("test")
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        feed = WebSocketFeed(
            WebSocketFeedConfig(
                url=f"ws://127.0.0.1:{port}",
                name="test",
                silence_timeout=0.5,
                backoff=Backoff(initial=0.05, maximum=0.1),
            ),
            health,
            on_connect=lambda ws: ws.send("subscribe"),
            on_message=on_message,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        try:
            await eventually(lambda: asyncio.sleep(0, received), lambda r: 4 in r, timeout=10)
        finally:
            stop.set()
            await task
    assert received == [1, 2, 3, 4]
    assert subscriptions == ["subscribe"] * 3, "every connection resubscribes"
    assert health.malformed == 1
    assert health.reconnects >= 2
    assert health.last_error in {"silent feed"} or health.reconnects >= 2
