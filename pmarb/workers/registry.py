"""What the general worker runs: every workflow class and the activity objects it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from pmarb.activities.system import SystemActivities
from pmarb.workflows.system_check import SystemCheckWorkflow

WORKFLOWS: Sequence[type] = (SystemCheckWorkflow,)


def activities(pool: AsyncConnectionPool[Any]) -> list[Callable[..., Any]]:
    system = SystemActivities(pool)
    return [system.check_database]
