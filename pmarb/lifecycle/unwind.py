"""Unwinding one leg: sell what the lifecycle still holds of an instrument, round by round.

Each round first brings the lifecycle's orders on the instrument up to date (a fill may have
landed since), so the unwind is idempotent: it only ever sends what is still needed, each round
under a new client order id derived from the workflow id, the leg and the round.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from decimal import Decimal
from typing import Any, Protocol

from pmarb.domain.bid import PlannedOrder
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose, TimeInForce
from pmarb.domain.parity import Side
from pmarb.lifecycle.messages import OrderOutcome, OrderToSend, UnwindInput, UnwindResult
from pmarb.lifecycle.steps import Pause, ReadBestBid, RefreshOrders, SendOrder, UnwindStep
from pmarb.lifecycle.timing import (
    UNWIND_EMPTY_ROUND_PAUSE,
    UNWIND_PRICE_CONCESSION,
    UNWIND_PRICE_FLOOR,
    UNWIND_ROUNDS,
)


class LedgerEntry(Protocol):
    """What an unwind reads of a ledger order (``pmarb.store.orders.LedgerOrder`` has it)."""

    @property
    def instrument_id(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def filled_size(self) -> Decimal: ...
    @property
    def purpose(self) -> OrderPurpose: ...
    @property
    def leg(self) -> str | None: ...


def net_holding(orders: Sequence[LedgerEntry], instrument_id: str) -> Decimal:
    """What a lifecycle's orders left it holding of one instrument (buys minus sells)."""
    held = ZERO
    for order in orders:
        if order.instrument_id != instrument_id:
            continue
        held += order.filled_size if order.side is Side.BUY else -order.filled_size
    return held


def unwind_price(best_bid: Decimal | None) -> Decimal:
    """Cross the best bid by a bounded concession; the floor when there is no bid."""
    if best_bid is None:
        return UNWIND_PRICE_FLOOR
    return max(UNWIND_PRICE_FLOOR, best_bid - UNWIND_PRICE_CONCESSION)


def unwind_client_order_id(workflow_id: str, leg: str, round_number: int) -> str:
    return f"{workflow_id}:unwind:{leg}:{round_number}"


def unwind(request: UnwindInput) -> Generator[UnwindStep, Any, UnwindResult]:
    """Up to :data:`UNWIND_ROUNDS` sell rounds; what it sold and what is left afterwards.

    ``remaining > request.keep`` means the rounds could not sell it all: the driver retries the
    whole unwind later (:data:`pmarb.lifecycle.timing.COMPENSATION`) unless the market has
    resolved, in which case what is left is held to its settlement.
    """
    sold = ZERO
    for _ in range(UNWIND_ROUNDS):
        orders: Sequence[LedgerEntry] = yield RefreshOrders(request.instrument_id)
        held = net_holding(orders, request.instrument_id)
        excess = held - request.keep
        if excess <= ZERO:
            return UnwindResult(sold=sold, remaining=held)
        round_number = sum(
            1 for o in orders if o.purpose is OrderPurpose.UNWIND and o.leg == request.leg
        )
        best_bid: Decimal | None = yield ReadBestBid(request.venue, request.instrument_id)
        price = unwind_price(best_bid)
        planned = PlannedOrder(
            leg=request.leg,
            venue=request.venue,
            market_id=request.market_id,
            instrument_id=request.instrument_id,
            outcome=request.outcome,
            side=Side.SELL,
            limit_price=price,
            size=excess,
            time_in_force=TimeInForce.FAK,
            expected_price=price,
        )
        coid = unwind_client_order_id(request.workflow_id, request.leg, round_number)
        outcome: OrderOutcome = yield SendOrder(OrderPurpose.UNWIND, OrderToSend(coid, planned))
        sold += outcome.filled
        if outcome.filled == ZERO:
            yield Pause(UNWIND_EMPTY_ROUND_PAUSE)
    orders = yield RefreshOrders(request.instrument_id)
    return UnwindResult(sold=sold, remaining=net_holding(orders, request.instrument_id))
