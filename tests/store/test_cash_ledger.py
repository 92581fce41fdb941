"""The cash ledger on a real database: every fill, fee, payout and repair is one exact flow, and
the valuation is that cash plus the holdings at their marks."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import psycopg

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderPurpose, OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.portfolio import Mark
from pmarb.store.db import connect
from pmarb.store.orders import apply_order_state, halt_and_record_intents, settle_positions
from pmarb.store.portfolio import (
    kept_marks,
    record_opening_balance,
    record_valuation,
    value_at_kept_marks,
    value_ledger,
    venue_cash,
)
from pmarb.store.reconciliation import overwrite_position

Conn = psycopg.AsyncConnection[dict[str, Any]]
KALSHI = VenueId.KALSHI


def request(coid: str, side: Side = Side.BUY, size: str = "3") -> OrderRequest:
    return OrderRequest(
        coid, KALSHI, "M1", "M1:yes", Outcome.YES, side, D("0.50"), D(size), TimeInForce.FAK
    )


async def intent(db: Conn, order: OrderRequest) -> None:
    await halt_and_record_intents(
        db,
        [(order, "a")],
        workflow_id=order.client_order_id,
        purpose=OrderPurpose.OPEN,
        strategy="atomic-arb",
        paper=True,
    )


async def flows(db: Conn) -> list[tuple[str, D]]:
    cursor = await db.execute("select kind, amount from cash_flows order by id")
    return [(row["kind"], D(row["amount"])) for row in await cursor.fetchall()]


def no_marks(venue: VenueId, instrument: str) -> Mark | None:
    return None


async def test_fills_move_cash_by_their_exact_notional_even_when_the_average_is_rounded(
    db: Conn,
) -> None:
    assert await record_opening_balance(db, KALSHI, D("100")) == D("100")
    assert await record_opening_balance(db, KALSHI, D("999")) == D("100"), "set once"
    await intent(db, request("buy"))
    # 1 @ 0.41 then 2 more @ 0.42: 1.25 for 3, an average of 0.41666…, reported rounded.
    first = OrderState("buy", "v", OrderStatus.PARTIALLY_FILLED, D(3), D(1), D("0.41"), D("0.01"))
    await apply_order_state(db, first)
    total = D("1.25")
    second = OrderState(
        "buy", "v", OrderStatus.FILLED, D(3), D(3), D("0.4167"), D("0.03"), notional=total
    )
    assert second.average_price is not None and second.average_price * 3 != total
    await apply_order_state(db, second)
    await apply_order_state(db, second)  # the same state again moves nothing
    assert await flows(db) == [
        ("opening", D("100")),
        ("buy", D("-0.41")),
        ("fee", D("-0.01")),
        ("buy", D("-0.84")),
        ("fee", D("-0.02")),
    ]
    assert await venue_cash(db, KALSHI) == D("100") - total - D("0.03")

    # Sold 2 @ 0.60 with a 0.02 fee, then the market resolves YES: the last share pays 1.
    await intent(db, request("sell", Side.SELL, "2"))
    await apply_order_state(
        db, OrderState("sell", "v2", OrderStatus.FILLED, D(2), D(2), D("0.60"), D("0.02"))
    )
    await settle_positions(db, "kalshi", "M1", D(1))
    await settle_positions(db, "kalshi", "M1", D(1))  # settled: nothing more to pay
    cash = D("100") - total - D("0.03") + D("1.20") - D("0.02") + D(1)
    assert await venue_cash(db, KALSHI) == cash
    valuation = await value_ledger(db, no_marks, bankroll=D("500"))
    assert (valuation.starting_balance, valuation.cash, valuation.positions) == (
        D("100"),
        cash,
        (),
    )
    assert valuation.pnl == cash - D("100") == D("0.90")


async def test_two_settlements_at_once_pay_once(database_url: str) -> None:
    async with await connect(database_url) as db:
        await intent(db, request("buy"))
        await apply_order_state(
            db, OrderState("buy", "v", OrderStatus.FILLED, D(3), D(3), D("0.40"), D(0))
        )
        await db.commit()

    async def settle() -> None:
        async with await connect(database_url) as conn:
            await settle_positions(conn, "kalshi", "M1", D(1))
            await conn.commit()

    await asyncio.gather(*(settle() for _ in range(4)))
    async with await connect(database_url) as db:
        assert await flows(db) == [("buy", D("-1.20")), ("payout", D(3))]


async def test_a_repair_moves_cash_at_cost_and_the_value_with_it(db: Conn) -> None:
    await record_opening_balance(db, KALSHI, D("50"))
    # The venue shows 5 @ 0.30 the ledger never heard of, later only 2 of them.
    await overwrite_position(db, KALSHI, "M2", Outcome.NO, "M2:no", D(5), D("0.30"))
    before = await value_ledger(db, no_marks, bankroll=D("500"))
    assert (before.cash, before.positions_value, before.value) == (D("48.5"), D("1.5"), D("50"))
    await overwrite_position(db, KALSHI, "M2", Outcome.NO, "M2:no", D(2), D("0.30"))
    assert [f for f in await flows(db) if f[0] == "adjustment"] == [
        ("adjustment", D("-1.50")),
        ("adjustment", D("0.90")),
    ]
    at_cost = await value_ledger(db, no_marks, bankroll=D("500"))
    assert (at_cost.cash, at_cost.value, at_cost.pnl) == (D("49.4"), D("50"), D(0))

    # Marked at the mid, kept, and valued again at the kept mark (as the API does).
    def mid(venue: VenueId, instrument: str) -> Mark | None:
        return Mark(D("0.35"), "mid") if instrument == "M2:no" else None

    marked = await value_ledger(db, mid, bankroll=D("500"))
    assert (marked.value, marked.pnl, marked.unrealized_pnl) == (D("50.1"), D("0.1"), D("0.1"))
    await record_valuation(db, marked)
    assert await kept_marks(db) == {(KALSHI, "M2:no"): Mark(D("0.35"), "mid")}
    assert await value_at_kept_marks(db, bankroll=D("500")) == marked
    # With no book any more, the position is back at cost, and so is the kept mark.
    await record_valuation(db, at_cost)
    assert await kept_marks(db) == {}


async def test_a_ledger_with_no_opening_balance_starts_from_the_bankroll(db: Conn) -> None:
    await intent(db, request("buy", size="10"))
    await apply_order_state(
        db, OrderState("buy", "v", OrderStatus.FILLED, D(10), D(10), D("0.40"), D("0.10"))
    )
    valuation = await value_ledger(db, no_marks, bankroll=D("500"))
    assert (valuation.starting_balance, valuation.cash) == (D("500"), D("495.9"))
    assert (valuation.value, valuation.pnl, valuation.realized_pnl) == (
        D("499.9"),
        D("-0.1"),
        D("-0.1"),
    )
