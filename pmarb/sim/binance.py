"""A Binance-style spot market stream carrying the scenario's external BTC price.

Raw streams at ``/ws/<stream>`` send bare payloads; combined streams at
``/stream?streams=a/b`` wrap each as ``{"stream": ..., "data": ...}``. ``SUBSCRIBE`` /
``UNSUBSCRIBE`` method calls are answered ``{"result": null, "id": N}``. Payloads are shaped like
``shared/fixtures/oracles/binance`` (trade, aggTrade, bookTicker).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from pmarb.sim.faults import Faults
from pmarb.sim.http import dumps
from pmarb.sim.scenario import ExternalTick
from pmarb.sim.wsserver import Client, SocketServer

KINDS = ("trade", "aggTrade", "bookTicker")


class BinanceSocket(SocketServer):
    name = "binance_ws"
    malformed_frame = '{"e": "trade", "p": '
    ping_interval = 20.0

    def __init__(self, faults: Faults) -> None:
        super().__init__(faults)

    def accepts_path(self, path: str) -> bool:
        parts = urlsplit(path)
        return parts.path.startswith("/ws") or parts.path == "/stream"

    def on_open(self, client: Client) -> None:
        parts = urlsplit(client.path)
        streams: set[str] = set()
        if parts.path == "/stream":
            client.state["combined"] = True
            for value in parse_qs(parts.query).get("streams", []):
                streams.update(s for s in value.split("/") if s)
        else:
            client.state["combined"] = False
            name = parts.path.removeprefix("/ws").strip("/")
            if name:
                streams.add(name)
        client.state["streams"] = {s.lower() for s in streams}

    def on_text(self, client: Client, text: str) -> None:
        try:
            request = json.loads(text)
            method = request["method"]
            params = [str(p).lower() for p in request.get("params", [])]
        except (ValueError, KeyError, TypeError):
            client.send(dumps({"error": {"code": 2, "msg": "Invalid request"}, "id": None}))
            return
        streams: set[str] = client.state["streams"]
        if method == "SUBSCRIBE":
            streams.update(params)
        elif method == "UNSUBSCRIBE":
            streams.difference_update(params)
        elif method == "LIST_SUBSCRIPTIONS":
            client.send(dumps({"result": sorted(streams), "id": request.get("id")}))
            return
        else:
            client.send(
                dumps({"error": {"code": 1, "msg": "Unknown method"}, "id": request.get("id")})
            )
            return
        client.send(dumps({"result": None, "id": request.get("id")}))

    def on_tick(self, tick: ExternalTick) -> None:
        if not self.clients:
            return
        symbol = tick.symbol.lower()
        payloads = (
            [(f"{symbol}@trade", t) for t in tick.trades]
            + [(f"{symbol}@aggTrade".lower(), a) for a in tick.agg_trades]
            + [(f"{symbol}@bookticker", tick.book_ticker)]
        )
        for client in self.clients:
            streams: set[str] = client.state.get("streams", set())
            for stream, data in payloads:
                if stream not in streams:
                    continue
                if client.state.get("combined"):
                    name = stream.replace("@aggtrade", "@aggTrade").replace(
                        "@bookticker", "@bookTicker"
                    )
                    client.send(dumps({"stream": name, "data": data}))
                else:
                    client.send(dumps(data))
