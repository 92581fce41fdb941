"""The pure comparison: sizes decide, absent means zero."""

from __future__ import annotations

from decimal import Decimal as D

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderState, OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.domain.positions import Position
from pmarb.reconciliation.compare import order_differs, position_differences


def held(market: str, outcome: Outcome, size: str, average: str = "0.5") -> Position:
    return Position(VenueId.KALSHI, market, outcome, D(size), D(average))


def test_only_sizes_that_differ_are_reported_and_missing_sides_count_as_zero() -> None:
    ledger = [held("A", Outcome.YES, "10"), held("B", Outcome.NO, "5"), held("C", Outcome.YES, "3")]
    venue = [
        held("A", Outcome.YES, "10", average="0.61"),  # a different average is not a difference
        held("B", Outcome.NO, "4"),
        held("D", Outcome.YES, "7", average="0.40"),
    ]
    found = {(d.market_id, d.outcome): d for d in position_differences(ledger, venue)}
    assert set(found) == {("B", Outcome.NO), ("C", Outcome.YES), ("D", Outcome.YES)}
    assert (found["B", Outcome.NO].ledger_size, found["B", Outcome.NO].venue_size) == (D(5), D(4))
    assert found["C", Outcome.YES].venue_size == 0
    assert (found["D", Outcome.YES].ledger_size, found["D", Outcome.YES].venue_average_price) == (
        D(0),
        D("0.40"),
    )


def test_the_same_outcome_on_another_side_of_a_market_is_a_separate_position() -> None:
    differences = position_differences(
        [held("A", Outcome.YES, "10")], [held("A", Outcome.NO, "10")]
    )
    assert [(d.outcome, d.ledger_size, d.venue_size) for d in differences] == [
        (Outcome.NO, D(0), D(10)),
        (Outcome.YES, D(10), D(0)),
    ]


def test_an_order_differs_when_the_venue_moved_it_or_never_saw_it() -> None:
    pending = OrderState("wf:a", None, OrderStatus.PENDING, D(10))
    assert order_differs(pending, None)
    assert order_differs(pending, OrderState("wf:a", "v1", OrderStatus.FILLED, D(10), D(10)))
    partly = OrderState("wf:a", "v1", OrderStatus.PARTIALLY_FILLED, D(10), D(4))
    assert order_differs(
        partly, OrderState("wf:a", "v1", OrderStatus.PARTIALLY_FILLED, D(10), D(6))
    )
    assert not order_differs(partly, partly)
