"""What the general worker runs: every workflow class and the activity objects it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from pmarb.activities.alerts import AlertActivities
from pmarb.activities.guardian import GuardianActivities
from pmarb.activities.system import SystemActivities
from pmarb.activities.tournament import TournamentActivities
from pmarb.alerts.settings import AlertSettings
from pmarb.workflows.alerts import AlertWorkflow
from pmarb.workflows.risk_guardian import RiskGuardianWorkflow
from pmarb.workflows.system_check import SystemCheckWorkflow
from pmarb.workflows.tournament import TournamentWorkflow

WORKFLOWS: Sequence[type] = (
    SystemCheckWorkflow,
    RiskGuardianWorkflow,
    TournamentWorkflow,
    AlertWorkflow,
)


def activities(
    pool: AsyncConnectionPool[Any], client: Client, alert_settings: AlertSettings | None = None
) -> list[Callable[..., Any]]:
    system = SystemActivities(pool)
    guardian = GuardianActivities(pool, client)
    tournament = TournamentActivities(pool, client=client)
    alerts = AlertActivities(pool, alert_settings or AlertSettings())
    return [
        system.check_database,
        guardian.set_halt_flag,
        guardian.cancel_in_flight,
        guardian.set_pause,
        guardian.store_limits,
        guardian.raise_alert,
        tournament.run_tournament,
        alerts.deliver,
        alerts.record_acknowledgement,
    ]
