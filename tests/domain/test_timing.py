"""The venue order-timing rule: which orders a venue holds, and for how long."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal as D

import pytest

from pmarb.domain.book import crosses
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderRequest, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import POLYMARKET_UP_DOWN_TAKER_DELAY, order_delay
from pmarb.recording.schema import market_from_json, market_to_json

UP_DOWN = Market(
    venue=VenueId.POLYMARKET,
    market_id="0xupdown",
    title="Bitcoin Up or Down",
    yes_instrument_id="up",
    no_instrument_id="down",
    outcome_names=("Up", "Down"),
    taker_delay_seconds=POLYMARKET_UP_DOWN_TAKER_DELAY,
)


def request(tif: TimeInForce = TimeInForce.FOK, *, post_only: bool = False) -> OrderRequest:
    return OrderRequest(
        client_order_id="c",
        venue=VenueId.POLYMARKET,
        market_id=UP_DOWN.market_id,
        instrument_id="up",
        outcome=Outcome.YES,
        side=Side.BUY,
        price=D("0.55"),
        size=D("10"),
        time_in_force=tif,
        post_only=post_only,
    )


def test_only_orders_that_take_liquidity_on_a_delayed_market_are_held() -> None:
    assert order_delay(UP_DOWN, request(), marketable=True) == 0.25
    assert order_delay(UP_DOWN, request(TimeInForce.GTC), marketable=True) == 0.25
    # A limit order that rests on arrival is a maker: not held.
    assert order_delay(UP_DOWN, request(TimeInForce.GTC), marketable=False) == 0.0
    assert order_delay(UP_DOWN, request(TimeInForce.FOK), marketable=False) == 0.0
    # Post-only never takes, whatever the book (the venue rejects it if it would cross).
    assert order_delay(UP_DOWN, request(TimeInForce.GTC, post_only=True), marketable=True) == 0.0
    undelayed = replace(UP_DOWN, taker_delay_seconds=0.0)
    assert order_delay(undelayed, request(), marketable=True) == 0.0


def test_the_delay_is_never_negative() -> None:
    with pytest.raises(ValueError, match="taker delay"):
        replace(UP_DOWN, taker_delay_seconds=-0.25)
    with pytest.raises(ValueError, match="taker delay"):
        replace(UP_DOWN, taker_delay_seconds=float("nan"))


def test_recorded_markets_without_the_field_still_decode() -> None:
    document = json.loads(market_to_json(UP_DOWN))
    assert document["taker_delay_seconds"] == 0.25
    assert market_from_json(market_to_json(UP_DOWN)) == UP_DOWN
    del document["taker_delay_seconds"]  # a recording made before the field existed
    old = market_from_json(json.dumps(document))
    assert old.taker_delay_seconds == 0.0
    assert old == replace(UP_DOWN, taker_delay_seconds=0.0)


def test_crossing_is_inclusive_at_the_limit() -> None:
    assert crosses(Side.BUY, D("0.55"), D("0.55")) and crosses(Side.BUY, D("0.55"), D("0.54"))
    assert not crosses(Side.BUY, D("0.55"), D("0.56"))
    assert crosses(Side.SELL, D("0.55"), D("0.55")) and crosses(Side.SELL, D("0.55"), D("0.56"))
    assert not crosses(Side.SELL, D("0.55"), D("0.54"))
