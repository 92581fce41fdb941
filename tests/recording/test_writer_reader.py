"""The recording format end to end: exact round trips, reading while writing, bounded buffers,
and clear errors for parts that are not what they claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.oracle import OracleSource, OracleTick, TickKind
from pmarb.domain.parity import Outcome
from pmarb.recording.reader import open_recording
from pmarb.recording.schema import (
    BookUpdate,
    OracleUpdate,
    RecordingError,
    Resolution,
    TradePrint,
    from_micros,
    from_ns,
    to_micros,
    to_ns,
)
from pmarb.recording.writer import RecordingMetadata, RecordingWriter
from pmarb.scanner.detectors import MatchedPair

T0 = datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC)
NS0 = to_ns(T0)


def kalshi_market(ticker: str = "KXBTC-26MAR01-B80000") -> Market:
    return Market(
        venue=VenueId.KALSHI,
        market_id=ticker,
        title="Bitcoin above 80,000?",
        yes_instrument_id=f"{ticker}:yes",
        no_instrument_id=f"{ticker}:no",
        status=MarketStatus.OPEN,
        close_time=T0 + timedelta(hours=1),
        tick_size=Decimal("0.01"),
        fees=FeeSchedule(Decimal("0.07"), rounding_step=Decimal("0.01")),
        strike_type="greater",
        floor_strike=Decimal("80000.50"),
    )


def poly_market() -> Market:
    return Market(
        venue=VenueId.POLYMARKET,
        market_id="0xabc",
        title="Bitcoin above 80,000?",
        yes_instrument_id="111",
        no_instrument_id="222",
        tick_size=Decimal("0.001"),
        neg_risk=True,
        event_id="ev-1",
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    bids = [(Decimal("0.53"), Decimal("120.5")), (Decimal("0.521"), Decimal("0.000001"))]
    asks = [(Decimal("0.55"), Decimal("10"))]
    tick = OracleTick(
        source=OracleSource.BINANCE,
        symbol="BTCUSDT",
        kind=TickKind.TRADE,
        value=Decimal("80123.45"),
        source_time=T0 - timedelta(milliseconds=3),
        received_at=T0,
    )
    pair = MatchedPair(7, kalshi_market(), poly_market(), inverted=False)
    with RecordingWriter(tmp_path / "rec") as writer:
        writer.market(NS0, kalshi_market())
        writer.market(NS0, poly_market())
        writer.pair(NS0, pair)
        writer.book(
            NS0 + 1,
            VenueId.KALSHI,
            "KXBTC-26MAR01-B80000:yes",
            [to_micros(p) for p, _ in bids],
            [to_micros(s) for _, s in bids],
            [to_micros(p) for p, _ in asks],
            [to_micros(s) for _, s in asks],
        )
        writer.trade(
            NS0 + 2, VenueId.POLYMARKET, "111", to_micros(Decimal("0.54")), 5_000_000, "buy"
        )
        writer.oracle_tick(tick)
        writer.resolution(NS0 + 3_000_000_000, VenueId.KALSHI, "KXBTC-26MAR01-B80000", Outcome.NO)

    recording = open_recording(tmp_path / "rec")
    assert recording.markets == [kalshi_market(), poly_market()]
    assert recording.pairs == [pair]
    events = list(recording.events())
    assert [type(e) for e in events] == [OracleUpdate, BookUpdate, TradePrint, Resolution]
    book = events[1]
    assert isinstance(book, BookUpdate)
    assert [
        (from_micros(p), from_micros(s)) for p, s in zip(book.bid_px, book.bid_sz, strict=True)
    ] == bids
    assert [
        (from_micros(p), from_micros(s)) for p, s in zip(book.ask_px, book.ask_sz, strict=True)
    ] == asks
    oracle = events[0]
    assert isinstance(oracle, OracleUpdate)
    assert from_micros(oracle.value_micros) == tick.value
    assert oracle.source_ts_ns is not None and from_ns(oracle.source_ts_ns) == tick.source_time
    assert from_ns(oracle.ts_ns) == tick.received_at
    resolution = events[3]
    assert resolution == Resolution(
        NS0 + 3_000_000_000, VenueId.KALSHI, "KXBTC-26MAR01-B80000", Outcome.NO
    )
    # The resolution falls on the next day: partitions by date, and still in order.
    assert [d.isoformat() for d in recording.days] == ["2026-03-01", "2026-03-02"]


def test_money_with_more_than_six_decimals_is_refused_not_rounded() -> None:
    assert to_micros(Decimal("0.123456")) == 123_456
    with pytest.raises(ValueError, match="more than six decimals"):
        to_micros(Decimal("0.1234567"))
    assert str(from_micros(530_000)) == "0.53"
    assert str(from_micros(2_000_000)) == "2"


def test_readable_while_the_writer_is_open(tmp_path: Path) -> None:
    path = tmp_path / "live"
    writer = RecordingWriter(path, max_buffered_rows=10, flush_seconds=None).open()
    for i in range(25):
        writer.book(NS0 + i, "polymarket", "111", [500_000], [1_000_000], [510_000], [i + 1])
    recording = open_recording(path)
    assert recording.metadata.end is None  # still recording
    assert recording.frame("books").height == 20  # two full buffers flushed, five pending
    writer.flush()
    recording.refresh()
    assert recording.frame("books")["ask_sz"].to_list()[-1] == [25]
    writer.close()
    assert open_recording(path).metadata.end is not None


def test_buffer_never_exceeds_its_limit(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path / "bounded", max_buffered_rows=64, flush_seconds=None)
    with writer:
        for i in range(5_000):
            venue = "kalshi" if i % 2 else "polymarket"
            writer.book(NS0 + i * 1_000_000, venue, f"i{i % 7}", [i], [1], [i + 1], [1])
            assert writer.buffered_rows < 64
    assert writer.peak_buffered_rows == 64  # reached, flushed at once, never exceeded
    assert writer.rows_written == 5_000
    frame = open_recording(tmp_path / "bounded").frame("books")
    assert frame["bid_px"].to_list() == [[i] for i in range(5_000)]


def test_time_based_flush(tmp_path: Path) -> None:
    now = [0.0]
    writer = RecordingWriter(
        tmp_path / "timed", max_buffered_rows=1_000, flush_seconds=5.0, clock=lambda: now[0]
    ).open()
    writer.oracle(NS0, "binance", "BTCUSDT", "trade", 1)
    writer.flush_if_due()
    assert writer.parts_written == 0
    now[0] = 5.0
    writer.flush_if_due()
    assert writer.parts_written == 1
    now[0] = 10.5
    writer.oracle(NS0 + 1, "binance", "BTCUSDT", "trade", 2)  # due on append too
    assert writer.parts_written == 2
    writer.close()


def test_a_restarted_recorder_appends_without_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "again"
    for run in range(2):
        with RecordingWriter(path) as writer:
            writer.trade(NS0 + run, "kalshi", "K:yes", 500_000, 1_000_000, "sell")
    assert open_recording(path).frame("trades")["ts_ns"].to_list() == [NS0, NS0 + 1]


def test_bounds_are_inclusive_and_prune_days(tmp_path: Path) -> None:
    day = 86_400 * 10**9
    with RecordingWriter(tmp_path / "range") as writer:
        for i in range(4):
            writer.oracle(NS0 + i * day, "binance", "BTCUSDT", "trade", i)
    recording = open_recording(tmp_path / "range")
    values = [e.value_micros for e in recording.events(NS0 + day, NS0 + 2 * day)]  # type: ignore[union-attr]
    assert values == [1, 2]
    assert recording.frame("oracle", start=T0 + timedelta(days=3))["value_micros"].to_list() == [3]


def test_a_damaged_part_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged"
    with RecordingWriter(path) as writer:
        writer.book(NS0, "kalshi", "K:yes", [1], [1], [2], [1])
    part = next((path / "books").rglob("part-*.parquet"))
    # A writer's hidden temporary file is never read.
    (part.parent / ".part-00000099.parquet.tmp").write_bytes(b"half")
    assert open_recording(path).frame("books").height == 1
    part.write_bytes(part.read_bytes()[:40])  # truncated
    with pytest.raises(RecordingError, match=r"part-00000001\.parquet: not a readable Parquet"):
        open_recording(path).frame("books")


def test_a_part_missing_columns_is_refused(tmp_path: Path) -> None:
    import polars as pl

    path = tmp_path / "columns"
    RecordingWriter(path).open().close()
    directory = path / "trades" / "source=kalshi" / "date=2026-03-01"
    directory.mkdir(parents=True)
    pl.DataFrame({"ts_ns": [NS0], "venue": ["kalshi"]}).write_parquet(
        directory / "part-00000007.parquet"
    )
    with pytest.raises(RecordingError, match="lacks column"):
        list(open_recording(path).events())


def test_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such recording"):
        open_recording(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match=r"no metadata\.json"):
        open_recording(tmp_path / "empty")
    (tmp_path / "empty" / "metadata.json").write_text('{"format": "pmarb-recording", "version": 9}')
    with pytest.raises(RecordingError, match="version 9"):
        open_recording(tmp_path / "empty")


def test_metadata_round_trip(tmp_path: Path) -> None:
    metadata = RecordingMetadata(
        synthetic=True,
        seed=42,
        created_at=T0,
        start=T0,
        end=T0 + timedelta(hours=24),
        sources=("polymarket", "kalshi", "binance"),
        notes="test",
        top_levels=5,
    )
    RecordingWriter(tmp_path / "meta", metadata=metadata).open().close()
    assert open_recording(tmp_path / "meta").metadata == metadata


def test_parts_written_on_another_thread_while_rows_are_appended(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "threads"
    writer = RecordingWriter(path, max_buffered_rows=1_000, flush_seconds=None).open()
    batches: list[dict[tuple[str, str, int], list[tuple[object, ...]]]] = []
    done = threading.Event()

    def background() -> None:
        while not done.is_set() or batches:
            if batches:
                writer.write_batch(batches.pop(0))

    worker = threading.Thread(target=background)
    worker.start()
    for i in range(20_000):  # forced flushes on this thread, taken batches on the other
        writer.oracle(NS0 + i, "binance", "BTCUSDT", "trade", i)
        if i % 700 == 0:
            batches.append(writer.take())
    done.set()
    worker.join()
    writer.close()
    values = open_recording(path).frame("oracle")["value_micros"].to_list()
    assert sorted(values) == list(range(20_000))
    names = [p.name for p in path.rglob("part-*.parquet")]
    assert len(names) == len(set(names)) == writer.parts_written
