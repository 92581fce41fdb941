"""The venues' own fill records, kept as they report them: the audit trail under each order.

Orders carry the cumulative fill a workflow saw; ``fills`` holds each execution the venue lists
(price, size, fee, maker or taker, time), including trades made outside pmarb. A fill is linked
to our order by client order id or, failing that, by the venue's order id; its market comes from
that order or, for an order pmarb never sent, from the caller's instrument map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from pmarb.domain.market import VenueId
from pmarb.domain.orders import Fill

MarketOf = Callable[[VenueId, str], str | None]
"""``(venue, instrument_id)`` → market id, or None when the instrument is unknown."""


async def last_fill_time(conn: psycopg.AsyncConnection[Any], venue: VenueId) -> datetime | None:
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute("select max(filled_at) from fills where venue = %s", (venue.value,))
    row = await cursor.fetchone()
    latest: datetime | None = row[0] if row else None
    return latest


async def record_fills(
    conn: psycopg.AsyncConnection[Any], fills: Sequence[Fill], market_of: MarketOf
) -> int:
    """Insert the fills not seen before; returns how many were new.

    A fill whose market cannot be named is skipped (the next pass, with fresher markets, can
    still take it: nothing marks it seen).
    """
    added = 0
    async with conn.transaction():
        for fill in fills:
            cursor = await conn.execute(
                """
                with ours as (
                    select client_order_id, market_id from orders
                    where venue = %(venue)s
                      and (client_order_id = %(client_order_id)s
                           or (venue_order_id is not null
                               and venue_order_id = %(venue_order_id)s))
                    order by client_order_id = %(client_order_id)s desc
                    limit 1
                )
                insert into fills (venue, venue_fill_id, client_order_id, venue_order_id,
                                   market_id, instrument_id, outcome, side, price, size, fee,
                                   is_taker, filled_at)
                select %(venue)s, %(fill_id)s, (select client_order_id from ours),
                       %(venue_order_id)s,
                       coalesce((select market_id from ours), %(market_id)s),
                       %(instrument_id)s, %(outcome)s, %(side)s, %(price)s, %(size)s, %(fee)s,
                       %(is_taker)s, %(filled_at)s
                where coalesce((select market_id from ours), %(market_id)s) is not null
                on conflict (venue, venue_fill_id) do nothing
                """,
                {
                    "venue": fill.venue.value,
                    "fill_id": fill.fill_id,
                    "client_order_id": fill.client_order_id,
                    "venue_order_id": fill.venue_order_id,
                    "market_id": market_of(fill.venue, fill.instrument_id),
                    "instrument_id": fill.instrument_id,
                    "outcome": fill.outcome.value,
                    "side": fill.side.value,
                    "price": fill.price,
                    "size": fill.size,
                    "fee": fill.fee,
                    "is_taker": fill.is_taker,
                    "filled_at": fill.filled_at,
                },
            )
            added += cursor.rowcount
    return added
