"""Queries behind the operator surfaces (API, dashboard, metrics): read-only, one per view.

Rows come back as dicts with Decimal money; the API turns them into its response models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pmarb.domain.risk import RiskLimits

Row = dict[str, Any]


async def _all(conn: psycopg.AsyncConnection[Any], query: str, params: Any = None) -> list[Row]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(query, params)
    return list(await cursor.fetchall())


async def _one(conn: psycopg.AsyncConnection[Any], query: str, params: Any = None) -> Row | None:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(query, params)
    return await cursor.fetchone()


# -- portfolio ---------------------------------------------------------------------------------


async def portfolio_series(
    conn: psycopg.AsyncConnection[Any], since: datetime | None, limit: int
) -> list[Row]:
    """Snapshots oldest first; with many, an even sample so a chart stays light."""
    rows = await _all(
        conn,
        """
        select taken_at, value, cash, deployed, unrealized_pnl, realized_pnl,
               high_water_mark, floor
        from portfolio_snapshots where %(since)s::timestamptz is null or taken_at >= %(since)s
        order by taken_at
        """,
        {"since": since},
    )
    if len(rows) <= limit:
        return rows
    step = len(rows) / limit
    sampled = [rows[int(i * step)] for i in range(limit - 1)]
    return [*sampled, rows[-1]]


async def latest_snapshot(conn: psycopg.AsyncConnection[Any]) -> Row | None:
    return await _one(
        conn,
        """
        select taken_at, value, cash, deployed, unrealized_pnl, realized_pnl,
               high_water_mark, floor
        from portfolio_snapshots order by taken_at desc limit 1
        """,
    )


async def realised_pnl_since(conn: psycopg.AsyncConnection[Any], since: datetime) -> Decimal:
    row = await _one(
        conn,
        "select coalesce(sum(realized_pnl), 0) as pnl from trades where closed_at >= %s",
        (since,),
    )
    return Decimal(row["pnl"]) if row else Decimal(0)


# -- positions ---------------------------------------------------------------------------------


async def positions(conn: psycopg.AsyncConnection[Any], include_flat: bool = False) -> list[Row]:
    """Positions with the mark the last valuation kept for their instrument, if any
    (:mod:`pmarb.store.portfolio`; the view values them with :mod:`pmarb.domain.portfolio`)."""
    return await _all(
        conn,
        """
        select p.venue, p.market_id, p.outcome, p.instrument_id, p.size, p.average_price,
               p.realized_pnl, p.fees, p.updated_at, m.title,
               k.price as mark, k.basis as mark_source, k.marked_at
        from positions p
        left join markets m on m.venue = p.venue and m.market_id = p.market_id
        left join marks k on k.venue = p.venue and k.instrument_id = p.instrument_id
        where %(all)s or p.size <> 0
        order by p.venue, p.market_id, p.outcome
        """,
        {"all": include_flat},
    )


# -- strategies --------------------------------------------------------------------------------


async def leaderboard(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    """Latest tournament standing and allocation per strategy, with live trade counts."""
    return await _all(
        conn,
        """
        with perf as (
            select distinct on (strategy) strategy, as_of, window_days, trades, pnl, sharpe,
                   win_rate, max_drawdown
            from strategy_performance order by strategy, as_of desc),
        alloc as (
            select distinct on (strategy) strategy, effective_date, fraction, capital, status,
                   reason
            from allocations order by strategy, effective_date desc),
        live as (
            select strategy, count(*) filter (where status = 'open') as open_trades,
                   coalesce(sum(realized_pnl), 0) as realized_pnl_all_time
            from trades group by strategy),
        names as (
            select strategy from perf union select strategy from alloc
            union select strategy from live)
        select n.strategy, perf.as_of, perf.window_days, perf.trades as window_trades,
               perf.pnl as window_pnl, perf.sharpe, perf.win_rate, perf.max_drawdown,
               alloc.effective_date, alloc.fraction, alloc.capital, alloc.status, alloc.reason,
               coalesce(live.open_trades, 0) as open_trades,
               coalesce(live.realized_pnl_all_time, 0) as realized_pnl_all_time
        from names n
        left join perf using (strategy) left join alloc using (strategy)
        left join live using (strategy)
        order by alloc.fraction desc nulls last, perf.pnl desc nulls last, n.strategy
        """,
    )


# -- opportunities -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    kind: str | None = None
    status: str | None = None
    strategy: str | None = None
    since: datetime | None = None
    until: datetime | None = None


_OPPORTUNITY_SELECT = """
    select o.id, o.kind, o.detected_at, o.expires_at, o.edge, o.size, o.fair_value, o.status,
           o.workflow_id, o.legs, o.updated_at, tr.strategy, tr.risk_decision, tr.risk_reason,
           tr.pnl
    from opportunities o left join trade_requests tr on tr.workflow_id = o.workflow_id
