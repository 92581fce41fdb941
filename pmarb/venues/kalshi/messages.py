"""msgspec types for Kalshi payloads (post-March-2026 fixed-point fields only).

Prices are ``*_dollars`` strings and counts ``*_fp`` strings; money fields decode straight into
Decimal (msgspec reads JSON numbers as exact decimals too, e.g. a settlement's ``fee_cost``).
Unknown fields are ignored; the hot-path book messages keep strings for the integer parser.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

Ladder = list[tuple[str, str]]


# --------------------------------------------------------------------------- WebSocket


class SnapshotBody(msgspec.Struct):
    market_ticker: str
    market_id: str | None = None
    yes_dollars_fp: Ladder | None = None
    no_dollars_fp: Ladder | None = None
    yes_dollars: Ladder | None = None
    no_dollars: Ladder | None = None


class OrderbookSnapshot(msgspec.Struct, tag_field="type", tag="orderbook_snapshot"):
    msg: SnapshotBody
    sid: int | None = None
    seq: int | None = None


class DeltaBody(msgspec.Struct, gc=False):
    # Only what the book needs: ``market_id``, ``ts_ms`` and ``client_order_id`` are skipped,
    # which allocates nothing, where decoding them costs a string or int per delta.
    market_ticker: str
    price_dollars: str
    delta_fp: str
    side: str


class OrderbookDelta(msgspec.Struct, tag_field="type", tag="orderbook_delta", gc=False):
    msg: DeltaBody
    sid: int | None = None
    seq: int | None = None


class TickerBody(msgspec.Struct):
    market_ticker: str
    market_id: str | None = None
    price_dollars: str | None = None
    yes_bid_dollars: str | None = None
    yes_ask_dollars: str | None = None
    yes_bid_size_fp: str | None = None
    yes_ask_size_fp: str | None = None
    volume_fp: str | None = None
    open_interest_fp: str | None = None
    ts_ms: int | None = None


class TickerMessage(msgspec.Struct, tag_field="type", tag="ticker"):
    msg: TickerBody
    sid: int | None = None


class TradeBody(msgspec.Struct):
    market_ticker: str
    trade_id: str | None = None
    yes_price_dollars: Decimal | None = None
    no_price_dollars: Decimal | None = None
    count_fp: Decimal | None = None
    taker_outcome_side: str | None = None
    taker_book_side: str | None = None
    taker_side: str | None = None
    ts_ms: int | None = None


class TradeMessage(msgspec.Struct, tag_field="type", tag="trade"):
    msg: TradeBody
    sid: int | None = None


class FillBody(msgspec.Struct):
    trade_id: str
    order_id: str
    market_ticker: str
    yes_price_dollars: Decimal
    count_fp: Decimal
    is_taker: bool = False
    fee_cost: Decimal = Decimal(0)
    client_order_id: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    side: str | None = None
    action: str | None = None
    ts: int | None = None
    ts_ms: int | None = None


class FillMessage(msgspec.Struct, tag_field="type", tag="fill"):
    msg: FillBody
    sid: int | None = None


class SubscribedBody(msgspec.Struct):
    sid: int
    channel: str = ""


class SubscribedMessage(msgspec.Struct, tag_field="type", tag="subscribed"):
    msg: SubscribedBody
    id: int | None = None


class ErrorBody(msgspec.Struct):
    code: int | None = None
    msg: str = ""


class ErrorMessage(msgspec.Struct, tag_field="type", tag="error"):
    msg: ErrorBody
    id: int | None = None


class OkMessage(msgspec.Struct, tag_field="type", tag="ok"):
    id: int | None = None
    sid: int | None = None
    seq: int | None = None
    msg: Any = None


class UnsubscribedMessage(msgspec.Struct, tag_field="type", tag="unsubscribed"):
    id: int | None = None
    sid: int | None = None
    seq: int | None = None


StreamMessage = (
    OrderbookDelta
    | OrderbookSnapshot
    | TickerMessage
    | TradeMessage
    | FillMessage
    | SubscribedMessage
    | ErrorMessage
    | OkMessage
    | UnsubscribedMessage
)
STREAM_TYPES: dict[str, type[StreamMessage]] = {
    "orderbook_delta": OrderbookDelta,
    "orderbook_snapshot": OrderbookSnapshot,
    "ticker": TickerMessage,
    "trade": TradeMessage,
    "fill": FillMessage,
    "subscribed": SubscribedMessage,
    "error": ErrorMessage,
    "ok": OkMessage,
    "unsubscribed": UnsubscribedMessage,
}
stream_decoder: msgspec.json.Decoder[StreamMessage] = msgspec.json.Decoder(StreamMessage)


# --------------------------------------------------------------------------- REST


class RestOrderbookBody(msgspec.Struct):
    yes_dollars: Ladder | None = None
    no_dollars: Ladder | None = None


class RestOrderbook(msgspec.Struct):
    orderbook_fp: RestOrderbookBody | None = None


class PriceRange(msgspec.Struct):
    start: Decimal
    end: Decimal
    step: Decimal


class MarketPayload(msgspec.Struct):
    ticker: str
    event_ticker: str = ""
    market_type: str = "binary"
    status: str = ""
    title: str = ""
    subtitle: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    rules_primary: str = ""
    rules_secondary: str = ""
    close_time: str | None = None
    expected_expiration_time: str | None = None
    occurrence_datetime: str | None = None
    strike_type: str | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    price_ranges: list[PriceRange] | None = None
    price_level_structure: str | None = None
    yes_bid_dollars: Decimal | None = None
    yes_ask_dollars: Decimal | None = None
    exchange_index: int | None = None
    fee_waiver_expiration_time: str | None = None
    result: str = ""


class SettlementSource(msgspec.Struct):
    name: str = ""
    url: str = ""


class EventPayload(msgspec.Struct):
    event_ticker: str
    series_ticker: str = ""
    title: str = ""
    sub_title: str = ""
    category: str = ""
    markets: list[MarketPayload] | None = None
    settlement_sources: list[SettlementSource] | None = None
    exchange_index: int | None = None


class EventsPage(msgspec.Struct):
    events: list[EventPayload] = []
    cursor: str | None = None


class MarketsPage(msgspec.Struct):
    markets: list[MarketPayload] = []
    cursor: str | None = None


class MarketResponse(msgspec.Struct):
    market: MarketPayload


class SeriesPayload(msgspec.Struct):
    ticker: str
    title: str = ""
    category: str = ""
    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Decimal(1)
    settlement_sources: list[SettlementSource] | None = None


class SeriesResponse(msgspec.Struct):
    series: SeriesPayload


class OrderPayload(msgspec.Struct):
    """``GET /portfolio/orders`` element (read-only V1 shape, fixed-point fields)."""

    order_id: str
    ticker: str = ""
    client_order_id: str | None = None
    status: str = ""
    side: str | None = None
    action: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    yes_price_dollars: Decimal | None = None
    no_price_dollars: Decimal | None = None
    fill_count_fp: Decimal | None = None
    remaining_count_fp: Decimal | None = None
    initial_count_fp: Decimal | None = None
    taker_fees_dollars: Decimal | None = None
    maker_fees_dollars: Decimal | None = None
    taker_fill_cost_dollars: Decimal | None = None
    maker_fill_cost_dollars: Decimal | None = None


class OrdersPage(msgspec.Struct):
    orders: list[OrderPayload] = []
    cursor: str | None = None


class OrderResponse(msgspec.Struct):
    order: OrderPayload


class CreateOrderResponse(msgspec.Struct):
    """``POST /portfolio/events/orders`` (V2), HTTP 201."""

    order_id: str
    client_order_id: str | None = None
    fill_count: Decimal = Decimal(0)
    remaining_count: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    average_fee_paid: Decimal | None = None
    ts_ms: int | None = None


class BatchCreateOrdersResponse(msgspec.Struct):
    orders: list[CreateOrderResponse] = []


class CancelOrderResponse(msgspec.Struct):
    order_id: str
    client_order_id: str | None = None
    reduced_by: Decimal | None = None


class RestFill(msgspec.Struct):
    order_id: str
    ticker: str = ""
    fill_id: str | None = None
    trade_id: str | None = None
    market_ticker: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    side: str | None = None
    action: str | None = None
    count_fp: Decimal = Decimal(0)
    yes_price_dollars: Decimal | None = None
    no_price_dollars: Decimal | None = None
    is_taker: bool = False
    fee_cost: Decimal = Decimal(0)
    created_time: str | None = None
    ts: int | None = None


class FillsPage(msgspec.Struct):
    fills: list[RestFill] = []
    cursor: str | None = None


class MarketPosition(msgspec.Struct):
    ticker: str
    position_fp: Decimal = Decimal(0)
    total_traded_dollars: Decimal = Decimal(0)
    market_exposure_dollars: Decimal = Decimal(0)
    realized_pnl_dollars: Decimal = Decimal(0)
    fees_paid_dollars: Decimal = Decimal(0)
    exchange_index: int | None = None
    last_updated_ts: str | None = None


class PositionsPage(msgspec.Struct):
    market_positions: list[MarketPosition] = []
    cursor: str | None = None


class BalanceResponse(msgspec.Struct):
    balance_dollars: Decimal | None = None
    balance: int | None = None  # integer cents; truncates sub-cent amounts, so a fallback only
    portfolio_value: int | None = None
    updated_ts: int | None = None


class Settlement(msgspec.Struct):
    ticker: str
    market_result: str = ""
    yes_count_fp: Decimal = Decimal(0)
    no_count_fp: Decimal = Decimal(0)
    yes_total_cost_dollars: Decimal = Decimal(0)
    no_total_cost_dollars: Decimal = Decimal(0)
    revenue: int = 0  # integer CENTS (still, in 2026)
    fee_cost: Decimal = Decimal(0)
    settled_time: str | None = None
    event_ticker: str = ""
