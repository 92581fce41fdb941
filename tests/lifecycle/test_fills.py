"""Waiting for a resting order: until it is done, the deadline passes, or its fair value no
longer pays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.fills import UnknownOrderError, wait_for_fill
from pmarb.lifecycle.messages import FairValueGuard, OrderOutcome, WaitForFillInput
from pmarb.lifecycle.steps import LookUpOrder, Pause, ReadFairValue

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
GUARD = FairValueGuard("KXBTC-T", Outcome.YES, floor=D("0.53"))


def outcome(status: OrderStatus = OrderStatus.OPEN, filled: str = "0") -> OrderOutcome:
    return OrderOutcome("opp:yes", "yes", status, D(10), D(filled), None, D(0))


def request(guard: FairValueGuard | None = GUARD) -> WaitForFillInput:
    return WaitForFillInput("opp:yes", VenueId.KALSHI, NOW + timedelta(minutes=3), guard=guard)


def finish(program: Any, answer: Any) -> OrderOutcome:
    with pytest.raises(StopIteration) as done:
        program.send(answer)
    result: OrderOutcome = done.value.value
    return result


def test_a_guarded_order_stops_waiting_once_fair_value_falls_below_the_floor() -> None:
    program = wait_for_fill(request(), lambda: NOW)
    assert next(program) == LookUpOrder("opp:yes")
    assert program.send(outcome()) == ReadFairValue(VenueId.KALSHI, "KXBTC-T", Outcome.YES)
    assert isinstance(program.send(D("0.60")), Pause), "still worth resting: wait on"
    assert program.send(None) == LookUpOrder("opp:yes")
    assert isinstance(program.send(outcome(OrderStatus.PARTIALLY_FILLED, "4")), ReadFairValue)
    assert isinstance(program.send(None), Pause), "no fair value (cold, stale): keep waiting"
    program.send(None)
    program.send(outcome(OrderStatus.PARTIALLY_FILLED, "4"))
    ended = finish(program, D("0.52"))
    assert ended.status is OrderStatus.PARTIALLY_FILLED and ended.filled == 4, "caller cancels"


def test_an_unguarded_order_waits_for_its_deadline_only() -> None:
    now = [NOW]
    program = wait_for_fill(request(guard=None), lambda: now[0])
    assert next(program) == LookUpOrder("opp:yes")
    assert isinstance(program.send(outcome()), Pause)
    now[0] = NOW + timedelta(minutes=3)
    program.send(None)
    assert finish(program, outcome()).status is OrderStatus.OPEN


def test_a_finished_order_ends_the_wait_and_an_unknown_one_is_an_error() -> None:
    program = wait_for_fill(request(), lambda: NOW)
    next(program)
    assert finish(program, outcome(OrderStatus.FILLED, "10")).filled == 10
    unknown = wait_for_fill(request(), lambda: NOW)
    next(unknown)
    with pytest.raises(UnknownOrderError):
        unknown.send(None)
