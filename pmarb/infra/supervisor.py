"""Start, watch, restart and stop the child processes of ``pmarb up``.

Children run in their own sessions so a Ctrl-C in the terminal reaches only the supervisor,
which then stops them in reverse start order (API before worker before Temporal before
PostgreSQL). Each child also gets a parent-death signal, so even a SIGKILLed supervisor leaves no
process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pmarb.infra.processes import die_with_parent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict)
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 15.0
    restart: bool = False
    run_as: tuple[int, int] | None = None
    log_file: Path | None = None
    cwd: Path | None = None


@dataclass
class Child:
    spec: ChildSpec
    process: asyncio.subprocess.Process
    started_at: float
    log_handle: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


class ChildExitedError(Exception):
    def __init__(self, name: str, returncode: int | None, log_file: Path | None) -> None:
        where = f"; see {log_file}" if log_file else ""
        super().__init__(f"{name} exited with code {returncode}{where}")
        self.name = name
        self.returncode = returncode


class Supervisor:
    def __init__(self, *, max_restarts: int = 5, restart_window: float = 60.0) -> None:
        self._children: list[Child] = []
        self._stopping = False
        self._max_restarts = max_restarts
        self._restart_window = restart_window
        self._restarts: dict[str, list[float]] = {}
        # Exits nobody asked for, by child name (whether or not the child was restarted).
        self.unexpected_exits: Counter[str] = Counter()
        self.failed: asyncio.Future[ChildExitedError] = asyncio.get_running_loop().create_future()
        self._watchers: set[asyncio.Task[None]] = set()

    @property
    def children(self) -> list[Child]:
        return list(self._children)

    def get(self, name: str) -> Child:
        for child in self._children:
            if child.spec.name == name:
                return child
        raise KeyError(name)

    async def start(self, spec: ChildSpec) -> Child:
        child = await self._spawn(spec)
        self._children.append(child)
        watcher = asyncio.create_task(self._watch(child), name=f"watch-{spec.name}")
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return child

    async def _spawn(self, spec: ChildSpec) -> Child:
        env = {**os.environ, **spec.env}
        handle: IO[bytes] | None = None
        stdout: int | IO[bytes] | None = None
        if spec.log_file is not None:
            spec.log_file.parent.mkdir(parents=True, exist_ok=True)
            handle = spec.log_file.open("ab")
            if spec.run_as is not None:
                os.chown(spec.log_file, *spec.run_as)
            stdout = handle
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=asyncio.subprocess.STDOUT if handle is not None else None,
            start_new_session=True,
            preexec_fn=die_with_parent(spec.stop_signal),
            user=spec.run_as[0] if spec.run_as else None,
            group=spec.run_as[1] if spec.run_as else None,
            cwd=spec.cwd,
        )
        log.debug("started %s (pid %d)", spec.name, process.pid)
        return Child(spec=spec, process=process, started_at=time.monotonic(), log_handle=handle)

    async def _watch(self, child: Child) -> None:
        returncode = await child.process.wait()
        if child.log_handle is not None:
            child.log_handle.close()
        if self._stopping or child not in self._children:
            return
        spec = child.spec
        self.unexpected_exits[spec.name] += 1
        if spec.restart and self._may_restart(spec.name):
            log.warning("%s exited with code %s; restarting", spec.name, returncode)
            await asyncio.sleep(1.0)
            if self._stopping:
                return
            replacement = await self._spawn(spec)
            self._children[self._children.index(child)] = replacement
            watcher = asyncio.create_task(self._watch(replacement), name=f"watch-{spec.name}")
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)
            return
        if not self.failed.done():
            self.failed.set_result(ChildExitedError(spec.name, returncode, spec.log_file))

    def _may_restart(self, name: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._restarts.get(name, []) if now - t < self._restart_window]
        recent.append(now)
        self._restarts[name] = recent
        return len(recent) <= self._max_restarts

    async def stop_all(self) -> None:
        """Stop children newest first, escalating to SIGKILL after each one's timeout."""
        self._stopping = True
        for child in reversed(self._children):
            await self._stop(child)
        for watcher in list(self._watchers):
            watcher.cancel()
        self._children.clear()

    async def _stop(self, child: Child) -> None:
        if not child.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(child.spec.stop_signal)
        try:
            await asyncio.wait_for(child.process.wait(), child.spec.stop_timeout)
        except TimeoutError:
            log.warning(
                "%s did not stop in %.0fs; killing it", child.spec.name, child.spec.stop_timeout
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            await child.process.wait()
        # The child led its own session; anything it forked and left behind goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
