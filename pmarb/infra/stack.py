"""``pmarb up``: bring up PostgreSQL, Temporal, the worker and the API, and take them down again.

Embedded services start only where no external one is configured (``DATABASE_URL``,
``TEMPORAL_ADDRESS``). Their state lives in the data dir, so the next ``pmarb up`` on the same dir
finds everything the last one wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from pmarb.config import Settings
from pmarb.infra.postgres import EmbeddedPostgres
from pmarb.infra.runtime import RuntimeInfo, api_url, remove_runtime, write_runtime
from pmarb.infra.supervisor import ChildExitedError, ChildSpec, Supervisor
from pmarb.infra.temporal import DevServer
from pmarb.store import migrate
from pmarb.store.db import connect, redact_url

T = TypeVar("T")


class StackError(Exception):
    pass


@dataclass(frozen=True)
class StackUrls:
    api: str
    temporal_address: str
    temporal_ui: str | None
    database: str


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One ``pmarb up`` per data dir; a second one gets a clear refusal, not a corrupt cluster."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir / "pmarb.lock"
    handle: IO[str] = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StackError(
            f"pmarb is already running on {data_dir} (pid {holder}); stop it first or set "
            "PMARB_DATA_DIR to another directory"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def require_free_port(host: str, port: int, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackError(
                f"port {host}:{port} is already in use; free it or choose another with {setting}"
            ) from None


async def unless_failed(supervisor: Supervisor, step: Awaitable[T]) -> T:
    """Await ``step`` but fail at once if a supervised child dies meanwhile."""
    task = asyncio.ensure_future(step)
    waiting: set[asyncio.Future[Any]] = {task, supervisor.failed}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    task.cancel()
    raise StackError(str(supervisor.failed.result()))


async def wait_http_ok(url: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise StackError(f"{url} did not answer 200 within {timeout:.0f}s")


def pmarb_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pmarb", *args]


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        extra_children: Sequence[ChildSpec] = (),
        extra_env: Mapping[str, str] | None = None,
        before_services: Callable[[Supervisor], Awaitable[None]] | None = None,
        background: Sequence[Callable[[str], Coroutine[Any, Any, None]]] = (),
        finale: Callable[[str, Supervisor], Awaitable[int]] | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.extra_children = extra_children
        self.extra_env = dict(extra_env or {})
        self.before_services = before_services
        self.background = background
        # A bounded run: once everything is up, the stack stops when this returns (its result is
        # the exit code) instead of waiting for Ctrl-C.
        self.finale = finale
        self._database_url = ""
        self.report = report
        self.logs = settings.data_dir / "logs"
        self._tasks: list[asyncio.Task[None]] = []

    async def _start_postgres(self, supervisor: Supervisor) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url.get_secret_value()
        embedded = EmbeddedPostgres(
            self.settings.data_dir / "postgres", self.settings.postgres_port
        )
        require_free_port(embedded.host, embedded.port, "PMARB_POSTGRES_PORT")
        self.report(f"starting PostgreSQL on {embedded.host}:{embedded.port}")
        await asyncio.to_thread(embedded.prepare)
        await supervisor.start(
            ChildSpec(
                name="postgres",
                argv=embedded.command(),
                stop_signal=signal.SIGINT,  # fast shutdown; smart would wait for clients
                stop_timeout=30,
                run_as=embedded.run_as,
                log_file=self.logs / "postgres.log",
            )
        )
        await unless_failed(supervisor, asyncio.to_thread(embedded.wait_ready))
        await asyncio.to_thread(embedded.ensure_database)
        return embedded.url()

    async def _start_temporal(self, supervisor: Supervisor) -> tuple[str, str | None]:
        if self.settings.temporal_address is not None:
            return self.settings.temporal_address, None
        server = DevServer(
            database_file=self.settings.data_dir / "temporal.db",
            port=self.settings.temporal_port,
            ui_port=self.settings.temporal_ui_port,
        )
        require_free_port(server.ip, server.port, "PMARB_TEMPORAL_PORT")
        require_free_port(server.ip, server.ui_port, "PMARB_TEMPORAL_UI_PORT")
        self.report(f"starting Temporal dev server on {server.address}")
        await supervisor.start(
            ChildSpec(
                name="temporal",
                argv=server.command(),
                stop_timeout=20,
                log_file=self.logs / "temporal.log",
            )
        )
        await unless_failed(supervisor, server.wait_ready())
        return server.address, server.ui_url

    async def _start(self, supervisor: Supervisor) -> StackUrls:
        database_url = await self._start_postgres(supervisor)
        async with await connect(database_url) as conn:
            applied = await migrate.migrate(conn)
        if applied:
            self.report(f"applied migrations: {', '.join(f'{m.version:04d}' for m in applied)}")
        temporal_address, temporal_ui = await self._start_temporal(supervisor)
        api = api_url(self.settings)
        require_free_port(self.settings.api_host, self.settings.api_port, "PMARB_API_PORT")
        write_runtime(
            self.settings,
            RuntimeInfo(
                pid=os.getpid(),
                database_url=database_url,
                temporal_address=temporal_address,
                temporal_ui_url=temporal_ui,
                api_url=api,
            ),
        )
        child_env = {
            **self.extra_env,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "PMARB_DATA_DIR": str(self.settings.data_dir),
        }
        for extra in self.extra_children:
            await supervisor.start(
                ChildSpec(
                    name=extra.name,
                    argv=extra.argv,
                    env={**child_env, **extra.env},
                    stop_signal=extra.stop_signal,
                    stop_timeout=extra.stop_timeout,
                    restart=extra.restart,
                    log_file=extra.log_file,
                )
            )
        if self.before_services is not None:
            await unless_failed(supervisor, self.before_services(supervisor))
        for name in ("worker", "marketdata", "api"):
            await supervisor.start(
                ChildSpec(
                    name=name,
                    argv=pmarb_command(name),
                    env=child_env,
                    restart=True,
                    stop_timeout=45 if name != "api" else 15,
                )
            )
        self._database_url = database_url
        for task in self.background:
            self._tasks.append(asyncio.create_task(task(database_url)))
        await unless_failed(supervisor, wait_http_ok(f"{api}/healthz"))
        return StackUrls(
            api=api,
            temporal_address=temporal_address,
            temporal_ui=temporal_ui,
            database=redact_url(database_url),
        )

    async def run(self, on_ready: Callable[[StackUrls], None]) -> int:
        """Run until SIGINT/SIGTERM (exit 0) or an unrecoverable child failure (exit 1)."""
        with data_dir_lock(self.settings.data_dir):
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            supervisor = Supervisor()
            stopper = asyncio.ensure_future(stop.wait())
            finishing: asyncio.Future[int] | None = None
            try:
                starting = asyncio.ensure_future(self._start(supervisor))
                await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not starting.done():
                    starting.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StackError):
                        await starting
                    return 0
                on_ready(starting.result())
                running: set[asyncio.Future[Any]] = {stopper, supervisor.failed}
                if self.finale is not None:
                    finishing = asyncio.ensure_future(self.finale(self._database_url, supervisor))
                    running.add(finishing)
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                if supervisor.failed.done():
                    failure: ChildExitedError = supervisor.failed.result()
                    self.report(f"error: {failure}; stopping everything")
                    return 1
                if finishing is not None and finishing.done():
                    return finishing.result()
                return 0
            finally:
                stopper.cancel()
                if finishing is not None:
                    finishing.cancel()
                for task in self._tasks:
                    task.cancel()
                self.report("stopping…")
                await supervisor.stop_all()
                remove_runtime(self.settings)
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
                self.report("stopped")
