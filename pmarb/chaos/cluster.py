"""The processes under test, each a real subprocess that the chaos driver can kill or stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pmarb.config import Settings
from pmarb.infra import demo
from pmarb.infra.postgres import EmbeddedPostgres
from pmarb.infra.stack import pmarb_command
from pmarb.infra.supervisor import Child, ChildSpec, Supervisor
from pmarb.infra.temporal import DevServer
from pmarb.store import migrate
from pmarb.store.db import connect

READY_LINE = b"market data running"
# Orders need room: every lifecycle reserves exposure, and complete positions hold theirs.
CHAOS_BANKROLL = "1000000"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports (the simulator takes seven)."""
    for _ in range(200):
        base = free_port()
        if base + count < 65000 and all(_port_free(base + n) for n in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


@dataclass(frozen=True)
class ClusterEndpoints:
    database_url: str
    temporal_address: str
    sim_admin_url: str
    env: dict[str, str]


class Cluster:
    """PostgreSQL, Temporal, the simulator, ``pmarb worker`` and ``pmarb marketdata``.

    The pmarb processes are supervised with restart on exit, as a deployment would run them:
    a SIGKILLed worker comes back and resumes its lifecycles from Temporal.
    """

    def __init__(self, data_dir: Path, report: Callable[[str], None]) -> None:
        self.data_dir = data_dir
        self.logs = data_dir / "logs"
        self.report = report
        self.settings = Settings(
            data_dir=data_dir,
            postgres_port=free_port(),
            temporal_port=free_port(),
            temporal_ui_port=free_port(),
            sim_port_base=free_port_block(len(demo.SIM_SERVERS)),
        )
        self.postgres = EmbeddedPostgres(data_dir / "postgres", self.settings.postgres_port)
        self.temporal = DevServer(
            database_file=data_dir / "temporal.db",
            port=self.settings.temporal_port,
            ui_port=self.settings.temporal_ui_port,
        )
        self._supervisor: Supervisor | None = None
        self._children: dict[str, Child] = {}
        self.endpoints: ClusterEndpoints | None = None

    @property
    def supervisor(self) -> Supervisor:
        assert self._supervisor is not None, "the cluster is not started"
        return self._supervisor

    async def start(self) -> ClusterEndpoints:
        self._supervisor = Supervisor(max_restarts=10_000, restart_window=60.0)
        await self._start_postgres()
        database_url = self.postgres.url()
        async with await connect(database_url) as conn:
            await migrate.migrate(conn)
        await self._start_temporal()
        setup = demo.prepare(self.settings)
        await self._start("sim", setup.sim)
        await demo.wait_for_simulator(setup.admin_url)
        env = {
            **setup.env,
            "PMARB_PAPER": "false",  # orders go to the simulator, which counts them
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": self.temporal.address,
            "PMARB_DATA_DIR": str(self.data_dir),
            "PMARB_RISK__BANKROLL": CHAOS_BANKROLL,
            "PMARB_LOG_LEVEL": "info",
        }
        self.endpoints = ClusterEndpoints(database_url, self.temporal.address, setup.admin_url, env)
        for name in ("worker", "marketdata"):
            await self._start(
                name,
                ChildSpec(
                    name=name,
                    argv=pmarb_command(name),
                    env=env,
                    restart=True,
                    stop_timeout=45,
                    log_file=self.logs / f"{name}.log",
                ),
            )
        await self.wait_marketdata_ready(0)
        return self.endpoints

    async def _start(self, name: str, spec: ChildSpec) -> Child:
        child = await self.supervisor.start(spec)
        self._children[name] = child
        return child

    async def _start_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.prepare)
        await self._start(
            "postgres",
            ChildSpec(
                name="postgres",
                argv=self.postgres.command(),
                stop_signal=signal.SIGINT,
                stop_timeout=30,
                run_as=self.postgres.run_as,
                log_file=self.logs / "postgres.log",
            ),
        )
        await asyncio.to_thread(self.postgres.wait_ready, 60.0)
        await asyncio.to_thread(self.postgres.ensure_database)

    async def _start_temporal(self) -> None:
        await self._start(
            "temporal",
            ChildSpec(
                name="temporal",
                argv=self.temporal.command(),
                stop_timeout=20,
                log_file=self.logs / "temporal.log",
            ),
        )
        await self.temporal.wait_ready()

    # -- what the chaos does ------------------------------------------------------------------

    def ready_count(self) -> int:
        """How many times ``pmarb marketdata`` has come up (its log says so once per start)."""
        try:
            return (self.logs / "marketdata.log").read_bytes().count(READY_LINE)
        except FileNotFoundError:
            return 0

    async def wait_marketdata_ready(self, seen: int, timeout: float = 180.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.ready_count() <= seen:
            if loop.time() > deadline:
                raise RuntimeError(
                    f"pmarb marketdata did not come up within {timeout:.0f}s; see "
                    f"{self.logs / 'marketdata.log'}"
                )
            await asyncio.sleep(0.2)

    def kill(self, name: str) -> int:
        """SIGKILL a supervised pmarb process (the supervisor restarts it); return its pid."""
        child = self._current(name)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        return child.pid

    def _current(self, name: str) -> Child:
        # The supervisor swaps in a new Child on restart; find the live one by name.
        for child in self.supervisor.children:
            if child.spec.name == name and child.alive:
                return child
        return self._children[name]

    async def restart_temporal(self) -> None:
        child = self._children["temporal"]
        child.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), 30)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()
        await self._start_temporal()

    async def stop_postgres(self, seconds: float) -> None:
        """Fast-shut PostgreSQL down, leave it down for ``seconds``, start it again."""
        child = self._children["postgres"]
        child.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(child.process.wait(), 60)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()
        await asyncio.sleep(seconds)
        await self._start_postgres()

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop_all()
