"""What the general worker runs: every workflow class and the activity objects it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from pmarb.activities.alerts import AlertActivities
from pmarb.activities.guardian import GuardianActivities
from pmarb.activities.matching import MatchingActivities
from pmarb.activities.system import SystemActivities
from pmarb.activities.tournament import TournamentActivities
from pmarb.config import Settings
from pmarb.workflows.alerts import AlertWorkflow
from pmarb.workflows.matching import MatchingWorkflow
from pmarb.workflows.risk_guardian import RiskGuardianWorkflow
from pmarb.workflows.system_check import SystemCheckWorkflow
from pmarb.workflows.tournament import TournamentWorkflow

WORKFLOWS: Sequence[type] = (
    SystemCheckWorkflow,
    RiskGuardianWorkflow,
    TournamentWorkflow,
    MatchingWorkflow,
    AlertWorkflow,
)


def activities(
    pool: AsyncConnectionPool[Any], client: Client, settings: Settings
) -> list[Callable[..., Any]]:
    system = SystemActivities(pool)
    guardian = GuardianActivities(pool, client, dispatch_alerts=True)
    tournament = TournamentActivities(pool, client=client)
    matching = MatchingActivities.from_settings(pool, settings)
    alerts = AlertActivities(pool, settings.alerts)
    return [
        system.check_database,
        guardian.set_halt_flag,
        guardian.cancel_in_flight,
        guardian.set_pause,
        guardian.store_limits,
        guardian.raise_alert,
        tournament.run_tournament,
        matching.find_candidates,
        matching.adjudicate_batch,
        matching.finish_run,
        alerts.deliver,
        alerts.record_acknowledgement,
    ]
