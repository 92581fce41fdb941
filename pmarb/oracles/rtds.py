"""Polymarket real-time data socket: the Binance relay (``crypto_prices``), Chainlink Data Streams
(``crypto_prices_chainlink``) and Chainlink's 30 s / 60 s TWAPs — what Polymarket's short crypto
windows settle on.

``full_accuracy_value`` is a plain decimal on ``crypto_prices`` but an integer scaled by 10^18 on
the Chainlink topics; it is cross-checked against the float ``value`` so a format change is
caught instead of mispricing by 18 orders of magnitude. ``payload.timestamp`` is the
observation time, the outer ``timestamp`` the publish time. A subscribe answer replays recent
points as ``payload.data``. One bad topic in a subscribe batch fails the whole batch with
``{"body": ..., "statusCode": 401}``, so every topic is subscribed in its own frame.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import msgspec

from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.feeds.backoff import Backoff
from pmarb.oracles.config import RtdsSettings
from pmarb.oracles.stream import (
    MalformedOracleMessage,
    OracleServerError,
    StreamingOracleFeed,
    WallClock,
    ms_to_datetime,
    positive_price,
    utc_now,
)

BINANCE_TOPIC = "crypto_prices"
CHAINLINK_TOPIC = "crypto_prices_chainlink"
TWAP_TOPICS = {"crypto_prices_twap_thirty": 30, "crypto_prices_twap_sixty": 60}
_E18 = Decimal(10) ** 18
# The float `value` carries ~16 significant digits; anything further apart is a format change.
_CROSS_CHECK_TOLERANCE = Decimal("1e-9")


class Point(msgspec.Struct):
    timestamp: int
    value: Decimal
    full_accuracy_value: str | None = None


class Payload(msgspec.Struct):
    symbol: str | None = None
    timestamp: int | None = None
    value: Decimal | None = None
    full_accuracy_value: str | None = None
    window_s: int | None = None
    data: list[Point] | None = None


class Frame(msgspec.Struct):
    topic: str | None = None
    type: str | None = None
    timestamp: int | None = None
    payload: Payload | None = None
    connection_id: str | None = None
    statusCode: int | None = None
    body: msgspec.Raw = msgspec.Raw(b"")


_FRAME = msgspec.json.Decoder(Frame)


class RtdsParser:
    def __init__(self) -> None:
        self.ignored_topics: dict[str, int] = {}

    def parse(self, raw: str | bytes, received_at: datetime) -> list[OracleTick]:
        try:
            frame = _FRAME.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise MalformedOracleMessage(f"bad RTDS frame: {e}") from None
        if frame.statusCode is not None and frame.statusCode >= 400:
            detail = bytes(frame.body).decode(errors="replace") if frame.body else ""
            raise OracleServerError(f"RTDS status {frame.statusCode}: {detail[:300]}")
        if frame.topic is None or frame.payload is None:
            raise MalformedOracleMessage("frame without topic or payload")
        topic = frame.topic
        if topic == BINANCE_TOPIC:
            source, kind, window = OracleSource.RTDS_BINANCE, TickKind.LAST, None
        elif topic == CHAINLINK_TOPIC:
            source, kind, window = OracleSource.CHAINLINK, TickKind.INDEX, None
        elif topic in TWAP_TOPICS:
            source, kind = OracleSource.CHAINLINK, TickKind.TWAP
            window = frame.payload.window_s or TWAP_TOPICS[topic]
        else:
            self.ignored_topics[topic] = self.ignored_topics.get(topic, 0) + 1
            return []
        payload = frame.payload
        if payload.symbol is None:
            raise MalformedOracleMessage(f"{topic} payload without symbol")
        symbol = payload.symbol.upper()
        scaled = topic != BINANCE_TOPIC
        if payload.data is not None:
            points = [(p.timestamp, p.value, p.full_accuracy_value) for p in payload.data]
        elif payload.timestamp is not None and payload.value is not None:
            points = [(payload.timestamp, payload.value, payload.full_accuracy_value)]
        else:
            raise MalformedOracleMessage(f"{topic} payload without value")
        return [
            OracleTick(
                source=source,
                symbol=symbol,
                kind=kind,
                value=_exact_value(value, full, scaled=scaled),
                source_time=ms_to_datetime(timestamp),
                received_at=received_at,
                window_seconds=window,
            )
            for timestamp, value, full in sorted(points, key=lambda point: point[0])
        ]


def _exact_value(approximate: Decimal, full: str | None, *, scaled: bool) -> Decimal:
    """The full-accuracy value when present, else the JSON number's own digits."""
    if full is None:
        return positive_price(approximate, "value")
    try:
        exact = Decimal(int(full)) / _E18 if scaled else Decimal(full)
    except (ValueError, ArithmeticError):
        raise MalformedOracleMessage(f"full_accuracy_value {full!r} is not a number") from None
    exact = positive_price(exact, "full_accuracy_value")
    if abs(exact - approximate) > exact * _CROSS_CHECK_TOLERANCE:
        raise MalformedOracleMessage(
            f"full_accuracy_value {full} disagrees with value {approximate}"
        )
    return exact


def subscribe_messages(settings: RtdsSettings) -> list[str]:
    subscriptions: list[dict[str, str]] = []
    if settings.binance_symbols:
        # The Binance relay takes a comma-separated filter; the Chainlink topics a JSON string.
        subscriptions.append(
            {
                "topic": BINANCE_TOPIC,
                "type": "update",
                "filters": ",".join(settings.binance_symbols),
            }
        )
    for topic in (CHAINLINK_TOPIC, *settings.twap_topics):
        for symbol in settings.chainlink_symbols:
            subscriptions.append(
                {
                    "topic": topic,
                    "type": "*",
                    "filters": json.dumps({"symbol": symbol}, separators=(",", ":")),
                }
            )
    return [
        json.dumps({"action": "subscribe", "subscriptions": [subscription]})
        for subscription in subscriptions
    ]


def rtds_feed(
    settings: RtdsSettings, *, clock: WallClock = utc_now, backoff: Backoff | None = None
) -> StreamingOracleFeed:
    return StreamingOracleFeed(
        "polymarket-rtds",
        settings.url,
        RtdsParser(),
        subscribe_messages(settings),
        silence_timeout=settings.silence_timeout,
        app_ping_text="PING",
        app_ping_interval=settings.ping_interval,
        clock=clock,
        backoff=backoff,
    )
