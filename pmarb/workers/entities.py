"""The long-running entity workflows every deployment has exactly one of."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from pmarb.config import Settings
from pmarb.workflows.risk_guardian import WORKFLOW_ID as GUARDIAN_ID
from pmarb.workflows.risk_guardian import GuardianInput, RiskGuardianWorkflow
from pmarb.workflows.tournament import WORKFLOW_ID as TOURNAMENT_ID
from pmarb.workflows.tournament import TournamentInput, TournamentWorkflow

log = logging.getLogger(__name__)


async def ensure_entities(client: Client, settings: Settings) -> None:
    """Start the risk guardian and the tournament unless they are already running."""
    await client.start_workflow(
        RiskGuardianWorkflow.run,
        GuardianInput(limits=settings.risk),
        id=GUARDIAN_ID,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Risk guardian: high-water mark, ratchet stop, daily loss, HALT_ALL",
    )
    await client.start_workflow(
        TournamentWorkflow.run,
        TournamentInput(capital=settings.risk.bankroll),
        id=TOURNAMENT_ID,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Daily strategy tournament at 00:00 UTC",
    )
