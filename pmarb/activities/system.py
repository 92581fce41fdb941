"""Activities that report on the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from pmarb.store import migrate
from pmarb.store.risk_state import read_halt_state


@dataclass(frozen=True)
class DatabaseCheck:
    database_ok: bool
    migrations_current: bool
    halted: bool | None
    error: str | None = None


class SystemActivities:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    @activity.defn(name="check_database")
    async def check_database(self, requested_by: str) -> DatabaseCheck:
        try:
            async with self._pool.connection() as conn:
                schema = await migrate.status(conn)
                halt = await read_halt_state(conn) if schema.current else None
        except Exception as e:
            activity.logger.warning("database check for %s failed: %s", requested_by, e)
            return DatabaseCheck(False, False, None, error=type(e).__name__)
        return DatabaseCheck(True, schema.current, halt.halted if halt else None)
