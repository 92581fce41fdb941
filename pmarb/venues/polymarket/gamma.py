"""Gamma market discovery: payloads into :class:`~pmarb.domain.market.Market`.

Traps handled here (research/venues.md A.1, A.0): ``clobTokenIds``/``outcomes``/
``outcomePrices`` are JSON strings holding arrays; the outcome ids come from ``clobTokenIds``
for ``version`` v1 (or no version) and from ``positionIds`` for v2, whatever else is present;
rules live in ``description``; ``endDate`` is the scheduled end, not the resolution time;
the venue's taker delay comes from ``secondsDelay`` and the up/down shape
(:func:`taker_delay_seconds`).
Only binary markets that trade on the CLOB (``enableOrderBook``) become Markets.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.timing import POLYMARKET_UP_DOWN_TAKER_DELAY
from pmarb.venues.polymarket.fees import GammaFeeSchedule, fee_schedule

log = logging.getLogger(__name__)


class GammaEventRef(msgspec.Struct):
    id: str | int | None = None
    ticker: str | None = None
    slug: str | None = None
    title: str | None = None
    negRisk: bool | None = None
    negRiskAugmented: bool | None = None


class GammaMarket(msgspec.Struct, rename="camel"):
    id: str | int
    question: str = ""
    condition_id: str = ""
    slug: str = ""
    description: str = ""
    resolution_source: str = ""
    end_date: str | None = None
    event_start_time: str | None = None
    outcomes: str | list[str] | None = None
    outcome_prices: str | list[str] | None = None
    clob_token_ids: str | list[str] | None = None
    position_ids: str | list[str] | None = None
    version: str | None = None
    active: bool = False
    closed: bool = False
    archived: bool = False
    accepting_orders: bool | None = None
    enable_order_book: bool | None = None
    order_price_min_tick_size: Decimal | None = None
    order_min_size: Decimal | None = None
    neg_risk: bool = False
    neg_risk_market_id: str | None = msgspec.field(default=None, name="negRiskMarketID")
    fees_enabled: bool | None = None
    fee_type: str | None = None
    fee_schedule: GammaFeeSchedule | None = None
    group_item_title: str | None = None
    events: list[GammaEventRef] | None = None
    category: str | None = None
    seconds_delay: int | None = None
    crypto_market_config: dict[str, Any] | None = None


class GammaEvent(msgspec.Struct, rename="camel"):
    id: str | int
    title: str = ""
    slug: str = ""
    neg_risk: bool | None = None
    enable_neg_risk: bool | None = None
    neg_risk_augmented: bool | None = None
    markets: list[GammaMarket] | None = None


def json_list(value: str | list[str] | None) -> list[str]:
    """Gamma's arrays-inside-strings (``"[\\"Yes\\", \\"No\\"]"``), or a real list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    decoded: Any = json.loads(value)
    if not isinstance(decoded, list):
        raise ValueError(f"expected a JSON array, got {value[:60]!r}")
    return [str(item) for item in decoded]


def outcome_ids(market: GammaMarket) -> list[str]:
    """Choose the ids by ``version``: v2 trades ``positionIds``, v1 ``clobTokenIds``."""
    if (market.version or "v1").lower() == "v2":
        return json_list(market.position_ids)
    return json_list(market.clob_token_ids)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def taker_delay_seconds(payload: GammaMarket, outcome_names: list[str]) -> float:
    """How long Polymarket holds a marketable order on this market (:mod:`pmarb.domain.timing`):
    Gamma's ``secondsDelay`` (sports), and at least the 250 ms taker delay on up/down markets.

    Gamma does not publish the CLOB's ``itode`` flag, so up/down markets are recognised by their
    ``cryptoMarketConfig`` (recorded on 5-minute crypto rounds, 2026-08) or their Up/Down
    outcomes (a 15-minute round recorded in 2026-02 has no ``cryptoMarketConfig``)."""
    delay = float(payload.seconds_delay or 0)
    up_down = [name.strip().lower() for name in outcome_names] == ["up", "down"]
    if up_down or payload.crypto_market_config is not None:
        delay = max(delay, POLYMARKET_UP_DOWN_TAKER_DELAY)
    return delay


def to_market(payload: GammaMarket) -> Market | None:
    """A binary CLOB market, or None for anything pmarb cannot trade (logged at debug)."""
    ids = outcome_ids(payload)
    names = json_list(payload.outcomes)
    if len(ids) != 2 or len(names) != 2:
        log.debug("gamma %s: not binary (%d ids, %d outcomes)", payload.id, len(ids), len(names))
        return None
    if payload.enable_order_book is False:
        return None
    if payload.closed or payload.archived:
        status = MarketStatus.CLOSED
    elif payload.active and payload.accepting_orders is not False:
        status = MarketStatus.OPEN
    else:
        status = MarketStatus.PAUSED
    event = payload.events[0] if payload.events else None
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=payload.condition_id or str(payload.id),
        title=payload.question,
        yes_instrument_id=ids[0],
        no_instrument_id=ids[1],
        status=status,
        subtitle=payload.group_item_title or "",
        rules=payload.description,
        outcome_names=(names[0], names[1]),
        close_time=_time(payload.end_date),
        event_id=None if event is None or event.id is None else str(event.id),
        settlement_source=payload.resolution_source or None,
        category=payload.fee_type or payload.category,
        tick_size=payload.order_price_min_tick_size or Decimal("0.01"),
        min_size=payload.order_min_size or Decimal("5"),
        neg_risk=payload.neg_risk,
        fees=fee_schedule(payload.fee_schedule, payload.fees_enabled),
        neg_risk_augmented=bool(event is not None and event.negRiskAugmented),
        taker_delay_seconds=taker_delay_seconds(payload, names),
    )


markets_decoder = msgspec.json.Decoder(list[GammaMarket])
market_decoder = msgspec.json.Decoder(GammaMarket)


class KeysetPage(msgspec.Struct):
    markets: list[GammaMarket] = []
    next_cursor: str | None = None
