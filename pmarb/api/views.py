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
from pmarb.domain.market import VenueId
from pmarb.domain.parity import Outcome
from pmarb.domain.portfolio import Holding, Mark, MarkedPosition, mark_position
from pmarb.domain.risk import RiskLimits
from pmarb.store import match_review, read_models
from pmarb.store.alert_records import AlertRecord, list_alerts
from pmarb.store.feed_health import read_feed_health
from pmarb.store.portfolio import deployed_capital, value_at_kept_marks
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


def marked_position(position: MarkedPosition) -> schemas.MarkedPosition:
    holding = position.holding
    return schemas.MarkedPosition(
        venue=holding.venue.value,
        market_id=holding.market_id,
        outcome=holding.outcome.value,
        instrument_id=holding.instrument_id,
        size=holding.size,
        average_price=holding.average_price,
        mark=position.mark.price,
        mark_source=position.mark.basis,
        value=position.value,
        unrealized_pnl=position.unrealized_pnl,
    )


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
        # The ledger now, at the marks the market-data process last kept: the one valuation
        # (pmarb/domain/portfolio.py) that process also reports to the guardian.
        valuation = await value_at_kept_marks(conn, bankroll=limits.bankroll)
        deployed = await deployed_capital(conn)
    # The high-water mark and floor: the guardian's, since it is what enforces them.
    view = await guardian_state(client)
    high = floor = None
    ratchet_source: Literal["guardian", "snapshot", "none"] = "none"
    if view is not None:
        high, floor, ratchet_source = view.high_water_mark, view.floor, "guardian"
        limits = view.limits
    elif latest is not None and latest["high_water_mark"] is not None:
        high, ratchet_source = Decimal(latest["high_water_mark"]), "snapshot"
        floor = Decimal(latest["floor"]) if latest["floor"] is not None else limits.floor_for(high)
    value = valuation.value
    return schemas.Portfolio(
        value=value,
        cash=valuation.cash,
        positions_value=valuation.positions_value,
        starting_balance=valuation.starting_balance,
        pnl=valuation.pnl,
        unrealized_pnl=valuation.unrealized_pnl,
        realized_pnl=valuation.realized_pnl,
        positions=[marked_position(p) for p in valuation.positions],
        high_water_mark=high,
        floor=floor,
        headroom=value - floor if floor is not None else None,
        deployed=deployed,
        realized_pnl_today=today,
        bankroll=limits.bankroll,
        halted=state.halted,
        halt_reason=state.halt_reason,
        paused_until=state.paused_until,
        ratchet_source=ratchet_source,
        snapshot_at=latest["taken_at"] if latest else None,
        series=[schemas.PortfolioPoint.model_validate(row) for row in series],
    )


async def positions(pool: Pool, include_flat: bool = False) -> schemas.Positions:
    async with pool.connection() as conn:
        rows = await read_models.positions(conn, include_flat)
    items = []
    for row in rows:
        # Marked as the portfolio marks it (the kept mark, else at cost).
        kept = None if row["mark"] is None else Mark(Decimal(row["mark"]), row["mark_source"])
        marked = mark_position(
            Holding(
                venue=VenueId(row["venue"]),
                market_id=row["market_id"],
                outcome=Outcome(row["outcome"]),
                instrument_id=row["instrument_id"],
                size=Decimal(row["size"]),
                average_price=Decimal(row["average_price"]),
            ),
            kept,
        )
        flat = marked.holding.size == 0
        items.append(
            schemas.Position.model_validate(
                {
                    **row,
                    "mark": None if flat else marked.mark.price,
                    "mark_source": None if flat else marked.mark.basis,
                    "marked_at": None if flat or kept is None else row["marked_at"],
                    "value": marked.value,
                    "unrealized_pnl": marked.unrealized_pnl,
                }
            )
        )
    return schemas.Positions(
        items=items,
        value=sum((p.value for p in items), Decimal(0)),
        unrealized_pnl=sum((p.unrealized_pnl for p in items), Decimal(0)),
        unmarked=sum(1 for p in items if p.mark_source == "cost"),
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
