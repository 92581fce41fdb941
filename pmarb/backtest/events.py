"""What a replay consumes: markets, matched pairs and a time-ordered stream of recorded events.

The event types mirror the recording format (``/work/notes/recording-format.md``): prices and
sizes stay in integer micro-units until something needs a Decimal, and each book row is the
instrument's full top-N snapshot after the update, so the book at time t is the last row at or
before t.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.scanner.detectors import MatchedPair

NANOS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class BookUpdate:
    ts_ns: int
    venue: VenueId
    instrument_id: str
    bid_px: tuple[int, ...]  # best first, micro-units
    bid_sz: tuple[int, ...]
    ask_px: tuple[int, ...]
    ask_sz: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OracleUpdate:
    ts_ns: int
    source: str
    symbol: str
    kind: str
    value_micros: int


@dataclass(frozen=True, slots=True)
class TradePrint:
    ts_ns: int
    venue: VenueId
    instrument_id: str
    price_micros: int
    size_micros: int
    taker_side: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The moment a market's outcome became observable: nothing settles before it."""

    ts_ns: int
    venue: VenueId
    market_id: str
    outcome: Outcome


Event = BookUpdate | OracleUpdate | TradePrint | Resolution


@dataclass(frozen=True)
class Dataset:
    """Markets, pairs and a re-iterable event stream (each call starts from the beginning)."""

    markets: tuple[Market, ...]
    pairs: tuple[MatchedPair, ...]
    events: Callable[[int | None, int | None], Iterator[Event]]
    start_ns: int
    end_ns: int
    synthetic: bool = False
    seed: int | None = None
    # When each market definition and pair became known (discovery, matching): a replay may
    # only scan what had been discovered by then. Empty: everything known from the start.
    market_listings: tuple[tuple[int, Market], ...] = ()
    pair_listings: tuple[tuple[int, MatchedPair], ...] = ()

    def replay(self, start_ns: int | None = None, end_ns: int | None = None) -> Iterator[Event]:
        """Events with ``start_ns <= ts_ns <= end_ns`` in time order."""
        return self.events(start_ns, end_ns)


def in_memory(
    markets: Iterable[Market],
    pairs: Iterable[MatchedPair],
    events: Iterable[Event],
    *,
    synthetic: bool = True,
    seed: int | None = None,
    listed_at: Mapping[tuple[VenueId, str], int] | None = None,
) -> Dataset:
    """A dataset over events held in memory (tests, benchmarks), in :func:`order_key` order."""
    ordered = sorted(events, key=order_key)

    def replay(start_ns: int | None, end_ns: int | None) -> Iterator[Event]:
        for event in ordered:
            if start_ns is not None and event.ts_ns < start_ns:
                continue
            if end_ns is not None and event.ts_ns > end_ns:
                break
            yield event

    market_list, pair_list = tuple(markets), tuple(pairs)
    start = ordered[0].ts_ns if ordered else 0
    when = listed_at or {}

    def listed(market: Market) -> int:
        return when.get((market.venue, market.market_id), start)

    return Dataset(
        markets=market_list,
        pairs=pair_list,
        events=replay,
        start_ns=ordered[0].ts_ns if ordered else 0,
        end_ns=ordered[-1].ts_ns if ordered else 0,
        synthetic=synthetic,
        seed=seed,
        market_listings=tuple(sorted(((listed(m), m) for m in market_list), key=_first)),
        pair_listings=tuple(
            sorted(((max(listed(p.a), listed(p.b)), p) for p in pair_list), key=_first)
        ),
    )


_RANK = {BookUpdate: 0, TradePrint: 1, OracleUpdate: 2, Resolution: 3}


def order_key(event: Event) -> tuple[int, int]:
    """Time, then table: rows stamped with the same nanosecond replay books first, then trades,
    oracle ticks and resolutions, however they were read."""
    return event.ts_ns, _RANK[type(event)]


def _first(item: tuple[int, object]) -> int:
    return item[0]


def to_datetime(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / NANOS, UTC)


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float on the way)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NANOS + delta.microseconds * 1_000
