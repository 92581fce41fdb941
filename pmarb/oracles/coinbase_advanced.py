"""Coinbase Advanced Trade market data: ticker / ticker_batch, market_trades, heartbeats.

Every frame is ``{channel, timestamp, sequence_num, events: [...]}`` (production frames omit
``client_id``). ``market_trades`` reports the MAKER's side, so the aggressor is the other one; its
snapshot lists trades newest first. ``ticker_batch`` carries no best bid/ask. ``sequence_num``
counts every frame on the connection, so a jump means frames were lost.
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
from pmarb.oracles.config import CoinbaseAdvancedSettings
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


class Envelope(msgspec.Struct):
    channel: str | None = None
    timestamp: datetime | None = None
    sequence_num: int | None = None
    events: list[msgspec.Raw] = []
    type: str | None = None  # only on {"type": "error", "message": ...}
    message: str | None = None


class AdvancedTicker(msgspec.Struct):
    product_id: str
    price: Decimal
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    best_bid_quantity: Decimal | None = None
    best_ask_quantity: Decimal | None = None


class TickerEvent(msgspec.Struct):
    tickers: list[AdvancedTicker] = []
    type: str | None = None


class MarketTrade(msgspec.Struct):
    product_id: str
    trade_id: str
    price: Decimal
    size: Decimal
    side: str
    time: datetime


class TradesEvent(msgspec.Struct):
    trades: list[MarketTrade] = []
    type: str | None = None


_ENVELOPE = msgspec.json.Decoder(Envelope)
_TICKER_EVENT = msgspec.json.Decoder(TickerEvent)
_TRADES_EVENT = msgspec.json.Decoder(TradesEvent)
_MAKER_SIDE = {"BUY": Side.BUY, "SELL": Side.SELL}


class CoinbaseAdvancedParser:
    source = OracleSource.COINBASE_ADVANCED

    def __init__(self) -> None:
        self.last_sequence: int | None = None
        self.sequence_gaps = 0
        self.ignored_channels: dict[str, int] = {}

    def parse(self, raw: str | bytes, received_at: datetime) -> list[OracleTick]:
        try:
            envelope = _ENVELOPE.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad advanced-trade frame: {e}") from None
        if envelope.type == "error":
            raise OracleServerError(f"coinbase advanced trade: {envelope.message}")
        if envelope.channel is None or envelope.timestamp is None:
            raise MalformedOracleMessage("frame without channel or timestamp")
        self._check_sequence(envelope.sequence_num)
        try:
            if envelope.channel in ("ticker", "ticker_batch"):
                return [
                    self._ticker(ticker, envelope.timestamp, received_at)
                    for event in envelope.events
                    for ticker in _TICKER_EVENT.decode(event).tickers
                ]
            if envelope.channel == "market_trades":
                trades = [
                    trade
                    for event in envelope.events
                    for trade in _TRADES_EVENT.decode(event).trades
                ]
                trades.sort(key=lambda trade: (trade.time, _trade_order(trade.trade_id)))
                return [self._trade(trade, received_at) for trade in trades]
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad {envelope.channel} event: {e}") from None
        # subscriptions acks, heartbeats and channels we do not price from.
        self.ignored_channels[envelope.channel] = self.ignored_channels.get(envelope.channel, 0) + 1
        return []

    def _check_sequence(self, sequence: int | None) -> None:
        if sequence is None:
            return
        if self.last_sequence is not None and sequence > self.last_sequence + 1:
            # Prices are absolute, so a lost frame only delays the next value; count it.
            self.sequence_gaps += 1
        if self.last_sequence is None or sequence > self.last_sequence:
            self.last_sequence = sequence
        elif sequence < self.last_sequence:
            self.last_sequence = sequence  # a new connection numbers from zero again

    def _ticker(
        self, ticker: AdvancedTicker, sent_at: datetime, received_at: datetime
    ) -> OracleTick:
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
                source_time=sent_at,
                received_at=received_at,
                bid=bid,
                ask=ask,
            )
        return OracleTick(
            source=self.source,
            symbol=ticker.product_id.upper(),
            kind=TickKind.LAST,
            value=positive_price(ticker.price, "price"),
            source_time=sent_at,
            received_at=received_at,
        )

    def _trade(self, trade: MarketTrade, received_at: datetime) -> OracleTick:
        maker = _MAKER_SIDE.get(trade.side.upper())
        if maker is None:
            raise MalformedOracleMessage(f"unknown trade side {trade.side!r}")
        return OracleTick(
            source=self.source,
            symbol=trade.product_id.upper(),
            kind=TickKind.TRADE,
            value=positive_price(trade.price, "price"),
            source_time=trade.time,
            received_at=received_at,
            size=trade.size,
            aggressor=maker.opposite,
        )


def _trade_order(trade_id: str) -> int:
    return int(trade_id) if trade_id.isdigit() else 0


def subscribe_messages(settings: CoinbaseAdvancedSettings) -> list[str]:
    """One frame per channel: the Advanced Trade socket takes a single channel per subscribe."""
    return [
        json.dumps(
            {"type": "subscribe", "channel": channel, "product_ids": list(settings.product_ids)}
        )
        for channel in settings.channels
    ]


def coinbase_advanced_feed(
    settings: CoinbaseAdvancedSettings,
    *,
    clock: WallClock = utc_now,
    backoff: Backoff | None = None,
) -> StreamingOracleFeed:
    parser = CoinbaseAdvancedParser()
    feed = StreamingOracleFeed(
        "coinbase-advanced",
        settings.url,
        parser,
        subscribe_messages(settings),
        silence_timeout=settings.silence_timeout,
        clock=clock,
        backoff=backoff,
    )
    return feed
