"""The API's view of the risk guardian: its state (a query) and its limits (an update)."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from pmarb.domain.risk import RiskLimits
from pmarb.workflows.risk_guardian import WORKFLOW_ID, GuardianView, RiskGuardianWorkflow

log = logging.getLogger(__name__)

QUERY_TIMEOUT = 3.0
UPDATE_TIMEOUT = 15.0


class LimitsRefusedError(Exception):
    """The guardian's validator refused the limits; the message says why."""


class GuardianUnavailableError(Exception):
    pass


async def guardian_state(client: Client | None) -> GuardianView | None:
    """The guardian's view, or None when Temporal or a worker cannot answer promptly."""
    if client is None:
        return None
    handle = client.get_workflow_handle_for(RiskGuardianWorkflow.run, WORKFLOW_ID)
    try:
        return await asyncio.wait_for(handle.query(RiskGuardianWorkflow.state), QUERY_TIMEOUT)
    except (TimeoutError, RPCError, Exception) as e:  # any failure means "not known now"
        log.debug("guardian query failed: %s", e)
        return None


async def set_limits(client: Client | None, limits: RiskLimits) -> GuardianView:
    if client is None:
        raise GuardianUnavailableError("Temporal is not reachable; the limits were not changed")
    handle = client.get_workflow_handle_for(RiskGuardianWorkflow.run, WORKFLOW_ID)
    try:
        return await asyncio.wait_for(
            handle.execute_update(RiskGuardianWorkflow.set_limits, limits), UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        raise LimitsRefusedError(str(cause) if cause is not None else str(e)) from None
    except TimeoutError:
        raise GuardianUnavailableError(
            "the risk guardian did not confirm in time (is a worker running?); "
            "the limits may apply once it does"
        ) from None
    except RPCError as e:
        raise GuardianUnavailableError(
            f"the risk guardian is not reachable ({e.message}); the limits were not changed"
        ) from None
