"""HALT_ALL and resume, shared by the CLI and the API.

The halt flag in PostgreSQL is the truth the order path reads, so it is set first and directly:
a halt works even when no worker is running. Then the risk guardian is told (a confirmed update),
which cancels in-flight lifecycles and raises the alert; if it cannot be reached the flag still
stands and the caller is told so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from pmarb.store.risk_state import HaltState, set_halted
from pmarb.workflows.risk_guardian import (
    WORKFLOW_ID,
    HaltRequest,
    ResumeRequest,
    RiskGuardianWorkflow,
)

GUARDIAN_TIMEOUT = 10.0


@dataclass(frozen=True)
class ControlOutcome:
    halted: bool
    reason: str | None
    guardian_confirmed: bool
    guardian_error: str | None


async def halt(
    pool: AsyncConnectionPool[Any], client: Client | None, reason: str, actor: str
) -> ControlOutcome:
    async with pool.connection() as conn:
        state = await set_halted(conn, halted=True, reason=reason, actor=actor)
    confirmed, error = await _tell_guardian(client, "halt", HaltRequest(reason, actor))
    return _outcome(state, confirmed, error)


async def resume(
    pool: AsyncConnectionPool[Any], client: Client | None, reason: str, actor: str
) -> ControlOutcome:
    # The guardian first, so its ratchet restarts from the current value; the flag is cleared
    # even if it cannot be reached, so an operator is never locked out (the outcome says so).
    confirmed, error = await _tell_guardian(client, "resume", ResumeRequest(reason, actor))
    async with pool.connection() as conn:
        state = await set_halted(conn, halted=False, reason=reason, actor=actor)
    return _outcome(state, confirmed, error)


async def _tell_guardian(
    client: Client | None, update: str, request: HaltRequest | ResumeRequest
) -> tuple[bool, str | None]:
    if client is None:
        return False, "Temporal is not reachable; the database flag was changed directly"
    handle = client.get_workflow_handle_for(RiskGuardianWorkflow.run, WORKFLOW_ID)
    try:
        if isinstance(request, HaltRequest):
            await asyncio.wait_for(
                handle.execute_update(RiskGuardianWorkflow.halt, request), GUARDIAN_TIMEOUT
            )
        else:
            await asyncio.wait_for(
                handle.execute_update(RiskGuardianWorkflow.resume, request), GUARDIAN_TIMEOUT
            )
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        message = str(cause) if cause is not None else str(e)
        if update == "resume" and "not halted" in message:
            return True, None
        return False, f"the risk guardian refused: {message}"
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # wait_for cancels the update call, which the client reports as its own error.
        return False, "the risk guardian did not answer in time (is a worker running?)"
    except RPCError as e:
        return False, f"the risk guardian is not reachable: {e.message}"
    return True, None


def _outcome(state: HaltState, confirmed: bool, error: str | None) -> ControlOutcome:
    return ControlOutcome(state.halted, state.halt_reason, confirmed, error)
