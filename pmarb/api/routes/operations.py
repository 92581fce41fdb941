"""Changing things: risk limits (through the guardian), alerts, the match review queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from pmarb.alerts.service import UnknownAlertError, acknowledge_alert
from pmarb.api import schemas, views
from pmarb.api.deps import Actor, LinksDep, PoolDep, SettingsDep, TemporalDep
from pmarb.api.guardian import GuardianUnavailableError, LimitsRefusedError, set_limits
from pmarb.api.schemas import errors
from pmarb.domain.risk import RiskLimits
from pmarb.store import match_review

router = APIRouter(prefix="/api", responses=errors(400, 401, 503))

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Id = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/config", response_model=schemas.Config, tags=["config"])
async def read_config(
    _: Actor, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep, links: LinksDep
) -> schemas.Config:
    """Paper/live mode, the risk limits in force and alert channel counts (no secrets)."""
    return await views.config(pool, temporal, settings, links[0])


@router.put("/config/risk", response_model=schemas.Config, tags=["config"])
async def update_risk_limits(
    _: Actor,
    limits: RiskLimits,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    links: LinksDep,
) -> schemas.Config:
    """Validate the limits, then hand them to the risk guardian's `set_limits` update.

    400 with the guardian's reason when its validator refuses; 503 when it cannot be reached
    (nothing changes then).
    """
    await apply_limits(temporal, limits)
    return await views.config(pool, temporal, settings, links[0])


async def apply_limits(temporal: Any, limits: RiskLimits) -> None:
    try:
        await set_limits(temporal, limits)
    except LimitsRefusedError as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"refused: {e}") from None
    except GuardianUnavailableError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None


@router.get("/alerts", response_model=schemas.Page[schemas.AlertItem], tags=["alerts"])
async def list_alerts(
    _: Actor,
    pool: PoolDep,
    links: LinksDep,
    open_only: Annotated[bool, Query(alias="open")] = False,
    tier: Literal["routine", "important", "critical", "emergency"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Alerts, newest first; `open=true` for unacknowledged ones only."""
    return await views.alerts(pool, links, open_only, tier, limit, offset)


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=schemas.AckResult,
    tags=["alerts"],
    responses=errors(404),
)
async def ack_alert(
    actor: Actor, alert_id: Id, pool: PoolDep, temporal: TemporalDep, links: LinksDep
) -> schemas.AckResult:
    """Acknowledge an alert (stops an emergency's repeats). Acknowledging twice is harmless."""
    return await acknowledge(pool, temporal, links, alert_id, actor, actor)


async def acknowledge(
    pool: Any, temporal: Any, links: tuple[str | None, str], alert_id: int, actor: str, via: str
) -> schemas.AckResult:
    try:
        outcome = await acknowledge_alert(pool, temporal, alert_id, actor, via)
    except UnknownAlertError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    return schemas.AckResult(
        alert=views.alert_item(outcome.alert, links),
        newly_acknowledged=outcome.newly_acknowledged,
        workflow_notified=outcome.workflow_notified,
    )


@router.get("/matches", response_model=schemas.Page[schemas.MatchItem], tags=["matches"])
async def list_matches(
    _: Actor,
    pool: PoolDep,
    review_status: Annotated[
        Literal["pending", "confirmed", "rejected", "none", "all"], Query(alias="status")
    ] = "pending",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The match review queue (pending pairs by default)."""
    wanted = None if review_status == "all" else review_status
    return await views.matches(pool, wanted, limit, offset)


@router.post(
    "/matches/{match_id}/{verdict}",
    response_model=schemas.MatchItem,
    tags=["matches"],
    responses=errors(404, 409),
)
async def review_match(
    actor: Actor,
    match_id: Id,
    verdict: Literal["confirm", "reject"],
    pool: PoolDep,
    body: schemas.ReviewRequest | None = None,
) -> schemas.MatchItem:
    """Confirm (the pair becomes tradable) or reject a pending pair."""
    by = body.by if body is not None and body.by else actor
    return await review(pool, match_id, verdict == "confirm", by)


async def review(pool: Any, match_id: int, confirm: bool, actor: str) -> schemas.MatchItem:
    try:
        async with pool.connection() as conn, conn.transaction():
            row = await match_review.review(conn, match_id, confirm=confirm, actor=actor)
    except match_review.UnknownMatchError as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except match_review.ReviewError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return schemas.MatchItem.model_validate(row)
