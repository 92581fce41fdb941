"""Reading a recording: metadata, market definitions, pairs, and events in time order.

``open_recording(path)`` checks the metadata and lists the part files; nothing else is loaded
until asked. ``Recording.frame(table, start, end)`` gives one table as a polars DataFrame sorted by
``ts_ns`` (for vectorised consumers); ``Recording.events(start, end)`` yields
:class:`~pmarb.recording.schema.BookUpdate`, ``TradePrint``, ``OracleUpdate`` and ``Resolution``
in time order, one day of data in memory at a time. Within one ``ts_ns``, books come before
trades, trades before oracle ticks, ticks before resolutions, and each table keeps the order it
was written in. Bounds are inclusive and may be datetimes or integer nanoseconds.

Only complete ``part-*.parquet`` files are read (a recorder's hidden temporary files are not).
A part that is not readable Parquet or lacks a column of its table raises
:class:`~pmarb.recording.schema.RecordingError` naming the file.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pmarb.domain.market import Market, VenueId
from pmarb.recording.schema import (
    BOOKS,
    FEEDS,
    FORMAT,
    MARKETS,
    MATCHES,
    ORACLE,
    PARTITIONED,
    RESOLUTIONS,
    SCHEMAS,
    TRADES,
    VERSION,
    BookUpdate,
    FeedHeartbeat,
    OracleUpdate,
    RecordedEvent,
    RecordingError,
    Resolution,
    TradePrint,
    day_of,
    from_ns,
    market_from_json,
    pair_from_json,
    parse_outcome,
    to_ns,
)
from pmarb.recording.writer import METADATA_FILE, PART_PATTERN, RecordingMetadata
from pmarb.scanner.detectors import MatchedPair

Bound = datetime | int | None

_EVENT_TABLES = (BOOKS, TRADES, ORACLE, RESOLUTIONS, FEEDS)


def _ns(bound: Bound) -> int | None:
    if bound is None or isinstance(bound, int):
        return bound
    return to_ns(bound)


def _parse_time(document: dict[str, Any], key: str, path: Path) -> datetime | None:
    value = document.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordingError(f"{path}: {key} is not an ISO 8601 time: {value!r}") from None


def read_metadata(path: Path) -> RecordingMetadata:
    meta_path = path / METADATA_FILE
    if not path.is_dir():
        raise RecordingError(f"{path}: no such recording directory")
    try:
        document = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise RecordingError(f"{path}: not a recording (no {METADATA_FILE})") from None
    except (OSError, ValueError) as e:
        raise RecordingError(f"{meta_path}: unreadable metadata ({e})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RecordingError(f"{meta_path}: not a {FORMAT} metadata document")
    if document.get("version") != VERSION:
        raise RecordingError(
            f"{meta_path}: format version {document.get('version')!r}; this pmarb reads {VERSION}"
        )
    known = {"format", "version", "synthetic", "seed", "created_at", "start", "end", "sources"}
    known |= {"notes", "top_levels"}
    return RecordingMetadata(
        synthetic=bool(document.get("synthetic", False)),
        seed=document.get("seed"),
        created_at=_parse_time(document, "created_at", meta_path),
        start=_parse_time(document, "start", meta_path),
        end=_parse_time(document, "end", meta_path),
        sources=tuple(document.get("sources") or ()),
        notes=str(document.get("notes") or ""),
        top_levels=int(document.get("top_levels") or 10),
        extra={k: v for k, v in document.items() if k not in known},
    )


@dataclass(frozen=True, slots=True)
class Part:
    table: str
    source: str
    day: date | None
    path: Path


def list_parts(root: Path, table: str) -> list[Part]:
    """Complete part files of ``table``, in (source, day, part number) order."""
    base = root / table
    if not base.is_dir():
        return []
    parts: list[tuple[tuple[str, str, int], Part]] = []
    if table in PARTITIONED:
        for source_dir in base.iterdir():
            if not source_dir.is_dir() or not source_dir.name.startswith("source="):
                continue
            source = source_dir.name.removeprefix("source=")
            for date_dir in source_dir.iterdir():
                if not date_dir.is_dir() or not date_dir.name.startswith("date="):
                    continue
                try:
                    day = date.fromisoformat(date_dir.name.removeprefix("date="))
                except ValueError:
                    raise RecordingError(f"{date_dir}: not a date=YYYY-MM-DD partition") from None
                for file in date_dir.iterdir():
                    match = PART_PATTERN.match(file.name)
                    if match:
                        key = (source, day.isoformat(), int(match.group(1)))
                        parts.append((key, Part(table, source, day, file)))
    else:
        for file in base.iterdir():
            match = PART_PATTERN.match(file.name)
            if match:
                parts.append((("", "", int(match.group(1))), Part(table, "", None, file)))
    return [part for _, part in sorted(parts, key=lambda item: item[0])]


def read_part(part: Part) -> pl.DataFrame:
    """One part file as its table's columns, or a RecordingError naming the file."""
    schema = SCHEMAS[part.table]
    try:
        frame = pl.read_parquet(part.path, hive_partitioning=False)
    except Exception as e:
        raise RecordingError(
            f"{part.path}: not a readable Parquet part ({type(e).__name__}: {e}); "
            "a recorder writes parts whole, so this file was damaged or copied in part"
        ) from None
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise RecordingError(
            f"{part.path}: a {part.table} part lacks column(s) {', '.join(missing)}"
        )
    try:
        return frame.select(pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items())
    except Exception as e:
        raise RecordingError(
            f"{part.path}: columns of the wrong type for {part.table}: {e}"
        ) from None


