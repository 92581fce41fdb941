"""The pre-trade risk check: one transaction that decides, records and reserves.

Every check reads state inside the same transaction that reserves exposure, serialised on the
``risk_state`` row, so two opportunities racing for the last dollar of a limit cannot both win.
The decision is stored with the trade request, keyed by workflow id: a retried check returns the
first decision instead of deciding (or reserving) twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pmarb.domain.money import ZERO
from pmarb.domain.risk import RiskLimits
from pmarb.risk.rules import (
    Exposure,
    GuardState,
    LegExposure,
    QuoteCheck,
    RiskDecision,
    RiskReason,
    TradeRequest,
    decide,
    merged_legs,
)

__all__ = ["LegExposure", "QuoteCheck", "RiskCheckRequest", "RiskDecision", "RiskReason"]


@dataclass(frozen=True, slots=True)
class RiskCheckRequest:
    workflow_id: str
    opportunity_id: str
    opportunity_kind: str
    opportunity: Mapping[str, Any]  # JSON-ready record of the opportunity, for the audit trail
    strategy: str
    bid: Mapping[str, Any]
    capital: Decimal
    legs: tuple[LegExposure, ...]
    quotes: tuple[QuoteCheck, ...]
    expires_at: datetime

    def as_trade(self) -> TradeRequest:
        return TradeRequest(self.strategy, self.capital, self.legs, self.quotes, self.expires_at)


async def current_limits(conn: psycopg.AsyncConnection[Any], default: RiskLimits) -> RiskLimits:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute("select limits from risk_state")
    row = await cursor.fetchone()
    stored = row["limits"] if row is not None else None
    return default if stored is None else RiskLimits.model_validate(stored)


async def store_limits(conn: psycopg.AsyncConnection[Any], limits: RiskLimits) -> None:
    await conn.execute(
        "update risk_state set limits = %s, updated_at = now()",
        (Jsonb(json.loads(limits.model_dump_json())),),
    )


def next_utc_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_READ = """
select rs.halted, rs.halt_reason, rs.paused_until, rs.limits,
    (select risk_decision from trade_requests where workflow_id = %(workflow_id)s)
        as previous_decision,
    (select risk_reason from trade_requests where workflow_id = %(workflow_id)s)
        as previous_reason,
    (select coalesce(sum(realized_pnl), 0) from trades where closed_at >= %(midnight)s)
        as realised_today,
    (select coalesce(sum(capital), 0) from exposure_reservations where status = 'active')
        as deployed,
    (select coalesce(sum(capital), 0) from exposure_reservations
        where status = 'active' and strategy = %(strategy)s) as strategy_used,
    (select a.fraction from allocations a where a.strategy = %(strategy)s
        order by a.effective_date desc limit 1) as allocation_fraction,
    (select a.status from allocations a where a.strategy = %(strategy)s
        order by a.effective_date desc limit 1) as allocation_status,
    array(
        select coalesce(sum(l.amount), 0)
        from unnest(%(venues)s::text[], %(markets)s::text[]) with ordinality as k(venue, market, n)
        left join exposure_reservation_legs l
            on l.venue = k.venue and l.market_id = k.market
            and exists (select 1 from exposure_reservations r
                        where r.workflow_id = l.workflow_id and r.status = 'active')
        group by k.n order by k.n
    ) as market_used,
    array(
        select coalesce(sum(l.amount), 0)
        from unnest(%(venue_set)s::text[]) with ordinality as v(venue, n)
        left join exposure_reservation_legs l
            on l.venue = v.venue
            and exists (select 1 from exposure_reservations r
                        where r.workflow_id = l.workflow_id and r.status = 'active')
        group by v.n order by v.n
    ) as venue_used
