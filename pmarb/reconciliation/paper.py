"""Paper venues keep their fills in memory; on start they resume from the ledger.

The first start writes each paper venue's starting balance into the cash ledger as its opening
balance; every start after resumes cash from that ledger, so the paper venue's balance and the
portfolio's cash are one figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg_pool import AsyncConnectionPool

from pmarb.domain.market import VenueId
from pmarb.store.portfolio import record_opening_balance, venue_cash
from pmarb.store.reconciliation import ledger_order_states, ledger_positions
from pmarb.venues.base import Venue
from pmarb.venues.paper.venue import PaperVenue


async def resume_paper_venues(
    pool: AsyncConnectionPool[Any], venues: Mapping[VenueId, Venue]
) -> int:
    """Restore every paper venue's holdings and order states; returns how many orders."""
    restored = 0
    async with pool.connection() as conn:
        for venue_id, venue in venues.items():
            if not isinstance(venue, PaperVenue):
                continue
            await record_opening_balance(conn, venue_id, venue.config.starting_balance)
            cash = await venue_cash(conn, venue_id)
            positions = await ledger_positions(conn, venue_id)
            orders = [o.state for o in await ledger_order_states(conn, venue_id, only_open=False)]
            venue.restore(positions, orders, cash=cash)
            restored += len(orders)
    return restored
