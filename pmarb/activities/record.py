"""Recording activities: the audit trail and P&L for one lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from pmarb.activities.risk import opportunity_record
from pmarb.domain.opportunity import Opportunity
from pmarb.lifecycle.messages import SettledMarket, TradeOutcome
from pmarb.store.trades import close_trade


@dataclass(frozen=True)
class CloseTradeInput:
    workflow_id: str
    status: str
    expected_prices: dict[str, Decimal]
    settled: tuple[SettledMarket, ...] = ()
    release: bool = True


@dataclass(frozen=True)
class UnpursuedInput:
    workflow_id: str
    opportunity: Opportunity
    status: str  # "no_bid"


class RecordActivities:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    @activity.defn(name="close_trade")
    async def close_trade(self, request: CloseTradeInput) -> TradeOutcome:
        async with self._pool.connection() as conn:
            summary = await close_trade(
                conn,
                request.workflow_id,
                status=request.status,
                expected_prices=request.expected_prices,
                yes_payouts={(s.venue, s.market_id): s.yes_payout for s in request.settled},
                release=request.release,
            )
        return TradeOutcome(
            summary.realized_pnl,
            summary.fees,
            summary.cost,
            summary.slippage,
            summary.filled_orders,
        )

    @activity.defn(name="record_unpursued")
    async def record_unpursued(self, request: UnpursuedInput) -> None:
        """Keep opportunities nobody bid for, so the feed and the backtest can see them."""
        record = opportunity_record(request.opportunity)
        async with self._pool.connection() as conn:
            await conn.execute(
                """
                insert into opportunities (id, kind, detected_at, expires_at, edge, size, legs,
                                           quotes, fair_value, status, workflow_id)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (id) do nothing
                """,
                (
                    request.opportunity.workflow_id,
                    request.opportunity.kind.value,
                    request.opportunity.detected_at,
                    request.opportunity.expires_at,
                    request.opportunity.edge,
                    request.opportunity.size,
                    Jsonb(record["legs"]),
                    Jsonb(record["quotes"]),
                    request.opportunity.fair_value,
                    request.status,
                    request.workflow_id,
                ),
            )
