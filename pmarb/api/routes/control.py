from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pmarb import control
from pmarb.api import kill_switch
from pmarb.api.deps import Actor, PoolDep, SettingsDep, TemporalDep
from pmarb.api.schemas import errors

router = APIRouter(prefix="/api", tags=["kill switch"], responses=errors(400, 401, 503))


class ControlRequest(BaseModel):
    reason: str = Field("operator request", min_length=1, max_length=500)


class ControlResponse(BaseModel):
    halted: bool
    reason: str | None
    guardian_confirmed: bool
    guardian_error: str | None


@router.post("/halt", response_model=ControlResponse)
async def halt(
    actor: Actor,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: ControlRequest | None = None,
) -> ControlResponse:
    """HALT_ALL: the flag is set before this returns; no order leaves after it."""
    reason = (body or ControlRequest()).reason
    outcome = await kill_switch.halt(pool, temporal, settings, reason, actor)
    return ControlResponse(**outcome.__dict__)


@router.post("/resume", response_model=ControlResponse)
async def resume(
    actor: Actor, pool: PoolDep, temporal: TemporalDep, body: ControlRequest | None = None
) -> ControlResponse:
    reason = (body or ControlRequest()).reason
    outcome = await control.resume(pool, temporal, reason, actor)
    return ControlResponse(**outcome.__dict__)
