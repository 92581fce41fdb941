"""Binance market-data streams (spot and USD-M futures): trade, aggTrade, bookTicker.

Raw streams (``/ws/<stream>``) send the event itself; combined streams
(``/stream?streams=a/b``) wrap it as ``{"stream": ..., "data": ...}``. Spot and futures payloads
differ (futures ``@trade`` has ``X`` and no ``M``, futures ``aggTrade`` adds ``nq``, futures
``bookTicker`` carries ``e``/``E``/``T`` that spot lacks), so each market has its own structs.
``m`` is "buyer is the maker": the aggressor sold when it is true.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.domain.parity import Side
from pmarb.feeds.backoff import Backoff
from pmarb.oracles.config import BinanceSettings
from pmarb.oracles.stream import (
    MalformedOracleMessage,
    OracleServerError,
    StreamingOracleFeed,
    WallClock,
    ms_to_datetime,
    positive_price,
    utc_now,
)

BinanceMarket = Literal["spot", "usdm"]

_TWO = Decimal(2)


class _Probe(msgspec.Struct):
    """Just enough of any frame to route it."""

    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"")
    e: str | None = None
    u: int | None = None
    id: int | str | None = None
    result: msgspec.Raw = msgspec.Raw(b"")
    code: int | None = None
    msg: str | None = None


class SpotTrade(msgspec.Struct):
    E: int
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool
    M: bool | None = None


class FuturesTrade(msgspec.Struct):
    E: int
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool
    X: str | None = None


class SpotAggTrade(msgspec.Struct):
    E: int
    s: str
    a: int
    p: Decimal
    q: Decimal
    f: int
    l: int  # noqa: E741 - Binance's field name
    T: int
    m: bool
    M: bool | None = None


class FuturesAggTrade(msgspec.Struct):
    E: int
    s: str
    a: int
    p: Decimal
    q: Decimal
    f: int
    l: int  # noqa: E741 - Binance's field name
    T: int
    m: bool
    nq: Decimal | None = None


class SpotBookTicker(msgspec.Struct):
    u: int
    s: str
    b: Decimal
    B: Decimal
    a: Decimal
    A: Decimal


class FuturesBookTicker(msgspec.Struct):
    u: int
    s: str
    b: Decimal
    B: Decimal
    a: Decimal
    A: Decimal
    E: int
    T: int


_DECODERS: dict[BinanceMarket, dict[str, msgspec.json.Decoder[object]]] = {
    "spot": {
        "trade": msgspec.json.Decoder(SpotTrade),
        "aggTrade": msgspec.json.Decoder(SpotAggTrade),
        "bookTicker": msgspec.json.Decoder(SpotBookTicker),
    },
    "usdm": {
        "trade": msgspec.json.Decoder(FuturesTrade),
        "aggTrade": msgspec.json.Decoder(FuturesAggTrade),
        "bookTicker": msgspec.json.Decoder(FuturesBookTicker),
    },
}
_PROBE = msgspec.json.Decoder(_Probe)


class BinanceParser:
    def __init__(self, market: BinanceMarket = "spot") -> None:
        self.market = market
        self.source = OracleSource.BINANCE if market == "spot" else OracleSource.BINANCE_USDM
        self._decoders = _DECODERS[market]

    def parse(self, raw: str | bytes, received_at: datetime) -> list[OracleTick]:
        try:
            probe = _PROBE.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad frame: {e}") from None
        if probe.code is not None and probe.msg is not None:
            raise OracleServerError(f"binance error {probe.code}: {probe.msg}")
        if probe.stream is not None and probe.data:
            event = probe.stream.split("@", 1)[-1]
            payload: bytes | str = bytes(probe.data)
        else:
            if probe.id is not None and probe.e is None:
                return []  # {"result": null, "id": 1}: a subscription acknowledgement
            event = probe.e or ("bookTicker" if probe.u is not None else "")
            payload = raw
        decoder = self._decoders.get(_event_name(event))
        if decoder is None:
            return []  # a stream we do not price from (depth, kline): tolerated, not malformed
        try:
            message = decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad {event} message: {e}") from None
        return [self._tick(message, received_at)]

    def _tick(self, message: object, received_at: datetime) -> OracleTick:
        if isinstance(message, (SpotTrade, FuturesTrade, SpotAggTrade, FuturesAggTrade)):
            return OracleTick(
                source=self.source,
                symbol=message.s.upper(),
                kind=TickKind.TRADE,
                value=positive_price(message.p, "p"),
                source_time=ms_to_datetime(message.T),
                received_at=received_at,
                size=message.q,
                aggressor=Side.SELL if message.m else Side.BUY,
            )
        assert isinstance(message, (SpotBookTicker, FuturesBookTicker))
        bid = positive_price(message.b, "b")
        ask = positive_price(message.a, "a")
        if bid > ask:
            raise MalformedOracleMessage(f"crossed book ticker: bid {bid} > ask {ask}")
        # Spot book tickers carry no time; the receive time is the best we have.
        when = ms_to_datetime(message.T) if isinstance(message, FuturesBookTicker) else received_at
        return OracleTick(
            source=self.source,
            symbol=message.s.upper(),
            kind=TickKind.MID,
            value=(bid + ask) / _TWO,
            source_time=when,
            received_at=received_at,
            bid=bid,
            ask=ask,
        )


def _event_name(stream_suffix: str) -> str:
    """``bookTicker`` from ``btcusdt@bookTicker``; ``trade`` from ``trade`` (raw ``e``)."""
    return stream_suffix.split("@", 1)[0]


def stream_url(base_url: str, streams: Sequence[str]) -> str:
    """A combined-stream URL: the subscription lives in the URL, so a reconnect resubscribes."""
    if not streams:
        raise ValueError("a Binance feed needs at least one stream")
    return f"{base_url.rstrip('/')}/stream?streams={'/'.join(streams)}"


def binance_feed(
    settings: BinanceSettings, *, clock: WallClock = utc_now, backoff: Backoff | None = None
) -> StreamingOracleFeed:
    name = "binance" if settings.market == "spot" else "binance-usdm"
    return StreamingOracleFeed(
        name,
        stream_url(settings.url, settings.streams),
        BinanceParser(settings.market),
        silence_timeout=settings.silence_timeout,
        clock=clock,
        backoff=backoff,
    )
