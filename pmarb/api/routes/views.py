"""Read-only views: status, portfolio, positions, strategies, opportunities, feeds, risk, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from pmarb.api import schemas, views
from pmarb.api.deps import Actor, LinksDep, PoolDep, SettingsDep, TemporalDep
from pmarb.api.schemas import errors
from pmarb.store.read_models import AuditFilter, OpportunityFilter

router = APIRouter(prefix="/api", tags=["views"], responses=errors(400, 401, 503))

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Since = Annotated[datetime | None, Query(description="Inclusive lower bound (ISO 8601).")]
Until = Annotated[datetime | None, Query(description="Exclusive upper bound (ISO 8601).")]
Kind = Literal["intra_venue", "cross_venue", "oracle_lag"]


@router.get("/status", response_model=dict[str, Any])
async def status(_: Actor, settings: SettingsDep) -> dict[str, Any]:
    """The same document as `pmarb status --json`."""
    from pmarb.status import gather

    return await gather(settings)


@router.get("/portfolio", response_model=schemas.Portfolio)
async def portfolio(
    _: Actor,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    hours: Annotated[float, Query(gt=0, le=24 * 366, description="History window.")] = 24.0,
) -> schemas.Portfolio:
    """Value = cash + positions at their marks (the ledger now, at the marks last kept), P&L
    = value − starting balance; high-water mark, ratchet floor and the snapshot series."""
    return await views.portfolio(pool, temporal, settings, hours)


@router.get("/positions", response_model=schemas.Positions)
async def positions(
    _: Actor, pool: PoolDep, include_flat: Annotated[bool, Query()] = False
) -> schemas.Positions:
    """Open positions marked as the portfolio marks them (the book's mid, else at cost)."""
    return await views.positions(pool, include_flat)


@router.get("/strategies", response_model=list[schemas.StrategyStanding])
async def strategies(_: Actor, pool: PoolDep) -> list[schemas.StrategyStanding]:
    """The tournament leaderboard and each strategy's current allocation."""
    return await views.strategies(pool)


@router.get("/opportunities", response_model=schemas.Page[schemas.OpportunityItem])
async def opportunities(
    _: Actor,
    pool: PoolDep,
    links: LinksDep,
    kind: Kind | None = None,
    status: Text = None,
    strategy: Text = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Recent opportunities, newest first."""
    f = OpportunityFilter(kind, status, strategy, since, until)
    return await views.opportunities(pool, links, f, limit, offset)


@router.get("/feeds", response_model=schemas.Feeds)
async def feeds(_: Actor, pool: PoolDep) -> schemas.Feeds:
    """Oracle and venue feed health as published by the market-data process."""
    return await views.feeds(pool)


@router.get("/risk", response_model=schemas.Risk)
async def risk(
    _: Actor, pool: PoolDep, temporal: TemporalDep, settings: SettingsDep
) -> schemas.Risk:
    """Limit utilisation from active exposure reservations; recent rejections."""
    return await views.risk(pool, temporal, settings)


@router.get("/audit", response_model=schemas.Page[schemas.AuditItem])
async def audit(
    _: Actor,
    pool: PoolDep,
    links: LinksDep,
    strategy: Text = None,
    venue: Text = None,
    market: Text = None,
    decision: Literal["approved", "rejected"] | None = None,
    since: Since = None,
    until: Until = None,
    q: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Trade requests with their opportunity, risk decision, orders, fees and P&L."""
    f = AuditFilter(strategy, venue, market, decision, since, until, q)
    return await views.audit(pool, links, f, limit, offset)