class Recording:
    """An opened recording. ``markets`` holds each market's latest definition, ``pairs`` each
    pair's; ``market_history`` every definition with the time it was seen (a backtest that must
    not see the future uses that)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        self._parts = {table: list_parts(self.path, table) for table in SCHEMAS}
        self.market_history: list[tuple[int, Market]] = []
        latest: dict[tuple[VenueId, str], Market] = {}
        for ts_ns, record in self._records(MARKETS):
            market = self._decode(market_from_json, record, MARKETS)
            self.market_history.append((ts_ns, market))
            latest[(market.venue, market.market_id)] = market
        self.markets: list[Market] = list(latest.values())
        self.pair_history: list[tuple[int, MatchedPair]] = []
        pairs: dict[int, MatchedPair] = {}
        for ts_ns, record in self._records(MATCHES):
            pair = self._decode(pair_from_json, record, MATCHES)
            self.pair_history.append((ts_ns, pair))
            pairs[pair.match_id] = pair
        self.pairs: list[MatchedPair] = list(pairs.values())

    def _records(self, table: str) -> list[tuple[int, str]]:
        frame = self.frame(table)
        return list(zip(frame["ts_ns"].to_list(), frame["record"].to_list(), strict=True))

    def _decode(self, decode: Any, record: str, table: str) -> Any:
        try:
            return decode(record)
        except Exception as e:
            raise RecordingError(f"{self.path / table}: a record does not decode: {e}") from None

    # -- what is there ---------------------------------------------------------------------

    def parts(self, table: str) -> list[Part]:
        if table not in SCHEMAS:
            raise RecordingError(f"no table {table!r}; tables: {', '.join(SCHEMAS)}")
        return list(self._parts[table])

    def refresh(self) -> None:
        """Pick up part files written since opening (a recorder may still be running)."""
        self._parts = {table: list_parts(self.path, table) for table in SCHEMAS}

    @property
    def days(self) -> list[date]:
        days = {p.day for t in PARTITIONED for p in self._parts[t] if p.day is not None}
        for ts_ns in self.frame(RESOLUTIONS)["ts_ns"].to_list():
            days.add(day_of(ts_ns))
        return sorted(days)

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """First and last ``ts_ns`` of any event (None, None for an empty recording)."""
        first: int | None = None
        last: int | None = None
        for table in _EVENT_TABLES:
            frame = self.frame(table)
            if frame.height:
                low, high = frame["ts_ns"].min(), frame["ts_ns"].max()
                assert isinstance(low, int) and isinstance(high, int)
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
        return (
            None if first is None else from_ns(first),
            None if last is None else from_ns(last),
        )

    # -- frames ----------------------------------------------------------------------------

    def frame(
        self, table: str, start: Bound = None, end: Bound = None, *, source: str | None = None
    ) -> pl.DataFrame:
        """``table``'s rows with ``start <= ts_ns <= end``, sorted by ``ts_ns`` (stable)."""
        lo, hi = _ns(start), _ns(end)
        lo_day = None if lo is None else day_of(lo)
        hi_day = None if hi is None else day_of(hi)
        frames = [
            read_part(part)
            for part in self.parts(table)
            if (source is None or part.source == source)
            and (part.day is None or lo_day is None or part.day >= lo_day)
            and (part.day is None or hi_day is None or part.day <= hi_day)
        ]
        if not frames:
            return pl.DataFrame(schema=SCHEMAS[table])
        frame = pl.concat(frames, how="vertical")
        if lo is not None:
            frame = frame.filter(pl.col("ts_ns") >= lo)
        if hi is not None:
            frame = frame.filter(pl.col("ts_ns") <= hi)
        return frame.sort("ts_ns", maintain_order=True)

    # -- events ----------------------------------------------------------------------------

    def events(self, start: Bound = None, end: Bound = None) -> Iterator[RecordedEvent]:
        """Every book update, trade, oracle tick and resolution in time order, a day at a time."""
        lo, hi = _ns(start), _ns(end)
        resolutions = self.frame(RESOLUTIONS, lo, hi)
        for day in self.days:
            if (lo is not None and day < day_of(lo)) or (hi is not None and day > day_of(hi)):
                continue
            day_start = to_ns(datetime(day.year, day.month, day.day, tzinfo=UTC))
            day_end = day_start + 86_400 * 1_000_000_000 - 1
            d_lo = day_start if lo is None else max(lo, day_start)
            d_hi = day_end if hi is None else min(hi, day_end)
            streams: list[Iterator[tuple[int, int, RecordedEvent]]] = [
                _books(self.frame(BOOKS, d_lo, d_hi)),
                _trades(self.frame(TRADES, d_lo, d_hi)),
                _oracle(self.frame(ORACLE, d_lo, d_hi)),
                _resolutions(
                    resolutions.filter((pl.col("ts_ns") >= d_lo) & (pl.col("ts_ns") <= d_hi))
                ),
                _heartbeats(self.frame(FEEDS, d_lo, d_hi)),
            ]
            for _, _, event in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
                yield event