"""


def _opportunity_where(f: OpportunityFilter) -> tuple[str, dict[str, Any]]:
    clauses = []
    params: dict[str, Any] = {}
    for name, column in (("kind", "o.kind"), ("status", "o.status"), ("strategy", "tr.strategy")):
        value = getattr(f, name)
        if value is not None:
            clauses.append(f"{column} = %({name})s")
            params[name] = value
    if f.since is not None:
        clauses.append("o.detected_at >= %(since)s")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("o.detected_at < %(until)s")
        params["until"] = f.until
    return (f"where {' and '.join(clauses)}" if clauses else ""), params


async def opportunities(
    conn: psycopg.AsyncConnection[Any], f: OpportunityFilter, limit: int, offset: int
) -> tuple[list[Row], int]:
    where, params = _opportunity_where(f)
    rows = await _all(
        conn,
        f"{_OPPORTUNITY_SELECT} {where} order by o.detected_at desc, o.id "
        "limit %(limit)s offset %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    total = await _one(
        conn,
        "select count(*) as n from opportunities o "
        f"left join trade_requests tr on tr.workflow_id = o.workflow_id {where}",
        params,
    )
    return rows, int(total["n"]) if total else 0


async def opportunities_changed_since(
    conn: psycopg.AsyncConnection[Any], since: datetime, limit: int = 50
) -> list[Row]:
    """Opportunities new or updated after ``since`` (the live feed's cursor), oldest first."""
    return await _all(
        conn,
        f"{_OPPORTUNITY_SELECT} where o.updated_at > %s order by o.updated_at limit %s",
        (since, limit),
    )


# -- risk --------------------------------------------------------------------------------------


async def risk_utilisation(conn: psycopg.AsyncConnection[Any], limits: RiskLimits) -> Row:
    """Active reservations against each limit the pre-trade check enforces."""
    deployed = await _one(
        conn,
        "select coalesce(sum(capital), 0) as used, count(*) as lifecycles "
        "from exposure_reservations where status = 'active'",
    )
    venues = await _all(
        conn,
        """
        select l.venue, sum(l.amount) as used from exposure_reservation_legs l
        join exposure_reservations r using (workflow_id) where r.status = 'active'
        group by l.venue order by used desc
        """,
    )
    markets = await _all(
        conn,
        """
        select l.venue, l.market_id, sum(l.amount) as used from exposure_reservation_legs l
        join exposure_reservations r using (workflow_id) where r.status = 'active'
        group by l.venue, l.market_id order by used desc limit 20
        """,
    )
    strategies = await _all(
        conn,
        """
        with alloc as (
            select distinct on (strategy) strategy, fraction, status from allocations
            order by strategy, effective_date desc),
        used as (
            select strategy, sum(capital) as used from exposure_reservations
            where status = 'active' group by strategy)
        select coalesce(alloc.strategy, used.strategy) as strategy,
               coalesce(used.used, 0) as used,
               case when alloc.status = 'paused' then 0
                    when alloc.fraction is not null then alloc.fraction * %s end as budget
        from alloc full join used using (strategy) order by strategy
        """,
        (limits.bankroll,),
    )
    return {
        "deployed": Decimal(deployed["used"]) if deployed else Decimal(0),
        "active_lifecycles": int(deployed["lifecycles"]) if deployed else 0,
        "venues": venues,
        "markets": markets,
        "strategies": strategies,
    }


async def recent_rejections(conn: psycopg.AsyncConnection[Any], limit: int) -> list[Row]:
    return await _all(
        conn,
        """
        select id, occurred_at, kind, reason_code, workflow_id, strategy, venue, market_id,
               opportunity_id, details
        from risk_events where kind = 'rejection' order by occurred_at desc, id desc limit %s
        """,
        (limit,),
    )


async def rejection_counts(conn: psycopg.AsyncConnection[Any], since: datetime) -> list[Row]:
    return await _all(
        conn,
        """
        select reason_code, count(*) as count from risk_events
        where kind = 'rejection' and occurred_at >= %s group by reason_code order by count desc
        """,
        (since,),
    )


# -- audit -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilter:
    strategy: str | None = None
    venue: str | None = None
    market: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def _audit_where(f: AuditFilter) -> tuple[str, dict[str, Any]]:
    clauses = []
    params: dict[str, Any] = {}
    if f.strategy is not None:
        clauses.append("tr.strategy = %(strategy)s")
        params["strategy"] = f.strategy
    if f.decision is not None:
        clauses.append("tr.risk_decision = %(decision)s")
        params["decision"] = f.decision
    if f.venue is not None:
        clauses.append(
            "(exists (select 1 from orders x where x.workflow_id = tr.workflow_id "
            "and x.venue = %(venue)s) or o.legs @> jsonb_build_array("
            "jsonb_build_object('venue', %(venue)s::text)))"
        )
        params["venue"] = f.venue
    if f.market is not None:
        clauses.append(
            "(exists (select 1 from orders x where x.workflow_id = tr.workflow_id "
            "and x.market_id = %(market)s) or o.legs @> jsonb_build_array("
            "jsonb_build_object('market_id', %(market)s::text)))"
        )
        params["market"] = f.market
    if f.since is not None:
        clauses.append("tr.requested_at >= %(since)s")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("tr.requested_at < %(until)s")
        params["until"] = f.until
    if f.text:
        clauses.append(
            "(tr.workflow_id ilike %(text)s or tr.risk_reason ilike %(text)s "
            "or tr.status ilike %(text)s or o.id ilike %(text)s)"
        )
        params["text"] = f"%{f.text}%"
    return (f"where {' and '.join(clauses)}" if clauses else ""), params


async def audit_log(
    conn: psycopg.AsyncConnection[Any], f: AuditFilter, limit: int, offset: int
) -> tuple[list[Row], int]:
    where, params = _audit_where(f)
    rows = await _all(
        conn,
        f"""
        select tr.id, tr.workflow_id, tr.opportunity_id, tr.strategy, tr.requested_at,
               tr.decided_at, tr.closed_at, tr.risk_decision, tr.risk_reason, tr.status,
               tr.bid, tr.execution, tr.fees, tr.slippage, tr.pnl,
               coalesce(tr.opportunity_kind, o.kind) as opportunity_kind, o.edge, o.size,
               o.detected_at, o.legs,
               coalesce((select jsonb_agg(jsonb_build_object(
                    'client_order_id', x.client_order_id, 'leg', x.leg, 'venue', x.venue,
                    'market_id', x.market_id, 'outcome', x.outcome, 'side', x.side,
                    'price', x.price, 'size', x.size, 'filled_size', x.filled_size,
                    'average_price', x.average_price, 'fees', x.fees, 'status', x.status,
                    'purpose', x.purpose, 'paper', x.paper) order by x.id)
                  from orders x where x.workflow_id = tr.workflow_id), '[]'::jsonb) as orders
        from trade_requests tr left join opportunities o on o.id = tr.opportunity_id
        {where}
        order by tr.requested_at desc, tr.id desc limit %(limit)s offset %(offset)s
        """,
        {**params, "limit": limit, "offset": offset},
    )
    total = await _one(
        conn,
        "select count(*) as n from trade_requests tr "
        f"left join opportunities o on o.id = tr.opportunity_id {where}",
        params,
    )
    return rows, int(total["n"]) if total else 0


# -- metrics -----------------------------------------------------------------------------------


async def trade_counts(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    return await _all(
        conn, "select strategy, status, count(*) as n from trades group by strategy, status"
    )


async def decision_counts(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    return await _all(
        conn,
        "select coalesce(risk_decision, 'pending') as decision, count(*) as n "
        "from trade_requests group by 1",
    )


async def rejection_totals(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    return await _all(
        conn,
        "select reason_code, count(*) as n from risk_events where kind = 'rejection' "
        "group by reason_code",
    )


async def opportunity_counts(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    return await _all(
        conn, "select kind, status, count(*) as n from opportunities group by kind, status"
    )


async def decision_latencies(
    conn: psycopg.AsyncConnection[Any], buckets: tuple[float, ...]
) -> tuple[list[int], int, float]:
    """Detected → risk-decided seconds as cumulative bucket counts, count and sum."""
    latencies = """
        select extract(epoch from tr.decided_at - o.detected_at)::float8 as s
        from trade_requests tr join opportunities o on o.id = tr.opportunity_id
        where tr.decided_at is not null
    """
    cumulative = await _all(
        conn,
        f"with latencies as ({latencies}) select b, (select count(*) from latencies "
        "where s <= b) as n from unnest(%s::float8[]) b order by b",
        (list(buckets),),
    )
    totals = await _one(
        conn, f"select count(*) as n, coalesce(sum(s), 0) as total from ({latencies}) latencies"
    )
    count = int(totals["n"]) if totals else 0
    return [int(r["n"]) for r in cumulative], count, float(totals["total"]) if totals else 0.0


async def alert_counts(conn: psycopg.AsyncConnection[Any]) -> list[Row]:
    return await _all(
        conn,
        "select tier, count(*) filter (where acknowledged_at is null) as open, count(*) as n "
        "from alerts group by tier",
    )
