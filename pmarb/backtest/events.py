"""What a replay consumes: markets, matched pairs and a time-ordered stream of recorded events.

The events are the recording format's own (:mod:`pmarb.recording.schema`): prices and sizes in
integer micro-units, and each book row the instrument's full top-N snapshot after the update, so
the book at time t is the last row at or before t. A :class:`Dataset` is either a recording on
disk (:func:`pmarb.backtest.data.load`) or events held in memory (:func:`in_memory`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pmarb.domain.market import Market, VenueId
from pmarb.recording.schema import (
    NANOS,
    BookUpdate,
    FeedHeartbeat,
    OracleUpdate,
    RecordedEvent,
    Resolution,
    TradePrint,
    from_ns,
    to_ns,
)
from pmarb.scanner.detectors import MatchedPair

__all__ = [
    "NANOS",
    "BookUpdate",
    "Dataset",
    "Event",
    "FeedHeartbeat",
    "OracleUpdate",
    "Resolution",
    "TradePrint",
    "in_memory",
    "order_key",
    "to_datetime",
    "to_ns",
]


Event = RecordedEvent


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
    # A synthetic world's injected situations, as its metadata lists them (see
    # :mod:`pmarb.backtest.situations`); empty for a real recording.
    situations: tuple[Mapping[str, Any], ...] = ()

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


_RANK = {BookUpdate: 0, TradePrint: 1, OracleUpdate: 2, Resolution: 3, FeedHeartbeat: 4}


def order_key(event: Event) -> tuple[int, int]:
    """Time, then table: rows stamped with the same nanosecond replay books first, then trades,
    oracle ticks, resolutions and feed heartbeats, however they were read."""
    return event.ts_ns, _RANK[type(event)]


def _first(item: tuple[int, object]) -> int:
    return item[0]


def to_datetime(ts_ns: int) -> datetime:
    """The moment ``ts_ns`` names, to the microsecond (the recording's own conversion)."""
    return from_ns(ts_ns)
