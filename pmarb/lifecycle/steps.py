"""The steps a lifecycle program asks its driver to perform, each with what it answers.

A program is a generator: it yields a step and receives the step's answer (``None`` where the
docstring says nothing comes back). Drivers perform steps; they never decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pmarb.domain.bid import Bid, PlannedOrder
from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderPurpose
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.messages import (
    FairValueGuard,
    OrderToSend,
    SettledMarket,
    UnwindInput,
    WaitForFillInput,
)

# -- the lifecycle's steps ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnterStage:
    """The lifecycle moved on (bid, risk, legs, hedge, exit, unwind, hold, record, …)."""

    stage: str


@dataclass(frozen=True, slots=True)
class TagStrategy:
    """The winning bid's strategy is known: label the lifecycle with it."""

    strategy: str


@dataclass(frozen=True, slots=True)
class RecordUnpursued:
    """No strategy bid: keep the opportunity on record with this status."""

    status: str


@dataclass(frozen=True, slots=True)
class CheckRisk:
    """Run the pre-trade check and reserve exposure; answers a verdict with ``approved`` and
    ``reason`` (see :class:`pmarb.lifecycle.program.RiskVerdict`)."""

    bid: Bid


@dataclass(frozen=True, slots=True)
class PlaceOrders:
    """Send these orders now, together; answers one ``OrderOutcome`` per order, in order.

    ``timeout`` bounds the whole placement, retries included."""

    purpose: OrderPurpose
    orders: tuple[OrderToSend, ...]
    expires_at: datetime
    timeout: timedelta


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait this long (a durable timer live; the replay clock in a backtest)."""

    duration: timedelta


@dataclass(frozen=True, slots=True)
class WaitForFill:
    """Wait until the resting order is finished or ``deadline`` passes; answers its
    ``OrderOutcome`` (see :func:`pmarb.lifecycle.fills.wait_for_fill`)."""

    order: PlannedOrder
    client_order_id: str
    deadline: datetime
    guard: FairValueGuard | None = None

    def request(self) -> WaitForFillInput:
        """What the driver's wait performs (the activity's input live)."""
        return WaitForFillInput(
            self.client_order_id, self.order.venue, self.deadline, guard=self.guard
        )


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel a working order; answers its ``OrderOutcome``, or None if it was never sent."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class Unwind:
    """Sell what the lifecycle holds of one instrument down to ``request.keep``, retrying with
    :data:`pmarb.lifecycle.timing.COMPENSATION` backoff until done or the market has resolved;
    answers an ``UnwindResult`` (see :func:`pmarb.lifecycle.unwind.unwind`)."""

    request: UnwindInput


@dataclass(frozen=True, slots=True)
class SleepUntil:
    """A durable wait until ``moment`` (the hold until a market's resolution time)."""

    moment: datetime


@dataclass(frozen=True, slots=True)
class AwaitSettlement:
    """Wait until the market has resolved and book its positions; answers the YES payout."""

    venue: VenueId
    market_id: str


@dataclass(frozen=True, slots=True)
class CloseTrade:
    """Record the trade (and release its reservation when ``release``); answers a
    ``TradeOutcome``."""

    status: str
    expected_prices: dict[str, Decimal]
    settled: tuple[SettledMarket, ...]
    release: bool


LifecycleStep = (
    EnterStage
    | TagStrategy
    | RecordUnpursued
    | CheckRisk
    | PlaceOrders
    | Pause
    | WaitForFill
    | CancelOrder
    | Unwind
    | SleepUntil
    | AwaitSettlement
    | CloseTrade
)

# -- the steps inside the order activities --------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookUpOrder:
    """Ask the venue for an order's current state and bring the ledger up to date; answers its
    ``OrderOutcome``, or None if the venue does not know it."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class RefreshOrders:
    """Bring every unfinished order of the lifecycle on ``instrument_id`` up to date from the
    venue; answers the lifecycle's ledger orders (all instruments)."""

    instrument_id: str


@dataclass(frozen=True, slots=True)
class ReadBestBid:
    """Answers the best bid of the instrument's live book, or None (no book, no bid)."""

    venue: VenueId
    instrument_id: str


@dataclass(frozen=True, slots=True)
class SendOrder:
    """Send one order (through the same placement as any other); answers its
    ``OrderOutcome``."""

    purpose: OrderPurpose
    order: OrderToSend


@dataclass(frozen=True, slots=True)
class ReadFairValue:
    """Answers the model's fair probability of ``outcome`` in the market now, or None when it
    cannot price it (stale feed, cold estimate, unknown market)."""

    venue: VenueId
    market_id: str
    outcome: Outcome


FillWaitStep = LookUpOrder | Pause | ReadFairValue
UnwindStep = RefreshOrders | ReadBestBid | SendOrder | Pause
