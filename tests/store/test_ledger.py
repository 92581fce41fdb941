"""Orders, positions and trades on a real database."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import psycopg

from pmarb.domain.market import VenueId
from pmarb.domain.orders import (
    OrderPurpose,
    OrderRequest,
    OrderState,
    OrderStatus,
    TimeInForce,
)
from pmarb.domain.parity import Outcome, Side
from pmarb.lifecycle.unwind import net_holding
from pmarb.store.orders import (
    apply_order_state,
    halt_and_record_intents,
    settle_positions,
    workflow_orders,
)
from pmarb.store.trades import close_trade

Conn = psycopg.AsyncConnection[dict[str, Any]]


def order(
    coid: str, side: Side = Side.BUY, outcome: Outcome = Outcome.YES, market: str = "M1"
) -> OrderRequest:
    return OrderRequest(
        coid,
        VenueId.KALSHI,
        market,
        f"{market}-{outcome}",
        outcome,
        side,
        D("0.40"),
        D("10"),
        TimeInForce.FAK,
    )


def state(
    coid: str,
    filled: str,
    price: str | None,
    fees: str = "0",
    status: OrderStatus = OrderStatus.FILLED,
) -> OrderState:
    return OrderState(
        coid, f"v-{coid}", status, D("10"), D(filled), None if price is None else D(price), D(fees)
    )


async def position(db: Conn, outcome: str = "yes") -> dict[str, Any] | None:
    cursor = await db.execute(
        "select size, average_price, realized_pnl, fees from positions where outcome = %s",
        (outcome,),
    )
    return await cursor.fetchone()


async def intent(db: Conn, req: OrderRequest, purpose: OrderPurpose = OrderPurpose.OPEN) -> bool:
    _, (fresh,) = await halt_and_record_intents(
        db,
        [(req, req.client_order_id)],
        workflow_id="wf",
        purpose=purpose,
        strategy="atomic-arb",
        paper=True,
    )
    return fresh


async def test_intent_is_recorded_once(db: Conn) -> None:
    assert await intent(db, order("a"))
    assert not await intent(db, order("a"))


async def test_a_halt_blocks_risk_adding_intents_but_not_unwinds(db: Conn) -> None:
    from pmarb.store.risk_state import set_halted

    await set_halted(db, halted=True, reason="stop", actor="test")
    halted, fresh = await halt_and_record_intents(
        db,
        [(order("x"), "x")],
        workflow_id="wf",
        purpose=OrderPurpose.OPEN,
        strategy=None,
        paper=True,
    )
    assert halted == "stop" and fresh == [False]
    halted, fresh = await halt_and_record_intents(
        db,
        [(order("y", Side.SELL), "y")],
        workflow_id="wf",
        purpose=OrderPurpose.UNWIND,
        strategy=None,
        paper=True,
    )
    assert halted == "stop" and fresh == [True]


async def test_positions_move_by_new_fills_only(db: Conn) -> None:
    await intent(db, order("a"))
    assert await apply_order_state(
        db, state("a", "4", "0.40", "0.07", OrderStatus.PARTIALLY_FILLED)
    ) == D("4")
    assert (
        await apply_order_state(db, state("a", "4", "0.40", "0.07", OrderStatus.PARTIALLY_FILLED))
        == 0
    )
    # Six more at 0.43: the order's average becomes 0.418.
    assert await apply_order_state(db, state("a", "10", "0.418", "0.17")) == D("6")
    held = await position(db)
    assert held is not None
    assert held["size"] == D("10") and held["average_price"] == D("0.418")
    assert held["fees"] == D("0.17") and held["realized_pnl"] == D("-0.17")


async def test_selling_realises_pnl_and_settlement_pays_out(db: Conn) -> None:
    await intent(db, order("buy"))
    await apply_order_state(db, state("buy", "10", "0.40", "0.10"))
    await intent(db, order("sell", Side.SELL), OrderPurpose.UNWIND)
    await apply_order_state(db, state("sell", "4", "0.50", "0.05"))
    held = await position(db)
    assert held is not None and held["size"] == D("6")
    assert held["realized_pnl"] == D("4") * D("0.10") - D("0.10") - D("0.05")
    await settle_positions(db, "kalshi", "M1", D("1"))
    await settle_positions(db, "kalshi", "M1", D("1"))  # idempotent
    settled = await position(db)
    assert settled is not None and settled["size"] == 0
    assert settled["realized_pnl"] == D("0.25") + D("6") * D("0.60")
    orders = await workflow_orders(db, "wf")
    assert net_holding(orders, "M1-yes") == D("6")


async def test_close_trade_attributes_pnl_and_releases(db: Conn) -> None:
    await db.execute(
        """insert into trade_requests (workflow_id, strategy, bid, risk_decision, risk_reason)
           values ('wf', 'atomic-arb', '{}', 'approved', 'APPROVED');
           insert into exposure_reservations (workflow_id, strategy, capital)
           values ('wf', 'atomic-arb', 100)"""
    )
    await intent(db, order("yes", outcome=Outcome.YES))
    await intent(db, order("no", outcome=Outcome.NO))
    await apply_order_state(db, state("yes", "10", "0.40", "0.17"))
    await apply_order_state(db, state("no", "10", "0.50", "0.18"))
    held = await close_trade(
        db,
        "wf",
        status="holding",
        expected_prices={"yes": D("0.39")},
        yes_payouts={},
        release=False,
    )
    assert held.realized_pnl is None and held.slippage == D("0.10")
    summary = await close_trade(
        db,
        "wf",
        status="settled",
        expected_prices={"yes": D("0.39")},
        yes_payouts={("kalshi", "M1"): D("0")},
        release=True,
    )
    assert summary.realized_pnl == D("10") - D("9") - D("0.35")
    cursor = await db.execute("select status, realized_pnl, closed_at from trades")
    rows = await cursor.fetchall()
    assert len(rows) == 1 and rows[0]["status"] == "settled"
    assert rows[0]["realized_pnl"] == D("0.65") and rows[0]["closed_at"] is not None
    cursor = await db.execute("select status from exposure_reservations")
    assert await cursor.fetchone() == {"status": "released"}
    cursor = await db.execute("select status, pnl from trade_requests")
    assert await cursor.fetchone() == {"status": "settled", "pnl": D("0.65")}
