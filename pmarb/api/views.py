"""What each view shows, built once for the JSON API and the dashboard pages alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from pmarb.alerts.delivery import Channels
from pmarb.api import schemas
from pmarb.api.guardian import guardian_state
from pmarb.config import Settings
from pmarb.domain.risk import RiskLimits
from pmarb.store import match_review, read_models
from pmarb.store.alert_records import AlertRecord, list_alerts
from pmarb.store.feed_health import read_feed_health
from pmarb.store.risk import current_limits
from pmarb.store.risk_state import HaltState, read_halt_state

Pool = AsyncConnectionPool[Any]
LimitsSource = Literal["guardian", "database", "settings"]

# A feed row the market-data process has not refreshed for this long is itself stale.
FEED_REPORT_STALE_SECONDS = 30.0


def temporal_url(ui: str | None, namespace: str, workflow_id: str | None) -> str | None:
    if not ui or not workflow_id:
        return None
    base = f"{ui.rstrip('/')}/namespaces/{quote(namespace, safe='')}"
    return f"{base}/workflows/{quote(workflow_id, safe='')}"


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    following = offset + len(items)
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": following if following < total else None,
    }


async def halt_state(pool: Pool) -> HaltState:
    async with pool.connection() as conn:
        return await read_halt_state(conn)


async def effective_limits(
    pool: Pool, client: Client | None, settings: Settings
) -> tuple[RiskLimits, LimitsSource]:
    view = await guardian_state(client)
    if view is not None:
        return view.limits, "guardian"
    async with pool.connection() as conn:
        stored = await current_limits(conn, settings.risk)
    return stored, "settings" if stored == settings.risk else "database"


async def portfolio(
    pool: Pool, client: Client | None, settings: Settings, hours: float
) -> schemas.Portfolio:
    since = datetime.now(UTC) - timedelta(hours=hours)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with pool.connection() as conn:
        series = await read_models.portfolio_series(conn, since, limit=500)
        latest = await read_models.latest_snapshot(conn)
        today = await read_models.realised_pnl_since(conn, midnight)
        state = await read_halt_state(conn)
        limits = await current_limits(conn, settings.risk)
    # The value: the newest snapshot (the guardian hears of the value only when it moves
    # materially). The high-water mark and floor: the guardian's, since it is what enforces them.
    view = await guardian_state(client)
    value: Decimal | None = None
    value_source: Literal["guardian", "snapshot", "none"] = "none"
    high = floor = None
    ratchet_source: Literal["guardian", "snapshot", "none"] = "none"
    if latest is not None:
        value, value_source = Decimal(latest["value"]), "snapshot"
    elif view is not None:
        value, value_source = view.value, "guardian"
    if view is not None:
        high, floor, ratchet_source = view.high_water_mark, view.floor, "guardian"
        limits = view.limits
    elif latest is not None and latest["high_water_mark"] is not None:
        high, ratchet_source = Decimal(latest["high_water_mark"]), "snapshot"
        floor = Decimal(latest["floor"]) if latest["floor"] is not None else limits.floor_for(high)
    return schemas.Portfolio(
        value=value,
        high_water_mark=high,
        floor=floor,
        headroom=value - floor if value is not None and floor is not None else None,
        cash=latest["cash"] if latest else None,
        deployed=latest["deployed"] if latest else None,
        unrealized_pnl=latest["unrealized_pnl"] if latest else None,
        realized_pnl_today=today,
        pnl_since_start=value - limits.bankroll if value is not None else None,
        bankroll=limits.bankroll,
        halted=state.halted,
        halt_reason=state.halt_reason,
        paused_until=state.paused_until,
        source=value_source,
        ratchet_source=ratchet_source,
        snapshot_at=latest["taken_at"] if latest else None,
        series=[schemas.PortfolioPoint.model_validate(row) for row in series],
    )


async def positions(pool: Pool, include_flat: bool = False) -> schemas.Positions:
    async with pool.connection() as conn:
        rows = await read_models.positions(conn, include_flat)
    items = [schemas.Position.model_validate(row) for row in rows]
    marked = [p.unrealized_pnl for p in items if p.unrealized_pnl is not None]
    return schemas.Positions(
        items=items,
        unrealized_pnl=sum(marked, Decimal(0)),
        unmarked=sum(1 for p in items if p.mark is None and p.size != 0),
    )


async def strategies(pool: Pool) -> list[schemas.StrategyStanding]:
    async with pool.connection() as conn:
        rows = await read_models.leaderboard(conn)
    return [schemas.StrategyStanding.model_validate(row) for row in rows]


async def opportunities(
    pool: Pool,
    links: tuple[str | None, str],
    f: read_models.OpportunityFilter,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    async with pool.connection() as conn:
        rows, total = await read_models.opportunities(conn, f, limit, offset)
    items = [opportunity_item(row, links) for row in rows]
    return page(items, total, limit, offset)


def opportunity_item(row: dict[str, Any], links: tuple[str | None, str]) -> schemas.OpportunityItem:
    item = schemas.OpportunityItem.model_validate(row)
    item.temporal_url = temporal_url(links[0], links[1], item.workflow_id)
    return item


async def feeds(pool: Pool) -> schemas.Feeds:
    async with pool.connection() as conn:
        rows = await read_feed_health(conn)
    now = datetime.now(UTC)
    converted = [
        schemas.FeedRow(
            **{k: getattr(row, k) for k in row.__dataclass_fields__},
            report_age_seconds=max((now - row.updated_at).total_seconds(), 0.0),
        )
        for row in rows
    ]
    top = [row for row in converted if row.key == ""]
    healthy = bool(top) and all(
        row.connected and not row.stale and row.report_age_seconds < FEED_REPORT_STALE_SECONDS
        for row in top
    )
    return schemas.Feeds(
        feeds=top,
        keys=[row for row in converted if row.key != ""],
        healthy=healthy,
        stale_after_seconds=FEED_REPORT_STALE_SECONDS,
    )


def _utilisation(name: str, used: Any, limit: Decimal | None) -> schemas.Utilisation:
    used_d = Decimal(used)
    fraction = None
    if limit is not None and limit > 0:
        fraction = (used_d / limit).quantize(Decimal("0.0001"))
    return schemas.Utilisation(name=name, used=used_d, limit=limit, fraction=fraction)


async def risk(pool: Pool, client: Client | None, settings: Settings) -> schemas.Risk:
    limits, source = await effective_limits(pool, client, settings)
    async with pool.connection() as conn:
        usage = await read_models.risk_utilisation(conn, limits)
        rejections = await read_models.recent_rejections(conn, 50)
        counts = await read_models.rejection_counts(conn, datetime.now(UTC) - timedelta(hours=24))
        state = await read_halt_state(conn)
    return schemas.Risk(
        limits=limits,
        limits_source=source,
        halted=state.halted,
        halt_reason=state.halt_reason,
        halted_at=state.halted_at,
        halted_by=state.halted_by,
        paused_until=state.paused_until,
        active_lifecycles=usage["active_lifecycles"],
        deployed=_utilisation("deployed", usage["deployed"], limits.max_deployed),
        venues=[
            _utilisation(r["venue"], r["used"], limits.per_venue_limit) for r in usage["venues"]
        ],
        markets=[
            _utilisation(f"{r['venue']}/{r['market_id']}", r["used"], limits.per_market_limit)
            for r in usage["markets"]
        ],
        strategies=[
            _utilisation(r["strategy"], r["used"], r["budget"]) for r in usage["strategies"]
        ],
        recent_rejections=[schemas.Rejection.model_validate(r) for r in rejections],
        rejections_24h=[schemas.ReasonCount.model_validate(r) for r in counts],
    )


async def audit(
    pool: Pool,
    links: tuple[str | None, str],
    f: read_models.AuditFilter,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    async with pool.connection() as conn:
        rows, total = await read_models.audit_log(conn, f, limit, offset)
    items = []
    for row in rows:
        item = schemas.AuditItem.model_validate(row)
        item.temporal_url = temporal_url(links[0], links[1], item.workflow_id)
        items.append(item)
    return page(items, total, limit, offset)


async def config(
    pool: Pool, client: Client | None, settings: Settings, ui: str | None
) -> schemas.Config:
    limits, source = await effective_limits(pool, client, settings)
    counts = Channels(settings.alerts).summary()
    return schemas.Config(
        paper=settings.paper,
        limits=limits,
        limits_source=source,
        temporal_namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
        temporal_ui_url=ui,
        alerts=schemas.AlertConfig(
            channels=schemas.AlertChannels(**counts),
            emergency_repeat_minutes=settings.alerts.emergency_repeat_minutes,
        ),
    )


def alert_item(record: AlertRecord, links: tuple[str | None, str]) -> schemas.AlertItem:
    return schemas.AlertItem(
        id=record.id,
        tier=record.tier,
        title=record.title,
        body=record.body,
        dedupe_key=record.dedupe_key,
        created_at=record.created_at,
        acknowledged_at=record.acknowledged_at,
        acknowledged_by=record.acknowledged_by,
        acknowledged_via=record.acknowledged_via,
        time_to_acknowledge_seconds=(
            record.time_to_acknowledge.total_seconds() if record.time_to_acknowledge else None
        ),
        workflow_id=record.workflow_id,
        deliveries=record.deliveries,
        temporal_url=temporal_url(links[0], links[1], record.workflow_id),
    )


async def alerts(
    pool: Pool,
    links: tuple[str | None, str],
    open_only: bool,
    tier: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    async with pool.connection() as conn:
        records, total = await list_alerts(
            conn, open_only=open_only, tier=tier, limit=limit, offset=offset
        )
    return page([alert_item(r, links) for r in records], total, limit, offset)


async def open_alert_count(pool: Pool) -> int:
    async with pool.connection() as conn:
        _, total = await list_alerts(conn, open_only=True, limit=1)
    return total


async def matches(pool: Pool, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    async with pool.connection() as conn:
        rows, total = await match_review.list_matches(conn, status, limit, offset)
    return page([schemas.MatchItem.model_validate(r) for r in rows], total, limit, offset)
