"""HALT_ALL from the API and the dashboard: the shared control path, plus an emergency alert
when the risk guardian (which normally raises it) could not be reached."""

from __future__ import annotations

import logging
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from pmarb import control
from pmarb.alerts.dispatch import raise_and_dispatch
from pmarb.config import Settings
from pmarb.store.alerts import AlertTier

log = logging.getLogger(__name__)


async def halt(
    pool: AsyncConnectionPool[Any],
    temporal: Client | None,
    settings: Settings,
    reason: str,
    actor: str,
) -> control.ControlOutcome:
    outcome = await control.halt(pool, temporal, reason, actor)
    if outcome.halted and not outcome.guardian_confirmed:
        try:
            await raise_and_dispatch(
                pool,
                temporal,
                settings.task_queue,
                AlertTier.EMERGENCY,
                "HALT_ALL: trading halted",
                f"{reason} (by {actor}). The risk guardian did not confirm: "
                f"{outcome.guardian_error}",
                dedupe_key="halt-unconfirmed",
            )
        except Exception:  # the halt itself stands; the alert is best effort here
            log.exception("HALT_ALL: could not raise the emergency alert")
    return outcome
