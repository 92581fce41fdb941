"""The recording format (v1): tables, their Parquet columns, and the events a reader yields.

A recording is a directory::

    metadata.json                      format, version, synthetic, seed, created_at, start, end,
                                       sources, notes, and the top levels per side
    markets/part-*.parquet             ts_ns, venue, market_id, record (Market as JSON)
    matches/part-*.parquet             ts_ns, match_id, record (MatchedPair as JSON)
    books/source=V/date=D/part-*.parquet
                                       ts_ns, venue, instrument_id, bid_px, bid_sz, ask_px, ask_sz
                                       (lists of int64 micro-units, best level first: the
                                       instrument's top N levels per side AFTER the update)
    trades/source=V/date=D/part-*.parquet
                                       ts_ns, venue, instrument_id, price_micros, size_micros,
                                       taker_side ("buy"/"sell"/"")
    oracle/source=S/date=D/part-*.parquet
                                       ts_ns, source, symbol, kind, value_micros, source_ts_ns,
                                       window_seconds (null unless a TWAP)
    resolutions/part-*.parquet         ts_ns, venue, market_id, outcome ("YES"/"NO")
    feeds/source=V/date=D/part-*.parquet
                                       ts_ns, venue: the venue's feed was alive (had delivered
                                       data) at ts_ns; written about once a second, so a replay
                                       tells a quiet book on a live feed from a silent feed

``ts_ns`` is the receive time in integer nanoseconds since the Unix epoch (UTC). Money, prices
and sizes are integer micro-units (Decimal × 10**6); a value with more than six decimals is
refused rather than rounded. Part files appear whole (written to a hidden temporary name, then
renamed), so a reader never sees a half-written part while a recorder runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import msgspec
import polars as pl

from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.scanner.detectors import MatchedPair

FORMAT: Final = "pmarb-recording"
VERSION: Final = 1
MICROS: Final = 1_000_000
NANOS: Final = 1_000_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class RecordingError(Exception):
    """A recording that cannot be read (or written) as asked; the message names the file."""


# -- tables ------------------------------------------------------------------------------------

BOOKS: Final = "books"
TRADES: Final = "trades"
ORACLE: Final = "oracle"
MARKETS: Final = "markets"
MATCHES: Final = "matches"
RESOLUTIONS: Final = "resolutions"
FEEDS: Final = "feeds"

PARTITIONED: Final = (BOOKS, TRADES, ORACLE, FEEDS)
"""Tables stored under ``source=<venue or feed>/date=YYYY-MM-DD``; the others are flat."""

_LEVELS = pl.List(pl.Int64)
SCHEMAS: Final[dict[str, dict[str, pl.DataType]]] = {
    BOOKS: {
        "ts_ns": pl.Int64(),
        "venue": pl.String(),
        "instrument_id": pl.String(),
        "bid_px": _LEVELS,
        "bid_sz": _LEVELS,
        "ask_px": _LEVELS,
        "ask_sz": _LEVELS,
    },
    TRADES: {
        "ts_ns": pl.Int64(),
        "venue": pl.String(),
        "instrument_id": pl.String(),
        "price_micros": pl.Int64(),
        "size_micros": pl.Int64(),
        "taker_side": pl.String(),
    },
    ORACLE: {
        "ts_ns": pl.Int64(),
        "source": pl.String(),
        "symbol": pl.String(),
        "kind": pl.String(),
        "value_micros": pl.Int64(),
        "source_ts_ns": pl.Int64(),
        "window_seconds": pl.Int32(),
    },
    MARKETS: {
        "ts_ns": pl.Int64(),
        "venue": pl.String(),
        "market_id": pl.String(),
        "record": pl.String(),
    },
    MATCHES: {
        "ts_ns": pl.Int64(),
        "match_id": pl.Int64(),
        "record": pl.String(),
    },
    RESOLUTIONS: {
        "ts_ns": pl.Int64(),
        "venue": pl.String(),
        "market_id": pl.String(),
        "outcome": pl.String(),
    },
    FEEDS: {
        "ts_ns": pl.Int64(),
        "venue": pl.String(),
    },
}
TABLES: Final = tuple(SCHEMAS)


# -- units -------------------------------------------------------------------------------------


def to_micros(value: Decimal) -> int:
    """Exact micro-units of ``value``; more than six decimals is an error, never a rounding."""
    scaled = value * MICROS
    integral = scaled.to_integral_value()
    if scaled != integral:
        raise ValueError(f"{value} has more than six decimals; the recording keeps micro-units")
    return int(integral)


def from_micros(micros: int) -> Decimal:
    """The Decimal of ``micros`` without trailing zeros (0.53, not 0.530000; 2, not 2E+0)."""
    value = Decimal(micros).scaleb(-6)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float on the way)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: recordings are in UTC")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NANOS + delta.microseconds * 1_000


def from_ns(ts_ns: int) -> datetime:
    """The moment ``ts_ns`` names, to the microsecond (Python's resolution)."""
    return _EPOCH + timedelta(microseconds=ts_ns // 1_000)


def day_of(ts_ns: int) -> date:
    return (_EPOCH + timedelta(days=ts_ns // (86_400 * NANOS))).date()


# -- records as JSON ---------------------------------------------------------------------------

_market_decoder = msgspec.json.Decoder(Market)


class _PairRecord(msgspec.Struct, frozen=True):
    match_id: int
    a: Market
    b: Market
    inverted: bool


_pair_decoder = msgspec.json.Decoder(_PairRecord)


def market_to_json(market: Market) -> str:
    return msgspec.json.encode(market).decode()


def market_from_json(text: str) -> Market:
    return _market_decoder.decode(text)


def pair_to_json(pair: MatchedPair) -> str:
    return msgspec.json.encode(_PairRecord(pair.match_id, pair.a, pair.b, pair.inverted)).decode()


def pair_from_json(text: str) -> MatchedPair:
    record = _pair_decoder.decode(text)
    return MatchedPair(record.match_id, record.a, record.b, record.inverted)


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """An instrument's top levels per side after one update (micro-units, best first)."""

    ts_ns: int
    venue: VenueId
    instrument_id: str
    bid_px: tuple[int, ...]
    bid_sz: tuple[int, ...]
    ask_px: tuple[int, ...]
    ask_sz: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TradePrint:
    ts_ns: int
    venue: VenueId
    instrument_id: str
    price_micros: int
    size_micros: int
    taker_side: str


@dataclass(frozen=True, slots=True)
class OracleUpdate:
    """One oracle tick; ``source_ts_ns`` is the source's own time when it gave one."""

    ts_ns: int
    source: str
    symbol: str
    kind: str
    value_micros: int
    source_ts_ns: int | None = None
    window_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """The moment a market's outcome became observable: nothing may settle before it."""

    ts_ns: int
    venue: VenueId
    market_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class FeedHeartbeat:
    """The venue's feed was alive at ``ts_ns``: connected and delivering data, so every valid
    book it carries is known current then even if its price has not changed (a quiet book)."""

    ts_ns: int
    venue: VenueId


RecordedEvent = BookUpdate | TradePrint | OracleUpdate | Resolution | FeedHeartbeat


def outcome_label(outcome: Outcome) -> str:
    return outcome.value.upper()


def parse_outcome(label: str) -> Outcome:
    try:
        return Outcome(label.lower())
    except ValueError:
        raise RecordingError(f"resolution outcome must be YES or NO, got {label!r}") from None
