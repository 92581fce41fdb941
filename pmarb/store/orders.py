"""The order ledger: intents before they are sent, venue states after, positions from fills.

Positions move only by the change in an order's filled size since the ledger last saw it, inside
the same transaction that records the new state, and so do the cash flows that fill moved
(``cash_flows``: what it cost or raised, and its fee). Applying the same venue state twice (a
retried activity, a reconciliation pass) therefore moves nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose, OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    client_order_id: str
    workflow_id: str | None
    leg: str | None
    venue: str
    market_id: str
    instrument_id: str
    outcome: Outcome
    side: Side
    size: Decimal
    filled_size: Decimal
    average_price: Decimal | None
    fees: Decimal
    status: OrderStatus
    purpose: OrderPurpose


async def halt_and_record_intents(
    conn: psycopg.AsyncConnection[Any],
    orders: list[tuple[OrderRequest, str]],
    *,
    workflow_id: str,
    purpose: OrderPurpose,
    strategy: str | None,
    paper: bool,
) -> tuple[str | None, list[bool]]:
    """Re-read the halt flag and write every order's intent, in one round trip.

    Returns the halt reason (None when trading) and, per order, whether its intent is new. When
    halted and the orders add risk, nothing is written: the caller must not send them.
    """
    async with conn.pipeline(), conn.transaction():
        halt_cursor = conn.cursor(row_factory=tuple_row)
        await halt_cursor.execute("select halted, halt_reason from risk_state")
        cursors = []
        for order, leg in orders:
            cursor = conn.cursor()
            await cursor.execute(
                """
                insert into orders (client_order_id, workflow_id, leg, venue, market_id,
                                    instrument_id, outcome, side, time_in_force, price, size,
                                    status, paper, purpose, strategy, trade_request_id,
                                    created_at)
                select %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, %s,
                       (select id from trade_requests where workflow_id = %s),
                       coalesce(%s, now())
                where not (%s and (select halted from risk_state))
                on conflict (client_order_id) do nothing
                """,
                (
                    order.client_order_id,
                    workflow_id,
                    leg,
                    order.venue.value,
                    order.market_id,
                    order.instrument_id,
                    order.outcome.value,
                    order.side.value,
                    order.time_in_force.value,
                    order.price,
                    order.size,
                    paper,
                    purpose.value,
                    strategy,
                    workflow_id,
                    order.created_at,
                    purpose.adds_risk,
                ),
            )
            cursors.append(cursor)
    # Read only now: fetching inside the pipeline would cost a round trip before the COMMIT.
    halt = await halt_cursor.fetchone()
    fresh = [cursor.rowcount == 1 for cursor in cursors]
    if halt is None or not halt[0]:
        return None, fresh
    return str(halt[1] or "halted"), fresh


async def apply_order_state(conn: psycopg.AsyncConnection[Any], state: OrderState) -> Decimal:
    """Record the venue's view of an order and move positions by the newly filled size.

    Returns that newly filled size (zero when nothing changed).
    """
    async with conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            """
            select venue, market_id, instrument_id, outcome, side, filled_size, average_price,
                   notional, fees from orders where client_order_id = %s for update
            """,
            (state.client_order_id,),
        )
        row = await cursor.fetchone()
        if row is None:
            raise KeyError(f"order {state.client_order_id} was never recorded")
        old_filled = Decimal(row["filled_size"])
        old_notional = (
            Decimal(row["notional"])
            if row["notional"] is not None
            else old_filled * Decimal(row["average_price"] or 0)
        )
        old_fees = Decimal(row["fees"])
        newly_filled = state.filled_size - old_filled
        new_notional: Decimal | None = None
        if newly_filled > ZERO:
            new_notional = state.filled_notional
            side = Side(row["side"])
            notional = new_notional - old_notional
            fee = max(ZERO, state.fees - old_fees)
            await _move_position(
                cursor,
                venue=row["venue"],
                market_id=row["market_id"],
                instrument_id=row["instrument_id"],
                outcome=row["outcome"],
                side=side,
                size=newly_filled,
                notional=notional,
                fee=fee,
            )
            await _record_fill_flows(
                cursor,
                venue=row["venue"],
                market_id=row["market_id"],
                outcome=row["outcome"],
                client_order_id=state.client_order_id,
                side=side,
                size=newly_filled,
                notional=notional,
                fee=fee,
            )
        await cursor.execute(
            """
            update orders set status = %s,
                venue_order_id = coalesce(%s, venue_order_id),
                filled_size = greatest(filled_size, %s),
                average_price = coalesce(%s, average_price),
                notional = coalesce(%s, notional),
                fees = greatest(fees, %s),
                reason = coalesce(%s, reason),
                updated_at = now()
            where client_order_id = %s
            """,
            (
                state.status.value,
                state.venue_order_id,
                state.filled_size,
                state.average_price,
                new_notional,
                state.fees,
                state.reason,
                state.client_order_id,
            ),
        )
    return max(newly_filled, ZERO)


async def _record_fill_flows(
    cursor: psycopg.AsyncCursor[dict[str, Any]],
    *,
    venue: str,
    market_id: str,
    outcome: str,
    client_order_id: str,
    side: Side,
    size: Decimal,
    notional: Decimal,
    fee: Decimal,
) -> None:
    flows = [("buy", -notional) if side is Side.BUY else ("sell", notional)]
    if fee != ZERO:
        flows.append(("fee", -fee))
    for kind, amount in flows:
        await cursor.execute(
            """
            insert into cash_flows (venue, kind, amount, market_id, outcome, size,
                                    client_order_id)
            values (%s, %s, %s, %s, %s, %s, %s)
            """,
            (venue, kind, amount, market_id, outcome, size, client_order_id),
        )


async def _move_position(
    cursor: psycopg.AsyncCursor[dict[str, Any]],
    *,
    venue: str,
    market_id: str,
    instrument_id: str,
    outcome: str,
    side: Side,
    size: Decimal,
    notional: Decimal,
    fee: Decimal,
) -> None:
    await cursor.execute(
        """
        insert into positions (venue, market_id, outcome, instrument_id)
        values (%s, %s, %s, %s) on conflict do nothing
        """,
        (venue, market_id, outcome, instrument_id),
    )
    await cursor.execute(
        """
        select size, average_price from positions
        where venue = %s and market_id = %s and outcome = %s for update
        """,
        (venue, market_id, outcome),
    )
    position = await cursor.fetchone()
    assert position is not None
    held, average = Decimal(position["size"]), Decimal(position["average_price"])
    if side is Side.BUY:
        new_size = held + size
        new_average = (held * average + notional) / new_size
        realized = ZERO
    else:
        new_size = held - size
        new_average = average if new_size > ZERO else ZERO
        realized = notional - size * average
    await cursor.execute(
        """
        update positions set size = %s, average_price = %s, fees = fees + %s,
            realized_pnl = realized_pnl + %s - %s, updated_at = now()
        where venue = %s and market_id = %s and outcome = %s
        """,
        (new_size, new_average, fee, realized, fee, venue, market_id, outcome),
    )


async def recorded_request(
    conn: psycopg.AsyncConnection[Any], client_order_id: str
) -> OrderRequest | None:
    """The order as its intent was first recorded, with the time it was first decided, so a
    retry in any process (Polymarket: after a restart) can sign the identical order again.
    GTD orders are left out: their expiry is not in the ledger."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select client_order_id, venue, market_id, instrument_id, outcome, side, time_in_force,
               price, size, created_at
        from orders where client_order_id = %s and time_in_force <> 'gtd'
        """,
        (client_order_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return OrderRequest(
        client_order_id=row["client_order_id"],
        venue=VenueId(row["venue"]),
        market_id=row["market_id"],
        instrument_id=row["instrument_id"],
        outcome=Outcome(row["outcome"]),
        side=Side(row["side"]),
        price=Decimal(row["price"]),
        size=Decimal(row["size"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        created_at=row["created_at"],
    )


async def workflow_orders(
    conn: psycopg.AsyncConnection[Any], workflow_id: str
) -> list[LedgerOrder]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select client_order_id, workflow_id, leg, venue, market_id, instrument_id, outcome, side,
               size, filled_size, average_price, fees, status, purpose
        from orders where workflow_id = %s order by id
        """,
        (workflow_id,),
    )
    return [
        LedgerOrder(
            client_order_id=row["client_order_id"],
            workflow_id=row["workflow_id"],
            leg=row["leg"],
            venue=row["venue"],
            market_id=row["market_id"],
            instrument_id=row["instrument_id"],
            outcome=Outcome(row["outcome"]),
            side=Side(row["side"]),
            size=Decimal(row["size"]),
            filled_size=Decimal(row["filled_size"]),
            average_price=None if row["average_price"] is None else Decimal(row["average_price"]),
            fees=Decimal(row["fees"]),
            status=OrderStatus(row["status"]),
            purpose=OrderPurpose(row["purpose"]),
        )
        for row in await cursor.fetchall()
    ]


