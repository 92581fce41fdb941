"""Reading a recording directory (format v1) into a :class:`~pmarb.backtest.events.Dataset`.

Interim reader, kept to the published contract (``metadata.json``, ``markets/``, ``matches/``,
``books/``, ``oracle/``, ``resolutions/`` Parquet parts) until the recorder's own reader lands;
the engine only depends on the Dataset, so swapping the reader changes nothing downstream.
Bad input fails with a message naming the file and what is wrong; nothing is skipped silently.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import TypeAdapter, ValidationError

from pmarb.backtest.events import (
    BookUpdate,
    Dataset,
    Event,
    OracleUpdate,
    Resolution,
    TradePrint,
    order_key,
    to_datetime,
)
from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.scanner.detectors import MatchedPair

FORMAT = "pmarb-recording"
_MARKET = TypeAdapter(Market)
_PAIR = TypeAdapter(MatchedPair)


class RecordingError(ValueError):
    """The directory is not a readable recording."""


def _parts(root: Path, table: str) -> list[Path]:
    return sorted((root / table).rglob("*.parquet")) if (root / table).is_dir() else []


def _frame(root: Path, table: str) -> pl.DataFrame | None:
    parts = _parts(root, table)
    if not parts:
        return None
    try:
        frame = pl.concat([pl.read_parquet(part) for part in parts], how="diagonal_relaxed")
    except Exception as e:
        raise RecordingError(f"{root / table}: cannot read Parquet parts: {e}") from e
    return frame.sort("ts_ns", maintain_order=True)


def _require(frame: pl.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecordingError(f"{table}: missing columns {', '.join(missing)}")


def load(path: str | Path) -> Dataset:
    root = Path(path)
    meta_file = root / "metadata.json"
    if not meta_file.is_file():
        raise RecordingError(f"{root}: no metadata.json (is this a pmarb recording?)")
    try:
        meta: dict[str, Any] = json.loads(meta_file.read_text())
    except json.JSONDecodeError as e:
        raise RecordingError(f"{meta_file}: not JSON ({e})") from e
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise RecordingError(
            f"{meta_file}: format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"this reader knows {FORMAT!r} version 1"
        )
    market_listings = _markets(root)
    pair_listings = _pairs(root)
    tables = {
        "books": _frame(root, "books"),
        "trades": _frame(root, "trades"),
        "oracle": _frame(root, "oracle"),
        "resolutions": _frame(root, "resolutions"),
    }
    required = {
        "books": ("ts_ns", "venue", "instrument_id", "bid_px", "bid_sz", "ask_px", "ask_sz"),
        "trades": ("ts_ns", "venue", "instrument_id", "price_micros", "size_micros"),
        "oracle": ("ts_ns", "source", "symbol", "kind", "value_micros"),
        "resolutions": ("ts_ns", "venue", "market_id", "outcome"),
    }
    for name, frame in tables.items():
        if frame is not None:
            _require(frame, name, required[name])
    stamps = [_int(f["ts_ns"].min()) for f in tables.values() if f is not None and f.height]
    ends = [_int(f["ts_ns"].max()) for f in tables.values() if f is not None and f.height]
    if not stamps:
        raise RecordingError(f"{root}: the recording holds no events")

    def replay(start_ns: int | None, end_ns: int | None) -> Iterator[Event]:
        streams = []
        for name, frame in tables.items():
            if frame is None:
                continue
            if start_ns is not None:
                frame = frame.filter(pl.col("ts_ns") >= start_ns)
            if end_ns is not None:
                frame = frame.filter(pl.col("ts_ns") <= end_ns)
            streams.append(_rows(name, frame))
        return heapq.merge(*streams, key=order_key)

    return Dataset(
        markets=tuple(dict.fromkeys(m for _, m in market_listings)),
        pairs=tuple(dict.fromkeys(p for _, p in pair_listings)),
        events=replay,
        start_ns=min(stamps),
        end_ns=max(ends),
        synthetic=bool(meta.get("synthetic", False)),
        seed=meta.get("seed"),
        market_listings=market_listings,
        pair_listings=pair_listings,
    )


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise RecordingError(f"ts_ns must be integer nanoseconds, found {value!r}")
    return value


def _rows(table: str, frame: pl.DataFrame) -> Iterator[Event]:
    if table == "books":
        for ts, venue, instrument, bid_px, bid_sz, ask_px, ask_sz in frame.select(
            "ts_ns", "venue", "instrument_id", "bid_px", "bid_sz", "ask_px", "ask_sz"
        ).iter_rows():
            yield BookUpdate(
                ts,
                VenueId(venue),
                instrument,
                tuple(bid_px or ()),
                tuple(bid_sz or ()),
                tuple(ask_px or ()),
                tuple(ask_sz or ()),
            )
    elif table == "trades":
        side = "taker_side" if "taker_side" in frame.columns else None
        columns = ["ts_ns", "venue", "instrument_id", "price_micros", "size_micros"]
        for row in frame.select(*columns, *([side] if side else [])).iter_rows():
            yield TradePrint(
                row[0], VenueId(row[1]), row[2], row[3], row[4], row[5] if side else ""
            )
    elif table == "oracle":
        for ts, source, symbol, kind, value in frame.select(
            "ts_ns", "source", "symbol", "kind", "value_micros"
        ).iter_rows():
            yield OracleUpdate(ts, source, symbol, kind, value)
    else:
        for ts, venue, market_id, outcome in frame.select(
            "ts_ns", "venue", "market_id", "outcome"
        ).iter_rows():
            yield Resolution(ts, VenueId(venue), market_id, Outcome(str(outcome).lower()))


def _markets(root: Path) -> tuple[tuple[int, Market], ...]:
    """Each market definition with the time it was (re)discovered."""
    frame = _frame(root, "markets")
    if frame is None:
        raise RecordingError(f"{root}: no markets/ parts: nothing to scan")
    _require(frame, "markets", ("ts_ns", "record"))
    found = []
    for n, (ts, record) in enumerate(frame.select("ts_ns", "record").iter_rows()):
        try:
            found.append((int(ts), _MARKET.validate_json(record)))
        except ValidationError as e:
            raise RecordingError(f"markets row {n}: not a Market record: {e}") from e
    return tuple(found)


def _pairs(root: Path) -> tuple[tuple[int, MatchedPair], ...]:
    """Each tradable pair with the time it became known."""
    frame = _frame(root, "matches")
    if frame is None:
        return ()
    column = "record" if "record" in frame.columns else frame.columns[-1]
    found = []
    for n, (ts, record) in enumerate(frame.select("ts_ns", column).iter_rows()):
        try:
            found.append((int(ts), _PAIR.validate_json(record)))
        except ValidationError as e:
            raise RecordingError(f"matches row {n}: not a matched pair: {e}") from e
    return tuple(found)


def write(dataset: Dataset, path: str | Path, *, notes: str = "") -> Path:
    """Write a dataset in the recording format (single parts; for tests and synthetic data)."""
    root = Path(path)
    for table in ("markets", "matches", "books", "trades", "oracle", "resolutions"):
        (root / table).mkdir(parents=True, exist_ok=True)
    start = dataset.start_ns
    listings = dataset.market_listings or tuple((start, m) for m in dataset.markets)
    pair_listings = dataset.pair_listings or tuple((start, p) for p in dataset.pairs)
    pl.DataFrame(
        {
            "ts_ns": [ts for ts, _ in listings],
            "venue": [m.venue.value for _, m in listings],
            "market_id": [m.market_id for _, m in listings],
            "record": [_MARKET.dump_json(m).decode() for _, m in listings],
        },
        schema={"ts_ns": pl.Int64, "venue": pl.Utf8, "market_id": pl.Utf8, "record": pl.Utf8},
    ).write_parquet(root / "markets" / "part-0.parquet")
    pl.DataFrame(
        {
            "ts_ns": [ts for ts, _ in pair_listings],
            "record": [_PAIR.dump_json(p).decode() for _, p in pair_listings],
        },
        schema={"ts_ns": pl.Int64, "record": pl.Utf8},
    ).write_parquet(root / "matches" / "part-0.parquet")
    books: dict[str, list[Any]] = {k: [] for k in BookUpdate.__slots__}
    oracle: dict[str, list[Any]] = {k: [] for k in OracleUpdate.__slots__}
    resolutions: dict[str, list[Any]] = {k: [] for k in Resolution.__slots__}
    for event in dataset.replay():
        if isinstance(event, BookUpdate):
            books["ts_ns"].append(event.ts_ns)
            books["venue"].append(event.venue.value)
            books["instrument_id"].append(event.instrument_id)
            for k in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
                books[k].append(list(getattr(event, k)))
        elif isinstance(event, OracleUpdate):
            for k in OracleUpdate.__slots__:
                oracle[k].append(getattr(event, k))
        elif isinstance(event, Resolution):
            resolutions["ts_ns"].append(event.ts_ns)
            resolutions["venue"].append(event.venue.value)
            resolutions["market_id"].append(event.market_id)
            resolutions["outcome"].append(event.outcome.value.upper())
    levels = pl.List(pl.Int64)
    frame = pl.DataFrame(
        books,
        schema={
            "ts_ns": pl.Int64,
            "venue": pl.Utf8,
            "instrument_id": pl.Utf8,
            "bid_px": levels,
            "bid_sz": levels,
            "ask_px": levels,
            "ask_sz": levels,
        },
    )
    for (venue, day), part in frame.with_columns(
        pl.from_epoch("ts_ns", time_unit="ns").dt.date().alias("date")
    ).group_by("venue", "date", maintain_order=True):
        folder = root / "books" / f"source={venue}" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        part.drop("date").write_parquet(folder / "part-0.parquet")
    pl.DataFrame(
        oracle,
        schema={
            "ts_ns": pl.Int64,
            "source": pl.Utf8,
            "symbol": pl.Utf8,
            "kind": pl.Utf8,
            "value_micros": pl.Int64,
        },
    ).write_parquet(root / "oracle" / "part-0.parquet")
    pl.DataFrame(
        resolutions,
        schema={"ts_ns": pl.Int64, "venue": pl.Utf8, "market_id": pl.Utf8, "outcome": pl.Utf8},
    ).write_parquet(root / "resolutions" / "part-0.parquet")
    (root / "metadata.json").write_text(
        json.dumps(
            {
                "format": FORMAT,
                "version": 1,
                "synthetic": dataset.synthetic,
                "seed": dataset.seed,
                "created_at": to_datetime(start).isoformat(),
                "start": to_datetime(start).isoformat(),
                "end": to_datetime(dataset.end_ns).isoformat(),
                "sources": ["pmarb.backtest.synthetic"] if dataset.synthetic else [],
                "notes": notes,
            },
            indent=2,
        )
    )
    return root
