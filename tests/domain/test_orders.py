from dataclasses import FrozenInstanceError
from decimal import Decimal as D

import pytest

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderRequest, OrderStatus, TimeInForce, client_order_id
from pmarb.domain.parity import Outcome, Side


def order(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_order_id": "wf:leg-a",
        "venue": VenueId.KALSHI,
        "market_id": "KX-1",
        "instrument_id": "KX-1",
        "outcome": Outcome.YES,
        "side": Side.BUY,
        "price": D("0.40"),
        "size": D("10"),
        "time_in_force": TimeInForce.FOK,
    }
    fields.update(changes)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def test_client_order_id_is_deterministic_per_workflow_and_leg() -> None:
    assert client_order_id("opp-1", "yes") == client_order_id("opp-1", "yes")
    assert client_order_id("opp-1", "yes") != client_order_id("opp-1", "no")
    assert client_order_id("opp-1", "yes") != client_order_id("opp-2", "yes")
    with pytest.raises(ValueError):
        client_order_id("", "yes")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": D("0")}, "size"),
        ({"price": D("1")}, "price"),
        ({"price": D("0")}, "price"),
        ({"time_in_force": TimeInForce.GTD}, "expires_at"),
        ({"post_only": True}, "post-only"),
    ],
)
def test_invalid_orders_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        order(**changes)


def test_orders_are_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        order().size = D("5")  # type: ignore[misc]


def test_terminal_statuses() -> None:
    assert OrderStatus.FILLED.terminal and OrderStatus.CANCELLED.terminal
    assert not OrderStatus.OPEN.terminal and not OrderStatus.PARTIALLY_FILLED.terminal