from risk_state rs
"""


async def check_and_reserve(
    conn: psycopg.AsyncConnection[Any],
    request: RiskCheckRequest,
    default_limits: RiskLimits,
    now: datetime,
) -> RiskDecision:
    """Decide, record the trade request and (if approved) reserve; all or nothing.

    Pipelined, BEGIN included: the lock and every read travel together, then every write and
    the COMMIT; the decision costs two round trips to the database whatever the number of legs.
    """
    markets = list(merged_legs(request.legs))
    venues = sorted({venue for venue, _ in markets})
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with conn.pipeline(), conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute("select 1 from risk_state for update")
        await cursor.execute(
            _READ,
            {
                "workflow_id": request.workflow_id,
                "midnight": midnight,
                "strategy": request.strategy,
                "venues": [venue for venue, _ in markets],
                "markets": [market for _, market in markets],
                "venue_set": venues,
            },
        )
        state = await cursor.fetchone()
        if state is None:
            raise RuntimeError("risk_state has no row; the schema is not migrated")
        if state["previous_decision"] is not None:
            reason = RiskReason(state["previous_reason"])
            return RiskDecision(reason is RiskReason.APPROVED, reason, "decided earlier")
        limits = (
            default_limits
            if state["limits"] is None
            else RiskLimits.model_validate(state["limits"])
        )
        guard = GuardState(
            halted=state["halted"],
            halt_reason=state["halt_reason"],
            paused_until=state["paused_until"],
            realised_today=Decimal(state["realised_today"]),
        )
        fraction = state["allocation_fraction"]
        budget = (
            None
            if fraction is None
            else ZERO
            if state["allocation_status"] == "paused"
            else Decimal(fraction) * limits.bankroll
        )
        exposure = Exposure(
            by_market=dict(zip(markets, map(Decimal, state["market_used"]), strict=True)),
            by_venue=dict(zip(venues, map(Decimal, state["venue_used"]), strict=True)),
            deployed=Decimal(state["deployed"]),
            by_strategy={request.strategy: Decimal(state["strategy_used"])},
            strategy_budgets={} if budget is None else {request.strategy: budget},
        )
        decision = decide(request.as_trade(), limits, guard, exposure, now)
        await _record(cursor, request, decision, now)
        if decision.reason is RiskReason.DAILY_LOSS_PAUSE and (
            state["paused_until"] is None or state["paused_until"] <= now
        ):
            await cursor.execute(
                "update risk_state set paused_until = %s, updated_at = now()",
                (next_utc_midnight(now),),
            )
    return decision


async def _record(
    cursor: psycopg.AsyncCursor[dict[str, Any]],
    request: RiskCheckRequest,
    decision: RiskDecision,
    now: datetime,
) -> None:
    opportunity = request.opportunity
    await cursor.execute(
        """
        insert into opportunities (id, kind, detected_at, expires_at, edge, size, legs, quotes,
                                   fair_value, status, workflow_id)
        values (%(id)s, %(kind)s, %(detected_at)s, %(expires_at)s, %(edge)s, %(size)s,
                %(legs)s, %(quotes)s, %(fair_value)s, %(status)s, %(workflow_id)s)
        on conflict (id) do update set status = excluded.status, updated_at = now()
        """,
        {
            "id": request.opportunity_id,
            "kind": request.opportunity_kind,
            "detected_at": opportunity["detected_at"],
            "expires_at": request.expires_at,
            "edge": opportunity["edge"],
            "size": opportunity["size"],
            "legs": Jsonb(opportunity["legs"]),
            "quotes": Jsonb(opportunity["quotes"]),
            "fair_value": opportunity.get("fair_value"),
            "status": "approved" if decision.approved else "rejected",
            "workflow_id": request.workflow_id,
        },
    )
    await cursor.execute(
        """
        insert into trade_requests (opportunity_id, workflow_id, strategy, bid, risk_decision,
                                    risk_reason, status, decided_at, opportunity_kind)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (workflow_id) do update set
            risk_decision = excluded.risk_decision, risk_reason = excluded.risk_reason,
            status = excluded.status, decided_at = excluded.decided_at, updated_at = now()
        """,
        (
            request.opportunity_id,
            request.workflow_id,
            request.strategy,
            Jsonb(request.bid),
            "approved" if decision.approved else "rejected",
            decision.reason.value,
            "approved" if decision.approved else "rejected",
            now,
            request.opportunity_kind,
        ),
    )
    if decision.approved:
        await cursor.execute(
            """
            insert into exposure_reservations (workflow_id, strategy, capital)
            values (%s, %s, %s)
            """,
            (request.workflow_id, request.strategy, request.capital),
        )
        for (venue, market), amount in merged_legs(request.legs).items():
            await cursor.execute(
                """
                insert into exposure_reservation_legs (workflow_id, venue, market_id, amount)
                values (%s, %s, %s, %s)
                """,
                (request.workflow_id, venue, market, amount),
            )
        return
    first = request.legs[0] if request.legs else None
    await cursor.execute(
        """
        insert into risk_events (kind, reason_code, workflow_id, strategy, venue, market_id,
                                 opportunity_id, details)
        values ('rejection', %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            decision.reason.value,
            request.workflow_id,
            request.strategy,
            first.venue if first else None,
            first.market_id if first else None,
            request.opportunity_id,
            Jsonb({"detail": decision.detail}),
        ),
    )


async def release_reservation(conn: psycopg.AsyncConnection[Any], workflow_id: str) -> bool:
    """Free a lifecycle's exposure; idempotent. Returns whether anything was released."""
    cursor = await conn.execute(
        """
        update exposure_reservations set status = 'released', released_at = now()
        where workflow_id = %s and status = 'active'
        """,
        (workflow_id,),
    )
    return cursor.rowcount == 1
