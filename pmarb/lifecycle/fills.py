"""Waiting for a resting order: look it up, then again every poll, until done or a deadline."""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

from pmarb.lifecycle.messages import OrderOutcome, WaitForFillInput
from pmarb.lifecycle.steps import FillWaitStep, LookUpOrder, Pause


class UnknownOrderError(LookupError):
    """The venue does not know the order being waited for: nothing can fill it."""


def wait_for_fill(
    request: WaitForFillInput, clock: Callable[[], datetime]
) -> Generator[FillWaitStep, Any, OrderOutcome]:
    """The order's outcome once it is finished (filled, cancelled, expired) or once
    ``request.deadline`` has passed, whichever comes first."""
    poll = timedelta(seconds=request.poll_seconds)
    while True:
        outcome: OrderOutcome | None = yield LookUpOrder(request.client_order_id)
        if outcome is None:
            raise UnknownOrderError(f"{request.client_order_id} unknown at {request.venue}")
        if outcome.status.terminal or clock() >= request.deadline:
            return outcome
        yield Pause(poll)
