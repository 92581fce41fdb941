"""Waiting for a resting order: look it up, then again every poll, until done or a deadline,
or, for a guarded order, until the fair value of what it buys no longer pays."""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pmarb.lifecycle.messages import OrderOutcome, WaitForFillInput
from pmarb.lifecycle.steps import FillWaitStep, LookUpOrder, Pause, ReadFairValue


class UnknownOrderError(LookupError):
    """The venue does not know the order being waited for: nothing can fill it."""


def wait_for_fill(
    request: WaitForFillInput, clock: Callable[[], datetime]
) -> Generator[FillWaitStep, Any, OrderOutcome]:
    """The order's outcome once it is finished (filled, cancelled, expired), once
    ``request.deadline`` has passed, or once its guard's fair value has fallen below the floor,
    whichever comes first (the caller cancels what is still working)."""
    poll = timedelta(seconds=request.poll_seconds)
    guard = request.guard
    while True:
        outcome: OrderOutcome | None = yield LookUpOrder(request.client_order_id)
        if outcome is None:
            raise UnknownOrderError(f"{request.client_order_id} unknown at {request.venue}")
        if outcome.status.terminal or clock() >= request.deadline:
            return outcome
        if guard is not None:
            fair: Decimal | None = yield ReadFairValue(
                request.venue, guard.market_id, guard.outcome
            )
            if fair is not None and fair < guard.floor:
                return outcome
        yield Pause(poll)
