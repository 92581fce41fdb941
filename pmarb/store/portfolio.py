"""The ledger's cash and holdings, valued by :mod:`pmarb.domain.portfolio`, and the record of
each valuation (a portfolio snapshot and the marks it used).

Cash is the sum of ``cash_flows``: each paper venue's opening balance, then every fill's cost or
proceeds and fee (written with the position move, :func:`pmarb.store.orders.apply_order_state`),
every settlement's payout (:func:`pmarb.store.orders.settle_positions`) and every
reconciliation repair (:func:`pmarb.store.reconciliation.overwrite_position`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.parity import Outcome
from pmarb.domain.portfolio import Holding, Mark, MarkSource, Valuation, value_portfolio


async def record_opening_balance(
    conn: psycopg.AsyncConnection[Any], venue: VenueId, amount: Decimal
) -> Decimal:
    """A venue's opening balance: ``amount`` the first time, the one recorded then ever after
    (a changed setting does not rewrite the history of a running ledger)."""
    await conn.execute(
        """
        insert into cash_flows (venue, kind, amount) values (%s, 'opening', %s)
        on conflict (venue) where kind = 'opening' do nothing
        """,
        (venue.value, amount),
    )
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "select amount from cash_flows where venue = %s and kind = 'opening'", (venue.value,)
    )
    row = await cursor.fetchone()
    assert row is not None
    return Decimal(row["amount"])


async def venue_cash(conn: psycopg.AsyncConnection[Any], venue: VenueId) -> Decimal:
    """One venue's cash: the sum of its flows, the opening balance included."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "select coalesce(sum(amount), 0) as cash from cash_flows where venue = %s",
        (venue.value,),
    )
    row = await cursor.fetchone()
    return ZERO if row is None else Decimal(row["cash"])


async def value_ledger(
    conn: psycopg.AsyncConnection[Any], marks: MarkSource, *, bankroll: Decimal
) -> Valuation:
    """The portfolio as the ledger has it now, marked by ``marks``.

    The starting balance is the sum of the venues' opening balances; a ledger with none (live
    trading: the venues hold the money) starts from ``bankroll``. Cash and holdings are read in
    one statement, so they come from one moment even while fills are being recorded.
    """
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        with flows as (
            select count(*) filter (where kind = 'opening') as openings,
                   coalesce(sum(amount) filter (where kind = 'opening'), 0) as opening,
                   coalesce(sum(amount) filter (where kind <> 'opening'), 0) as moved
            from cash_flows)
        select f.openings, f.opening, f.moved, p.venue, p.market_id, p.outcome,
               p.instrument_id, p.size, p.average_price
        from flows f left join positions p on p.size <> 0
        order by p.venue, p.market_id, p.outcome
        """
    )
    rows = await cursor.fetchall()
    first = rows[0]
    starting = Decimal(first["opening"]) if first["openings"] else bankroll
    holdings = [
        Holding(
            venue=VenueId(row["venue"]),
            market_id=row["market_id"],
            outcome=Outcome(row["outcome"]),
            instrument_id=row["instrument_id"],
            size=Decimal(row["size"]),
            average_price=Decimal(row["average_price"]),
        )
        for row in rows
        if row["venue"] is not None
    ]
    return value_portfolio(starting, starting + Decimal(first["moved"]), holdings, marks)


async def kept_marks(conn: psycopg.AsyncConnection[Any]) -> dict[tuple[VenueId, str], Mark]:
    """The marks the last valuations used, by (venue, instrument)."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute("select venue, instrument_id, price, basis from marks")
    return {
        (VenueId(row["venue"]), row["instrument_id"]): Mark(Decimal(row["price"]), row["basis"])
        for row in await cursor.fetchall()
    }


def marks_from(found: Mapping[tuple[VenueId, str], Mark]) -> MarkSource:
    return lambda venue, instrument: found.get((venue, instrument))


async def value_at_kept_marks(
    conn: psycopg.AsyncConnection[Any], *, bankroll: Decimal
) -> Valuation:
    """The valuation the API and dashboard show: the ledger now, at the marks last kept."""
    return await value_ledger(conn, marks_from(await kept_marks(conn)), bankroll=bankroll)


async def deployed_capital(conn: psycopg.AsyncConnection[Any]) -> Decimal:
    """Capital the active lifecycles have reserved."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "select coalesce(sum(capital), 0) as d from exposure_reservations where status = 'active'"
    )
    row = await cursor.fetchone()
    return ZERO if row is None else Decimal(row["d"])


async def record_valuation(conn: psycopg.AsyncConnection[Any], valuation: Valuation) -> None:
    """Keep the marks the valuation used and a portfolio snapshot of its figures. A position
    it had to value at cost loses any older mark, so the API values it at cost too."""
    async with conn.transaction():
        for position in valuation.positions:
            if position.mark.basis == "cost":
                await conn.execute(
                    "delete from marks where venue = %s and instrument_id = %s",
                    (position.holding.venue.value, position.holding.instrument_id),
                )
                continue
            await conn.execute(
                """
                insert into marks (venue, instrument_id, price, basis)
                values (%s, %s, %s, %s)
                on conflict (venue, instrument_id) do update set
                    price = excluded.price, basis = excluded.basis, marked_at = now()
                """,
                (
                    position.holding.venue.value,
                    position.holding.instrument_id,
                    position.mark.price,
                    position.mark.basis,
                ),
            )
        await conn.execute(
            """
            insert into portfolio_snapshots (value, cash, deployed, unrealized_pnl, realized_pnl)
            values (%s, %s, %s, %s, %s)
            """,
            (
                valuation.value,
                valuation.cash,
                await deployed_capital(conn),
                valuation.unrealized_pnl,
                valuation.realized_pnl,
            ),
        )