async def working_orders(conn: psycopg.AsyncConnection[Any]) -> list[LedgerOrder]:
    """Orders that may still rest at a venue (the kill switch cancels these)."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "select distinct workflow_id from orders where status in ('pending', 'open', "
        "'partially_filled') and workflow_id is not null"
    )
    found: list[LedgerOrder] = []
    for row in await cursor.fetchall():
        found.extend(
            order
            for order in await workflow_orders(conn, row["workflow_id"])
            if not order.status.terminal
        )
    return found


async def settle_positions(
    conn: psycopg.AsyncConnection[Any], venue: str, market_id: str, yes_payout: Decimal
) -> None:
    """Pay out a resolved market's positions (YES pays ``yes_payout``, NO the rest; a void
    market pays 0.5 each): the payout is a cash flow, the position's gain over its cost is
    realised, and the position goes. Idempotent, also when two callers settle at once: the
    rows are locked, and a settled position holds nothing to pay again."""
    await conn.execute(
        """
        with held as (
            select venue, market_id, outcome, size, average_price,
                   case when outcome = 'yes' then %(yes)s::numeric
                        else 1 - %(yes)s::numeric end as pays
            from positions
            where venue = %(venue)s and market_id = %(market)s and size <> 0
            for update
        ), paid as (
            insert into cash_flows (venue, kind, amount, market_id, outcome, size)
            select venue, 'payout', size * pays, market_id, outcome, size from held
        )
        update positions p set
            realized_pnl = p.realized_pnl + held.size * (held.pays - held.average_price),
            size = 0, average_price = 0, updated_at = now()
        from held
        where p.venue = held.venue and p.market_id = held.market_id and p.outcome = held.outcome
        """,
        {"yes": yes_payout, "venue": venue, "market": market_id},
    )
