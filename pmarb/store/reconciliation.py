"""Ledger reads and repairs for reconciliation, and the audit row of every pass."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderState, OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.domain.positions import Position


@dataclass(frozen=True, slots=True)
class LedgerOpenOrder:
    workflow_id: str | None
    market_id: str
    created_at: datetime
    state: OrderState


async def ledger_positions(conn: psycopg.AsyncConnection[Any], venue: VenueId) -> list[Position]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select market_id, outcome, size, average_price, realized_pnl from positions
        where venue = %s and size <> 0 order by market_id, outcome
        """,
        (venue.value,),
    )
    return [
        Position(
            venue=venue,
            market_id=row["market_id"],
            outcome=Outcome(row["outcome"]),
            size=Decimal(row["size"]),
            average_price=Decimal(row["average_price"]),
            realized_pnl=Decimal(row["realized_pnl"]),
        )
        for row in await cursor.fetchall()
    ]


async def ledger_order_states(
    conn: psycopg.AsyncConnection[Any], venue: VenueId, *, only_open: bool
) -> list[LedgerOpenOrder]:
    """The ledger's view of each order at ``venue`` (only those that may still change, with
    ``only_open``)."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select client_order_id, venue_order_id, workflow_id, market_id, status, size,
               filled_size, average_price, notional, fees, reason, created_at
        from orders
        where venue = %s
          and (not %s or status in ('pending', 'open', 'partially_filled'))
        order by id
        """,
        (venue.value, only_open),
    )
    return [
        LedgerOpenOrder(
            workflow_id=row["workflow_id"],
            market_id=row["market_id"],
            created_at=row["created_at"],
            state=OrderState(
                client_order_id=row["client_order_id"],
                venue_order_id=row["venue_order_id"],
                status=OrderStatus(row["status"]),
                requested_size=Decimal(row["size"]),
                filled_size=Decimal(row["filled_size"]),
                average_price=(
                    None if row["average_price"] is None else Decimal(row["average_price"])
                ),
                fees=Decimal(row["fees"]),
                reason=row["reason"],
                notional=None if row["notional"] is None else Decimal(row["notional"]),
            ),
        )
        for row in await cursor.fetchall()
    ]


async def active_markets(
    conn: psycopg.AsyncConnection[Any], venue: VenueId, since: datetime
) -> set[str]:
    """Markets with an order that may still change or changed since ``since``: their ledger
    positions may lag the venue by an in-flight workflow step."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(
        """
        select distinct market_id from orders
        where venue = %s
          and (status in ('pending', 'open', 'partially_filled') or updated_at >= %s)
        """,
        (venue.value, since),
    )
    return {row[0] for row in await cursor.fetchall()}


async def overwrite_position(
    conn: psycopg.AsyncConnection[Any],
    venue: VenueId,
    market_id: str,
    outcome: Outcome,
    instrument_id: str,
    size: Decimal,
    average_price: Decimal,
) -> None:
    """Make the ledger hold what the venue holds. Realised P&L is left alone: the venue's
    numbers for it follow its own conventions.

    The size added or removed moves cash as if traded at cost (the venue's average price when
    adding, the ledger's when removing), so the repair changes what is held but claims no gain
    or loss; the marks then value it like any other position.
    """
    async with conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            """
            select size, average_price from positions
            where venue = %s and market_id = %s and outcome = %s for update
            """,
            (venue.value, market_id, outcome.value),
        )
        row = await cursor.fetchone()
        held = ZERO if row is None else Decimal(row["size"])
        held_average = ZERO if row is None else Decimal(row["average_price"])
        await cursor.execute(
            """
            insert into positions (venue, market_id, outcome, instrument_id, size, average_price)
            values (%(venue)s, %(market)s, %(outcome)s, %(instrument)s, %(size)s, %(average)s)
            on conflict (venue, market_id, outcome) do update set
                size = excluded.size,
                average_price = case when excluded.average_price > 0
                                     then excluded.average_price
                                     else positions.average_price end,
                updated_at = now()
            """,
            {
                "venue": venue.value,
                "market": market_id,
                "outcome": outcome.value,
                "instrument": instrument_id,
                "size": size,
                "average": average_price if size > ZERO else ZERO,
            },
        )
        change = size - held
        if change == ZERO:
            return
        price = average_price if change > ZERO and average_price > ZERO else held_average
        await cursor.execute(
            """
            insert into cash_flows (venue, kind, amount, market_id, outcome, size)
            values (%s, 'adjustment', %s, %s, %s, %s)
            """,
            (venue.value, -change * price, market_id, outcome.value, change),
        )


async def record_reconciliation(
    conn: psycopg.AsyncConnection[Any],
    venue: VenueId,
    *,
    started_at: datetime,
    orders_checked: int,
    orders_repaired: int,
    positions_checked: int,
    positions_repaired: int,
    differences: list[str],
    error: str | None,
) -> None:
    await conn.execute(
        """
        insert into reconciliations (venue, started_at, orders_checked, orders_repaired,
                                     positions_checked, positions_repaired, differences, error)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            venue.value,
            started_at,
            orders_checked,
            orders_repaired,
            positions_checked,
            positions_repaired,
            json.dumps(differences),
            error,
        ),
    )


async def latest_reconciliations(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """The most recent pass per venue, for status and the dashboard."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select distinct on (venue) venue, finished_at, orders_checked, orders_repaired,
               positions_checked, positions_repaired, differences, error
        from reconciliations order by venue, finished_at desc
        """
    )
    return list(await cursor.fetchall())
