"""Fault injection: what a flaky venue does to a client, on demand or at random with a seed.

Targets are server names (``gamma``, ``clob``, ``polymarket_ws``, ``kalshi``, ``kalshi_ws``,
``binance_ws``) or venue families (``polymarket``, ``kalshi``, ``binance``); ``None`` means all.
Every injected fault is appended to :attr:`Faults.history` so a test can see what happened.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

FAMILIES = {
    "gamma": "polymarket",
    "clob": "polymarket",
    "polymarket_ws": "polymarket",
    "kalshi": "kalshi",
    "kalshi_ws": "kalshi",
    "binance_ws": "binance",
}
RANDOM_KINDS = ("disconnect", "silence", "malformed", "http_429", "http_5xx", "http_425", "seq_gap")


class FaultError(ValueError):
    """A fault request that cannot be honoured (unknown target, bad status)."""


class SocketServer(Protocol):
    name: str

    def disconnect_all(self, *, abrupt: bool) -> int: ...

    def send_malformed(self) -> int: ...


@dataclass
class HttpFault:
    status: int
    remaining: int
    target: str | None
    path_prefix: str | None
    after_processing: bool = False


@dataclass(frozen=True)
class FaultRecord:
    at: float
    kind: str
    target: str | None
    detail: str
    # Unix time, so a client's own timestamps (fills, trades) can be set against the fault.
    wall: float = 0.0
    # How long the fault lasts, where it has a duration (silence).
    seconds: float | None = None


@dataclass
class Faults:
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    # Read by the random script on every step, so a run can turn random faults up or off.
    random_probability: float = 0.0
    history: list[FaultRecord] = field(default_factory=list)
    _http: list[HttpFault] = field(default_factory=list)
    _silent_until: dict[str, float] = field(default_factory=dict)
    _sockets: dict[str, SocketServer] = field(default_factory=dict)
    _seq_gap_hooks: list[Callable[[], int]] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)

    # ------------------------------------------------------------------ wiring

    def register_socket_server(self, server: SocketServer) -> None:
        self._sockets[server.name] = server

    def register_seq_gap_hook(self, hook: Callable[[], int]) -> None:
        self._seq_gap_hooks.append(hook)

    @staticmethod
    def matches(target: str | None, server: str) -> bool:
        return target is None or target == server or target == FAMILIES.get(server)

    @staticmethod
    def check_target(target: str | None) -> None:
        if target is not None and target not in FAMILIES and target not in FAMILIES.values():
            known = sorted({*FAMILIES, *FAMILIES.values()})
            raise FaultError(f"unknown fault target {target!r}; use one of {known}")

    def _record(
        self, kind: str, target: str | None, detail: str, seconds: float | None = None
    ) -> None:
        self.history.append(
            FaultRecord(self.clock(), kind, target, detail, self.wall_clock(), seconds)
        )

    # ------------------------------------------------------------------ HTTP

    def http_error(
        self,
        status: int,
        count: int = 1,
        *,
        target: str | None = None,
        path_prefix: str | None = None,
        after_processing: bool = False,
    ) -> None:
        """The next ``count`` matching requests get ``status`` (429, 425, 5xx, ...).

        With ``after_processing`` the request is executed first and its response replaced:
        a lost response, after which a client cannot know whether its order was placed.
        """
        if not 400 <= status <= 599:
            raise FaultError(f"HTTP fault status must be 4xx or 5xx, got {status}")
        if count < 1:
            raise FaultError("count must be at least 1")
        self.check_target(target)
        self._http.append(HttpFault(status, count, target, path_prefix, after_processing))
        self._record(
            "http_error",
            target,
            f"{status} x{count} prefix={path_prefix} after_processing={after_processing}",
        )

    def take_http_fault(self, server: str, path: str, *, after_processing: bool) -> int | None:
        for fault in self._http:
            if fault.after_processing != after_processing or fault.remaining <= 0:
                continue
            if not self.matches(fault.target, server):
                continue
            if fault.path_prefix is not None and not path.startswith(fault.path_prefix):
                continue
            fault.remaining -= 1
            self.served[f"http_{fault.status}"] += 1
            if fault.remaining == 0:
                self._http.remove(fault)
            return fault.status
        return None

    @property
    def pending_http(self) -> int:
        return sum(f.remaining for f in self._http)

    # ------------------------------------------------------------------ sockets

    def disconnect(self, target: str | None = None, *, abrupt: bool = True) -> int:
        """Drop every WebSocket connection of the matching servers; returns how many."""
        self.check_target(target)
        dropped = sum(
            server.disconnect_all(abrupt=abrupt)
            for name, server in self._sockets.items()
            if self.matches(target, name)
        )
        self._record("disconnect", target, f"{dropped} connections abrupt={abrupt}")
        return dropped

    def silence(self, target: str | None, seconds: float) -> None:
        """Send no data for ``seconds`` (wall clock); pings are still answered."""
        self.check_target(target)
        until = self.clock() + seconds
        for name in self._sockets:
            if self.matches(target, name):
                self._silent_until[name] = until
        self._record("silence", target, f"{seconds}s", seconds)

    def is_silenced(self, server: str) -> bool:
        until = self._silent_until.get(server)
        if until is None:
            return False
        if self.clock() >= until:
            del self._silent_until[server]
            return False
        return True

    def malformed(self, target: str | None = None) -> int:
        """Send one frame that is not valid JSON to every matching connection."""
        self.check_target(target)
        sent = sum(
            server.send_malformed()
            for name, server in self._sockets.items()
            if self.matches(target, name)
        )
        self._record("malformed", target, f"{sent} frames")
        return sent

    def kalshi_seq_gap(self) -> int:
        """The next orderbook message of every Kalshi orderbook subscription is lost: its seq
        number is skipped, so the client sees seq jump by two and must resync."""
        affected = sum(hook() for hook in self._seq_gap_hooks)
        self._record("seq_gap", "kalshi_ws", f"{affected} subscriptions")
        return affected

    def clear(self) -> int:
        """End the storm: pending HTTP faults are dropped and silences end now. Returns how
        many pending HTTP faults were dropped."""
        dropped = self.pending_http
        self._http.clear()
        self._silent_until.clear()
        self._record("clear", None, f"{dropped} pending HTTP faults dropped")
        return dropped

    # ------------------------------------------------------------------ random

    def random_script(
        self, seed: int, probability: float, kinds: tuple[str, ...] = RANDOM_KINDS
    ) -> Callable[[object], None]:
        """A per-step hook that injects a random fault with :attr:`random_probability` (set to
        ``probability`` here) each step."""
        unknown = set(kinds) - set(RANDOM_KINDS)
        if unknown:
            raise FaultError(f"unknown random fault kinds {sorted(unknown)}")
        rng = random.Random(seed)
        self.random_probability = probability
        targets = ("polymarket", "kalshi", "binance")

        def hook(_: object) -> None:
            if rng.random() >= self.random_probability:
                return
            kind = rng.choice(kinds)
            target = rng.choice(targets)
            if kind == "disconnect":
                self.disconnect(target)
            elif kind == "silence":
                self.silence(target, rng.choice((2.0, 5.0, 15.0)))
            elif kind == "malformed":
                self.malformed(target)
            elif kind == "seq_gap":
                self.kalshi_seq_gap()
            elif target != "binance":
                status = {"http_429": 429, "http_425": 425}.get(kind) or rng.choice((500, 502, 503))
                self.http_error(status, rng.randint(1, 3), target=target)

        return hook
