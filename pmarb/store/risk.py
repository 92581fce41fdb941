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


async def check_and_reserve(
    conn: psycopg.AsyncConnection[Any],
    request: RiskCheckRequest,
    default_limits: RiskLimits,
    now: datetime,
) -> RiskDecision:
    """Decide, record the trade request and (if approved) reserve; all or nothing."""
    async with conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "select halted, halt_reason, paused_until, limits from risk_state for update"
        )
        state = await cursor.fetchone()
        if state is None:
            raise RuntimeError("risk_state has no row; the schema is not migrated")
        await cursor.execute(
            "select risk_decision, risk_reason from trade_requests where workflow_id = %s",
            (request.workflow_id,),
        )
        previous = await cursor.fetchone()
        if previous is not None and previous["risk_decision"] is not None:
            reason = RiskReason(previous["risk_reason"])
            return RiskDecision(reason is RiskReason.APPROVED, reason, "decided earlier")
        limits = (
            default_limits
            if state["limits"] is None
            else RiskLimits.model_validate(state["limits"])
        )
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        guard = GuardState(
            halted=state["halted"],
            halt_reason=state["halt_reason"],
            paused_until=state["paused_until"],
            realised_today=await _realised_pnl_since(cursor, midnight),
        )
        exposure = await _load_exposure(cursor, request, limits.bankroll)
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


async def _load_exposure(
    cursor: psycopg.AsyncCursor[dict[str, Any]], request: RiskCheckRequest, bankroll: Decimal
) -> Exposure:
    """What is already reserved in the markets, venues and strategy this request touches."""
    by_market: dict[tuple[str, str], Decimal] = {}
    for venue, market in merged_legs(request.legs):
        await cursor.execute(
            """
            select coalesce(sum(l.amount), 0) as used from exposure_reservation_legs l
            join exposure_reservations r using (workflow_id)
            where r.status = 'active' and l.venue = %s and l.market_id = %s
            """,
            (venue, market),
        )
        by_market[(venue, market)] = await _scalar(cursor)
    by_venue: dict[str, Decimal] = {}
    for venue in {leg.venue for leg in request.legs}:
        await cursor.execute(
            """
            select coalesce(sum(l.amount), 0) as used from exposure_reservation_legs l
            join exposure_reservations r using (workflow_id)
            where r.status = 'active' and l.venue = %s
            """,
            (venue,),
        )
        by_venue[venue] = await _scalar(cursor)
    await cursor.execute(
        """
        select coalesce(sum(capital), 0) as used from exposure_reservations
        where status = 'active'
        """
    )
    deployed = await _scalar(cursor)
    await cursor.execute(
        """
        select coalesce(sum(capital), 0) as used from exposure_reservations
        where status = 'active' and strategy = %s
        """,
        (request.strategy,),
    )
    by_strategy = {request.strategy: await _scalar(cursor)}
    budget = await _strategy_budget(cursor, request.strategy, bankroll)
    return Exposure(
        by_market=by_market,
        by_venue=by_venue,
        deployed=deployed,
        by_strategy=by_strategy,
        strategy_budgets={} if budget is None else {request.strategy: budget},
    )


async def _scalar(cursor: psycopg.AsyncCursor[dict[str, Any]]) -> Decimal:
    row = await cursor.fetchone()
    return Decimal(next(iter(row.values()))) if row else ZERO


async def _realised_pnl_since(
    cursor: psycopg.AsyncCursor[dict[str, Any]], since: datetime
) -> Decimal:
    await cursor.execute(
        "select coalesce(sum(realized_pnl), 0) as pnl from trades where closed_at >= %s",
        (since,),
    )
    return await _scalar(cursor)


async def _strategy_budget(
    cursor: psycopg.AsyncCursor[dict[str, Any]], strategy: str, bankroll: Decimal
) -> Decimal | None:
    """The strategy's capital from its latest allocation; None before the first tournament."""
    await cursor.execute(
        """
        select fraction, status from allocations where strategy = %s
        order by effective_date desc limit 1
        """,
        (strategy,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return ZERO if row["status"] == "paused" else Decimal(row["fraction"]) * bankroll


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