def _books(frame: pl.DataFrame) -> Iterator[tuple[int, int, RecordedEvent]]:
    for ts, venue, instrument, bid_px, bid_sz, ask_px, ask_sz in frame.iter_rows():
        yield (
            ts,
            0,
            BookUpdate(
                ts,
                VenueId(venue),
                instrument,
                tuple(bid_px),
                tuple(bid_sz),
                tuple(ask_px),
                tuple(ask_sz),
            ),
        )


def _trades(frame: pl.DataFrame) -> Iterator[tuple[int, int, RecordedEvent]]:
    for ts, venue, instrument, price, size, side in frame.iter_rows():
        yield ts, 1, TradePrint(ts, VenueId(venue), instrument, price, size, side)


def _oracle(frame: pl.DataFrame) -> Iterator[tuple[int, int, RecordedEvent]]:
    for ts, source, symbol, kind, value, source_ts, window in frame.iter_rows():
        yield ts, 2, OracleUpdate(ts, source, symbol, kind, value, source_ts, window)


def _resolutions(frame: pl.DataFrame) -> Iterator[tuple[int, int, RecordedEvent]]:
    for ts, venue, market_id, outcome in frame.iter_rows():
        yield ts, 3, Resolution(ts, VenueId(venue), market_id, parse_outcome(outcome))


def _heartbeats(frame: pl.DataFrame) -> Iterator[tuple[int, int, RecordedEvent]]:
    for ts, venue in frame.iter_rows():
        yield ts, 4, FeedHeartbeat(ts, VenueId(venue))


def open_recording(path: Path | str) -> Recording:
    """Open the recording at ``path`` (RecordingError when it is not one)."""
    return Recording(Path(path))
