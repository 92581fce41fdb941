"""What the general worker runs: every workflow class and the activity objects it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from pmarb.activities.matching import MatchingActivities
from pmarb.activities.system import SystemActivities
from pmarb.config import load_settings
from pmarb.workflows.matching import MatchingWorkflow
from pmarb.workflows.system_check import SystemCheckWorkflow

WORKFLOWS: Sequence[type] = (SystemCheckWorkflow, MatchingWorkflow)


def activities(pool: AsyncConnectionPool[Any]) -> list[Callable[..., Any]]:
    system = SystemActivities(pool)
    matching = MatchingActivities.from_settings(pool, load_settings())
    return [
        system.check_database,
        matching.find_candidates,
        matching.adjudicate_batch,
        matching.finish_run,
    ]
