"""Closing the books on one lifecycle: its trade row, P&L attribution and the audit record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pmarb.domain.money import ZERO
from pmarb.domain.parity import Outcome, Side
from pmarb.store.orders import LedgerOrder, workflow_orders
from pmarb.store.risk import release_reservation

# A lifecycle's final status, in the trades table's vocabulary: whatever stopped a trade early
# (a failed leg, an expired hedge window, a halt, a cancel) left it unwound.
_TRADE_STATUS = {
    "settled": "settled",
    "closed": "closed",
    "holding": "open",
    "unwound": "unwound",
    "halted": "unwound",
    "cancelled": "unwound",
}


@dataclass(frozen=True, slots=True)
class TradeSummary:
    status: str
    cost: Decimal
    fees: Decimal
    realized_pnl: Decimal | None
    slippage: Decimal
    filled_orders: int


def summarise(
    orders: list[LedgerOrder],
    expected_prices: Mapping[str, Decimal],
    yes_payouts: Mapping[tuple[str, str], Decimal],
    status: str,
) -> TradeSummary:
    """P&L from this lifecycle's own fills: cash in and out, fees, and settlement payouts.

    Realised P&L is known only when every market still held has a payout (or nothing is held).
    """
    cash = ZERO
    fees = ZERO
    cost = ZERO
    slippage = ZERO
    held: dict[tuple[str, str, Outcome], Decimal] = {}
    for order in orders:
        fees += order.fees
        if order.filled_size <= ZERO or order.average_price is None:
            continue
        notional = order.filled_size * order.average_price
        key = (order.venue, order.market_id, order.outcome)
        if order.side is Side.BUY:
            cash -= notional
            cost += notional
            held[key] = held.get(key, ZERO) + order.filled_size
        else:
            cash += notional
            held[key] = held.get(key, ZERO) - order.filled_size
        expected = expected_prices.get(order.client_order_id)
        if expected is not None:
            signed = (
                order.average_price - expected
                if order.side is Side.BUY
                else (expected - order.average_price)
            )
            slippage += signed * order.filled_size
    payout = ZERO
    complete = True
    for (venue, market, outcome), size in held.items():
        if size == ZERO:
            continue
        yes = yes_payouts.get((venue, market))
        if yes is None:
            complete = False
            continue
        payout += size * (yes if outcome is Outcome.YES else 1 - yes)
    return TradeSummary(
        status=status,
        cost=cost,
        fees=fees,
        realized_pnl=cash + payout - fees if complete else None,
        slippage=slippage,
        filled_orders=sum(1 for order in orders if order.filled_size > ZERO),
    )


async def close_trade(
    conn: psycopg.AsyncConnection[Any],
    workflow_id: str,
    *,
    status: str,
    expected_prices: Mapping[str, Decimal],
    yes_payouts: Mapping[tuple[str, str], Decimal],
    release: bool,
) -> TradeSummary:
    """Write the trade and the audit outcome; release the reservation when the trade is over.

    Idempotent: a second call rewrites the same rows with the same values.
    """
    async with conn.transaction():
        orders = await workflow_orders(conn, workflow_id)
        summary = summarise(orders, expected_prices, yes_payouts, status)
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "select id, opportunity_id, strategy from trade_requests where workflow_id = %s",
            (workflow_id,),
        )
        request = await cursor.fetchone()
        if request is None:
            raise KeyError(f"no trade request for {workflow_id}")
        execution = [
            {
                "client_order_id": order.client_order_id,
                "leg": order.leg,
                "purpose": order.purpose.value,
                "side": order.side.value,
                "status": order.status.value,
                "size": str(order.size),
                "filled": str(order.filled_size),
                "price": None if order.average_price is None else str(order.average_price),
                "fees": str(order.fees),
            }
            for order in orders
        ]
        closed = summary.realized_pnl is not None and release
        if summary.filled_orders:
            await cursor.execute(
                """
                insert into trades (trade_request_id, opportunity_id, strategy, status, cost,
                                    fees, realized_pnl, closed_at, attribution)
                values (%s, %s, %s, %s, %s, %s, %s, case when %s then now() end, %s)
                on conflict (trade_request_id) do update set
                    status = excluded.status, cost = excluded.cost, fees = excluded.fees,
                    realized_pnl = excluded.realized_pnl,
                    closed_at = coalesce(trades.closed_at, excluded.closed_at),
                    attribution = excluded.attribution
                """,
                (
                    request["id"],
                    request["opportunity_id"],
                    request["strategy"],
                    _TRADE_STATUS.get(status, "unwound") if closed else "open",
                    summary.cost,
                    summary.fees,
                    summary.realized_pnl,
                    closed,
                    Jsonb({"strategy": request["strategy"], "slippage": str(summary.slippage)}),
                ),
            )
        await cursor.execute(
            """
            update trade_requests set status = %s, execution = %s, fees = %s, slippage = %s,
                pnl = %s, attribution = %s,
                closed_at = case when %s then coalesce(closed_at, now()) end,
                updated_at = now()
            where workflow_id = %s
            """,
            (
                status,
                Jsonb(execution),
                summary.fees,
                summary.slippage,
                summary.realized_pnl,
                Jsonb({"strategy": request["strategy"]}),
                release,
                workflow_id,
            ),
        )
        if release:
            await release_reservation(conn, workflow_id)
    return summary
