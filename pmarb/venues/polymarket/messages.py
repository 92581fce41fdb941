"""msgspec types for Polymarket payloads, decoded at the boundary.

Unknown fields are ignored; optional fields default, so the older shapes still decode: the
pre-2025 flat ``price_change`` (``asset_id``/``price``/``size``/``side`` at top level), the
``changes`` list variant, and books with ``buys``/``sells`` instead of ``bids``/``asks``.
"""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

import msgspec


class PriceLevel(msgspec.Struct, frozen=True, gc=False):
    price: str
    size: str


class BookEvent(msgspec.Struct, tag_field="event_type", tag="book"):
    asset_id: str
    market: str = ""
    timestamp: str | int | None = None
    hash: str | None = None
    bids: list[PriceLevel] | None = None
    asks: list[PriceLevel] | None = None
    buys: list[PriceLevel] | None = None
    sells: list[PriceLevel] | None = None
    tick_size: str | None = None
    last_trade_price: str | None = None
    min_order_size: str | None = None
    neg_risk: bool | None = None


class BookSide(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"


SideT = TypeVar("SideT", str, BookSide)


class PriceChange(msgspec.Struct, Generic[SideT], gc=False):
    """One level change; ``side`` is the raw string (:data:`PriceChangeEntry`) or, on the fast
    path, a :class:`BookSide` member (:data:`SidedPriceChange`): no string is allocated for it
    and it compares by identity, and any other spelling fails the decode, so the frame takes the
    general path, which reads sides leniently."""

    # ``hash`` is not decoded: nothing checks it, and skipping it is measurably faster.
    price: str
    size: str
    side: SideT
    asset_id: str | None = None
    best_bid: str | None = None
    best_ask: str | None = None


PriceChangeEntry = PriceChange[str]
SidedPriceChange = PriceChange[BookSide]


class PriceChangeEvent(msgspec.Struct, tag_field="event_type", tag="price_change"):
    market: str = ""
    timestamp: str | int | None = None
    price_changes: list[PriceChangeEntry] | None = None
    # Older shapes: one asset per message, with a ``changes`` list or a single flat change.
    asset_id: str | None = None
    changes: list[PriceChangeEntry] | None = None
    price: str | None = None
    size: str | None = None
    side: str | None = None
    hash: str | None = None


class TickSizeChangeEvent(msgspec.Struct, tag_field="event_type", tag="tick_size_change"):
    asset_id: str
    new_tick_size: str
    old_tick_size: str | None = None
    market: str = ""
    timestamp: str | int | None = None


class LastTradePriceEvent(msgspec.Struct, tag_field="event_type", tag="last_trade_price"):
    asset_id: str
    price: str
    market: str = ""
    side: str | None = None
    size: str | None = None
    fee_rate_bps: str | int | None = None
    timestamp: str | int | None = None


class BestBidAskEvent(msgspec.Struct, tag_field="event_type", tag="best_bid_ask"):
    asset_id: str
    best_bid: str | None = None
    best_ask: str | None = None
    market: str = ""
    spread: str | None = None
    timestamp: str | int | None = None


class NewMarketEvent(msgspec.Struct, tag_field="event_type", tag="new_market"):
    market: str = ""
    id: str | None = None
    question: str = ""
    assets_ids: list[str] | None = None
    outcomes: list[str] | None = None
    timestamp: str | int | None = None


class MarketResolvedEvent(msgspec.Struct, tag_field="event_type", tag="market_resolved"):
    market: str = ""
    assets_ids: list[str] | None = None
    winning_asset_id: str | None = None
    winning_outcome: str | None = None
    timestamp: str | int | None = None


MarketEvent = (
    BookEvent
    | PriceChangeEvent
    | TickSizeChangeEvent
    | LastTradePriceEvent
    | BestBidAskEvent
    | NewMarketEvent
    | MarketResolvedEvent
)
MARKET_EVENT_TYPES: dict[str, type[MarketEvent]] = {
    "book": BookEvent,
    "price_change": PriceChangeEvent,
    "tick_size_change": TickSizeChangeEvent,
    "last_trade_price": LastTradePriceEvent,
    "best_bid_ask": BestBidAskEvent,
    "new_market": NewMarketEvent,
    "market_resolved": MarketResolvedEvent,
}
frame_decoder: msgspec.json.Decoder[list[MarketEvent] | MarketEvent] = msgspec.json.Decoder(
    list[MarketEvent] | MarketEvent
)


class PriceChangeFrame(msgspec.Struct, tag_field="event_type", tag="price_change", gc=False):
    """:class:`PriceChangeEvent` without the fields the book does not read (``market``,
    ``timestamp``, ``hash``): skipping them allocates nothing, decoding them a string each."""

    price_changes: list[SidedPriceChange] | None = None
    asset_id: str | None = None
    changes: list[PriceChangeEntry] | None = None
    price: str | None = None
    size: str | None = None
    side: str | None = None


# Most frames are one price_change. Decoding it directly is about 1.5x faster than through the
# tagged union, whose tag ("event_type") comes last in Polymarket's frames.
price_change_decoder: msgspec.json.Decoder[PriceChangeFrame] = msgspec.json.Decoder(
    PriceChangeFrame
)


class RestBook(msgspec.Struct):
    """``GET /book`` (and each element of ``POST /books``)."""

    asset_id: str
    market: str = ""
    timestamp: str | int | None = None
    hash: str | None = None
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


# --------------------------------------------------------------------------- user channel


class MakerOrder(msgspec.Struct):
    order_id: str
    matched_amount: str
    price: str
    asset_id: str | None = None
    outcome: str | None = None
    side: str | None = None
    owner: str | None = None
    maker_address: str | None = None
    fee_rate_bps: str | int | None = None


class UserTradeEvent(msgspec.Struct, tag_field="event_type", tag="trade"):
    id: str
    asset_id: str
    side: str
    size: str
    price: str
    status: str
    market: str = ""
    taker_order_id: str | None = None
    outcome: str | None = None
    owner: str | None = None
    trader_side: str | None = None
    fee_rate_bps: str | int | None = None
    match_time: str | int | None = None
    last_update: str | int | None = None
    bucket_index: int | str | None = None
    maker_orders: list[MakerOrder] = []
    timestamp: str | int | None = None


class UserOrderEvent(msgspec.Struct, tag_field="event_type", tag="order"):
    id: str
    asset_id: str
    side: str
    price: str
    original_size: str
    size_matched: str
    status: str
    type: str = ""
    market: str = ""
    outcome: str | None = None
    order_type: str | None = None
    owner: str | None = None
    created_at: str | int | None = None
    expiration: str | int | None = None
    timestamp: str | int | None = None


UserEvent = UserTradeEvent | UserOrderEvent
user_frame_decoder: msgspec.json.Decoder[list[UserEvent] | UserEvent] = msgspec.json.Decoder(
    list[UserEvent] | UserEvent
)


class RtdsPayload(msgspec.Struct):
    symbol: str
    value: float | int | str
    timestamp: int | None = None


class RtdsMessage(msgspec.Struct):
    """The real-time data socket (crypto prices); parsed here only to recognise it."""

    topic: str
    type: str
    payload: RtdsPayload
    timestamp: int | None = None
