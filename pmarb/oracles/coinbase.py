"""Coinbase Exchange public feed: ticker, matches (``last_match`` then ``match``), heartbeat.

``side`` means different things per channel: on ``match``/``last_match`` it is the MAKER's side
(the aggressor took the other side), on ``ticker`` it is the TAKER's side. The captured pair for
trade 1087540758 shows ``buy`` on match and ``sell`` on ticker for the same print.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal

import msgspec

from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.domain.parity import Side
from pmarb.feeds.backoff import Backoff
from pmarb.oracles.config import CoinbaseExchangeSettings
from pmarb.oracles.stream import (
    MalformedOracleMessage,
    OracleServerError,
    StreamingOracleFeed,
    WallClock,
    positive_price,
    utc_now,
)

log = logging.getLogger(__name__)

_TWO = Decimal(2)


class _TypeProbe(msgspec.Struct):
    type: str


class Ticker(msgspec.Struct):
    product_id: str
    price: Decimal
    time: datetime
    sequence: int | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    best_bid_size: Decimal | None = None
    best_ask_size: Decimal | None = None
    side: str | None = None
    trade_id: int | None = None
    last_size: Decimal | None = None


class Match(msgspec.Struct):
    product_id: str
    trade_id: int
    price: Decimal
    size: Decimal
    side: str
    time: datetime
    sequence: int | None = None


class Heartbeat(msgspec.Struct):
    product_id: str
    sequence: int
    last_trade_id: int
    time: datetime


class ErrorMessage(msgspec.Struct):
    message: str = ""
    reason: str = ""


_PROBE = msgspec.json.Decoder(_TypeProbe)
_TICKER = msgspec.json.Decoder(Ticker)
_MATCH = msgspec.json.Decoder(Match)
_HEARTBEAT = msgspec.json.Decoder(Heartbeat)
_ERROR = msgspec.json.Decoder(ErrorMessage)

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}


def _side(text: str) -> Side:
    try:
        return _SIDES[text.lower()]
    except KeyError:
        raise MalformedOracleMessage(f"unknown side {text!r}") from None


class CoinbaseExchangeParser:
    source = OracleSource.COINBASE_EXCHANGE

    def __init__(self) -> None:
        self.heartbeats: dict[str, Heartbeat] = {}
        self.ignored_types: dict[str, int] = {}

    def parse(self, raw: str | bytes, received_at: datetime) -> list[OracleTick]:
        try:
            kind = _PROBE.decode(raw).type
            if kind == "ticker":
                return [self._ticker(_TICKER.decode(raw), received_at)]
            if kind in ("match", "last_match"):
                return [self._match(_MATCH.decode(raw), received_at)]
            if kind == "heartbeat":
                beat = _HEARTBEAT.decode(raw)
                self.heartbeats[beat.product_id] = beat
                return []
            if kind == "error":
                error = _ERROR.decode(raw)
                raise OracleServerError(f"coinbase: {error.message} {error.reason}".strip())
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad coinbase message: {e}") from None
        # "subscriptions" acks and channels we do not price from are tolerated.
        self.ignored_types[kind] = self.ignored_types.get(kind, 0) + 1
        return []

    def _ticker(self, ticker: Ticker, received_at: datetime) -> OracleTick:
        if ticker.best_bid is not None and ticker.best_ask is not None:
            bid = positive_price(ticker.best_bid, "best_bid")
            ask = positive_price(ticker.best_ask, "best_ask")
            if bid > ask:
                raise MalformedOracleMessage(f"crossed ticker: bid {bid} > ask {ask}")
            return OracleTick(
                source=self.source,
                symbol=ticker.product_id.upper(),
                kind=TickKind.MID,
                value=(bid + ask) / _TWO,
                source_time=ticker.time,
                received_at=received_at,
                bid=bid,
                ask=ask,
            )
        return OracleTick(
            source=self.source,
            symbol=ticker.product_id.upper(),
            kind=TickKind.LAST,
            value=positive_price(ticker.price, "price"),
            source_time=ticker.time,
            received_at=received_at,
            size=ticker.last_size,
            aggressor=_side(ticker.side) if ticker.side else None,
        )

    def _match(self, match: Match, received_at: datetime) -> OracleTick:
        return OracleTick(
            source=self.source,
            symbol=match.product_id.upper(),
            kind=TickKind.TRADE,
            value=positive_price(match.price, "price"),
            source_time=match.time,
            received_at=received_at,
            size=match.size,
            aggressor=_side(match.side).opposite,  # match.side is the maker's side
        )


def subscribe_message(settings: CoinbaseExchangeSettings) -> str:
    return json.dumps(
        {
            "type": "subscribe",
            "product_ids": list(settings.product_ids),
            "channels": list(settings.channels),
        }
    )


def coinbase_exchange_feed(
    settings: CoinbaseExchangeSettings,
    *,
    clock: WallClock = utc_now,
    backoff: Backoff | None = None,
) -> StreamingOracleFeed:
    return StreamingOracleFeed(
        "coinbase-exchange",
        settings.url,
        CoinbaseExchangeParser(),
        [subscribe_message(settings)],
        silence_timeout=settings.silence_timeout,
        clock=clock,
        backoff=backoff,
    )
