"""Writing a recording: rows are appended to bounded in-memory buffers and flushed as part files.

Appending is the hot path (one tuple appended to a list, one counter bumped). A flush writes one
new Parquet part per non-empty partition (table, source, day), each under a hidden temporary name
then renamed into place, so the recording is readable while it grows and a crash leaves at worst a
hidden temporary file, never a truncated part. A flush happens when the buffers together reach
``max_buffered_rows`` (so memory is bounded whatever the rate), when ``flush_seconds`` have passed
since the last one (checked on append and by :meth:`RecordingWriter.flush_if_due`), and on close.

Part names are sequence numbers continuing from whatever the directory already holds, so a
recorder restarted on the same path appends and never overwrites; the same rows in the same order
give byte-identical files (synthetic scenarios rely on it: pass ``flush_seconds=None``).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import polars as pl

from pmarb.domain.market import Market, VenueId
from pmarb.domain.oracle import OracleTick
from pmarb.domain.parity import Outcome
from pmarb.recording.schema import (
    BOOKS,
    FEEDS,
    FORMAT,
    MARKETS,
    MATCHES,
    NANOS,
    ORACLE,
    PARTITIONED,
    RESOLUTIONS,
    SCHEMAS,
    TABLES,
    TRADES,
    VERSION,
    RecordingError,
    day_of,
    market_to_json,
    outcome_label,
    pair_to_json,
    to_micros,
    to_ns,
)
from pmarb.scanner.detectors import MatchedPair

METADATA_FILE = "metadata.json"
PART_PATTERN = re.compile(r"^part-(\d+)\.parquet$")
_DAY_NS = 86_400 * NANOS

PartitionKey = tuple[str, str, int]  # table, source ("" for flat tables), day number


@dataclass(frozen=True, slots=True)
class RecordingMetadata:
    """What ``metadata.json`` holds. Times are ISO 8601 UTC."""

    synthetic: bool = False
    seed: int | None = None
    created_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""
    top_levels: int = 10
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.astimezone(UTC).isoformat()

        return {
            "format": FORMAT,
            "version": VERSION,
            "synthetic": self.synthetic,
            "seed": self.seed,
            "created_at": iso(self.created_at),
            "start": iso(self.start),
            "end": iso(self.end),
            "sources": list(self.sources),
            "notes": self.notes,
            "top_levels": self.top_levels,
            **self.extra,
        }


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)


def existing_part_numbers(root: Path) -> Iterable[int]:
    for _, _, files in os.walk(root):
        for name in files:
            match = PART_PATTERN.match(name)
            if match:
                yield int(match.group(1))


class RecordingWriter:
    """Append rows; they reach disk in whole part files. Use as a context manager or call
    :meth:`open` and :meth:`close`."""

    def __init__(
        self,
        path: Path,
        *,
        metadata: RecordingMetadata | None = None,
        max_buffered_rows: int = 50_000,
        flush_seconds: float | None = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_buffered_rows < 1:
            raise ValueError(f"max_buffered_rows must be at least 1, got {max_buffered_rows}")
        if flush_seconds is not None and flush_seconds <= 0:
            raise ValueError(f"flush_seconds must be positive, got {flush_seconds}")
        self.path = Path(path)
        self.metadata = metadata or RecordingMetadata(created_at=datetime.now(UTC))
        self.top_levels = self.metadata.top_levels
        self.max_buffered_rows = max_buffered_rows
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._buffers: dict[PartitionKey, list[tuple[Any, ...]]] = {}
        self._days: dict[int, str] = {}
        self._next_part = 1
        self._parts_lock = threading.Lock()
        self._last_flush = clock()
        self._open = False
        self.buffered_rows = 0
        self.peak_buffered_rows = 0
        self.rows_written = 0
        self.parts_written = 0
        self.lost_rows = 0
        self.rows_by_table: dict[str, int] = dict.fromkeys(TABLES, 0)

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> Self:
        meta_path = self.path / METADATA_FILE
        if self.path.exists() and not self.path.is_dir():
            raise RecordingError(f"{self.path} exists and is not a directory")
        if meta_path.exists():
            try:
                existing = json.loads(meta_path.read_text())
            except (OSError, ValueError) as e:
                raise RecordingError(f"{meta_path}: unreadable metadata ({e})") from None
            if existing.get("format") != FORMAT:
                raise RecordingError(f"{self.path} holds something other than a pmarb recording")
        self.path.mkdir(parents=True, exist_ok=True)
        self._next_part = max(existing_part_numbers(self.path), default=0) + 1
        write_json_atomic(meta_path, self.metadata.to_json())
        self._open = True
        self._last_flush = self._clock()
        return self

    def close(self, end: datetime | None = None) -> None:
        if not self._open:
            return
        try:
            self.flush()
        finally:
            self._open = False
            self.metadata = replace(
                self.metadata, end=end or self.metadata.end or datetime.now(UTC)
            )
            write_json_atomic(self.path / METADATA_FILE, self.metadata.to_json())

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- appending (the hot path) -----------------------------------------------------------

    def _append(self, key: PartitionKey, row: tuple[Any, ...]) -> None:
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = []
        buffer.append(row)
        buffered = self.buffered_rows = self.buffered_rows + 1
        if buffered > self.peak_buffered_rows:
            self.peak_buffered_rows = buffered
        if buffered >= self.max_buffered_rows or (
            self.flush_seconds is not None
            and self._clock() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def book(
        self,
        ts_ns: int,
        venue: VenueId | str,
        instrument_id: str,
        bid_px: Sequence[int],
        bid_sz: Sequence[int],
        ask_px: Sequence[int],
        ask_sz: Sequence[int],
    ) -> None:
        """The instrument's top levels per side after an update, in micro-units, best first."""
        source = venue if type(venue) is str else str(venue)
        self._append(
            (BOOKS, source, ts_ns // _DAY_NS),
            (ts_ns, source, instrument_id, bid_px, bid_sz, ask_px, ask_sz),
        )

    def trade(
        self,
        ts_ns: int,
        venue: VenueId | str,
        instrument_id: str,
        price_micros: int,
        size_micros: int,
        taker_side: str = "",
    ) -> None:
        self._append(
            (TRADES, str(venue), ts_ns // _DAY_NS),
            (ts_ns, str(venue), instrument_id, price_micros, size_micros, taker_side),
        )

    def oracle(
        self,
        ts_ns: int,
        source: str,
        symbol: str,
        kind: str,
        value_micros: int,
        source_ts_ns: int | None = None,
        window_seconds: int | None = None,
    ) -> None:
        self._append(
            (ORACLE, source, ts_ns // _DAY_NS),
            (ts_ns, source, symbol, kind, value_micros, source_ts_ns, window_seconds),
        )

    def oracle_tick(self, tick: OracleTick) -> None:
        """A domain tick, stamped with its receive time (``source_time`` kept alongside)."""
        self.oracle(
            to_ns(tick.received_at),
            str(tick.source),
            tick.symbol,
            str(tick.kind),
            to_micros(tick.value),
            to_ns(tick.source_time),
            tick.window_seconds,
        )

    def market(self, ts_ns: int, market: Market) -> None:
        """A market definition as seen at ``ts_ns`` (record it again when it changes)."""
        self._append(
            (MARKETS, "", 0), (ts_ns, str(market.venue), market.market_id, market_to_json(market))
        )

    def pair(self, ts_ns: int, pair: MatchedPair) -> None:
        """A cross-venue pair known tradable at ``ts_ns``."""
        self._append((MATCHES, "", 0), (ts_ns, pair.match_id, pair_to_json(pair)))

    def resolution(
        self, ts_ns: int, venue: VenueId | str, market_id: str, outcome: Outcome
    ) -> None:
        """The moment ``market_id``'s outcome became observable."""
        self._append((RESOLUTIONS, "", 0), (ts_ns, str(venue), market_id, outcome_label(outcome)))

    def heartbeat(self, ts_ns: int, venue: VenueId | str) -> None:
        """The venue's feed was alive (had delivered data) at ``ts_ns``."""
        source = str(venue)
        self._append((FEEDS, source, ts_ns // _DAY_NS), (ts_ns, source))

    # -- flushing ----------------------------------------------------------------------------

    def flush_if_due(self) -> None:
        if (
            self.flush_seconds is not None
            and self._clock() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write every buffered row, one new part file per partition. A partition that cannot
        be written is counted in ``lost_rows`` and reported; the others are still written."""
        self.write_batch(self.take())

    def take(self) -> dict[PartitionKey, list[tuple[Any, ...]]]:
        """Hand over the buffered rows (the buffers start empty again). With
        :meth:`write_batch` this splits a flush: take on the thread that appends, write on
        another (the live service does, so Parquet encoding never stalls its event loop)."""
        if not self._open:
            raise RecordingError(f"recording {self.path} is not open for writing")
        buffers, self._buffers = self._buffers, {}
        self.buffered_rows = 0
        self._last_flush = self._clock()
        return buffers

    def take_if_due(self) -> dict[PartitionKey, list[tuple[Any, ...]]]:
        """:meth:`take` when ``flush_seconds`` have passed since the last flush, else nothing."""
        if (
            self.flush_seconds is not None
            and self._clock() - self._last_flush >= self.flush_seconds
        ):
            return self.take()
        return {}

    def write_batch(self, buffers: dict[PartitionKey, list[tuple[Any, ...]]]) -> None:
        """Write taken rows as part files; safe to run beside appends and other writes."""
        failures: list[str] = []
        for key in sorted(buffers):
            rows = buffers[key]
            try:
                self._write_part(key, rows)
            except Exception as e:
                self.lost_rows += len(rows)
                failures.append(f"{key[0]}/{key[1] or '-'}: {e}")
        if failures:
            raise RecordingError(
                f"could not write part files under {self.path}: " + "; ".join(failures)
            )

    def _directory(self, key: PartitionKey) -> Path:
        table, source, day = key
        if table not in PARTITIONED:
            return self.path / table
        day_text = self._days.get(day)
        if day_text is None:
            day_text = self._days[day] = day_of(day * _DAY_NS).isoformat()
        return self.path / table / f"source={source}" / f"date={day_text}"

    def _write_part(self, key: PartitionKey, rows: list[tuple[Any, ...]]) -> None:
        table = key[0]
        directory = self._directory(key)
        directory.mkdir(parents=True, exist_ok=True)
        with self._parts_lock:  # parts may be written from two threads at once
            name = f"part-{self._next_part:08d}.parquet"
            self._next_part += 1
        frame = _frame(table, rows)
        temporary = directory / f".{name}.tmp"
        frame.write_parquet(temporary, compression="zstd", statistics=True)
        temporary.replace(directory / name)
        with self._parts_lock:
            self.parts_written += 1
            self.rows_written += len(rows)
            self.rows_by_table[table] += len(rows)


def _frame(table: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows as a DataFrame of the table's schema, built column by column (list columns from
    flat values: building them from Python lists row by row costs ~15 µs a row)."""
    columns = list(zip(*rows, strict=True))
    series = []
    for (name, dtype), values in zip(SCHEMAS[table].items(), columns, strict=True):
        if isinstance(dtype, pl.List):
            series.append(_list_column(name, values))
        else:
            series.append(pl.Series(name, values, dtype=dtype))
    return pl.DataFrame(series)


def _list_column(name: str, values: tuple[Sequence[int], ...]) -> pl.Series:
    rows = len(values)
    flat = [item for value in values for item in value]
    owner = [index for index, value in enumerate(values) for _ in value]
    grouped = (
        pl.DataFrame(
            [pl.Series("row", owner, dtype=pl.Int64), pl.Series(name, flat, dtype=pl.Int64)]
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col(name))
    )
    empty = pl.lit([], dtype=pl.List(pl.Int64))
    return (
        pl.DataFrame([pl.Series("row", range(rows), dtype=pl.Int64)])
        .join(grouped, on="row", how="left", maintain_order="left")
        .select(pl.col(name).fill_null(empty))
        .to_series()
    )
