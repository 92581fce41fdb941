"""What the lifecycle's steps carry to the order and record activities, and what comes back.

Plain frozen dataclasses (Temporal payloads): the workflow sends them to activities, and the
backtest's replay exchange answers them with the same types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pmarb.domain.bid import PlannedOrder
from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose, OrderState, OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.timing import FILL_POLL, SETTLEMENT_POLL


@dataclass(frozen=True)
class OrderToSend:
    client_order_id: str
    order: PlannedOrder
    market_tick: Decimal = Decimal("0.01")


@dataclass(frozen=True)
class PlaceOrdersInput:
    workflow_id: str
    strategy: str
    purpose: OrderPurpose
    orders: tuple[OrderToSend, ...]
    expires_at: datetime | None = None


@dataclass(frozen=True)
class OrderOutcome:
    client_order_id: str
    leg: str
    status: OrderStatus
    requested: Decimal
    filled: Decimal
    average_price: Decimal | None
    fees: Decimal
    reason: str | None = None


def outcome_of(leg: str, state: OrderState) -> OrderOutcome:
    return OrderOutcome(
        client_order_id=state.client_order_id,
        leg=leg,
        status=state.status,
        requested=state.requested_size,
        filled=state.filled_size,
        average_price=state.average_price,
        fees=state.fees,
        reason=state.reason,
    )


@dataclass(frozen=True)
class CancelInput:
    workflow_id: str
    client_order_ids: tuple[str, ...]


@dataclass(frozen=True)
class FairValueGuard:
    """Stop waiting for a resting buy once the fair value of its outcome falls below
    ``floor``: the order no longer pays if it fills."""

    market_id: str
    outcome: Outcome
    floor: Decimal


@dataclass(frozen=True)
class WaitForFillInput:
    client_order_id: str
    venue: VenueId
    deadline: datetime
    poll_seconds: float = FILL_POLL.total_seconds()
    guard: FairValueGuard | None = None


@dataclass(frozen=True)
class UnwindInput:
    workflow_id: str
    leg: str
    venue: VenueId
    market_id: str
    instrument_id: str
    outcome: Outcome
    keep: Decimal = ZERO


@dataclass(frozen=True)
class UnwindResult:
    sold: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class SettlementInput:
    venue: VenueId
    market_id: str
    poll_seconds: float = SETTLEMENT_POLL.total_seconds()


@dataclass(frozen=True)
class SettledMarket:
    venue: str
    market_id: str
    yes_payout: Decimal


@dataclass(frozen=True)
class TradeOutcome:
    realized_pnl: Decimal | None
    fees: Decimal
    cost: Decimal
    slippage: Decimal
    filled_orders: int
