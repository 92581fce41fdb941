"""``pmarb record`` against the simulator: real sockets, real book code, a real PostgreSQL for
the matched pairs; the recording read back holds exactly the books the service ended with."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from pmarb.domain.market import VenueId
from pmarb.durations import parse_duration
from pmarb.feeds.health import FeedHealth
from pmarb.infra.runtime import Endpoints
from pmarb.recording.cli import record_for
from pmarb.recording.reader import open_recording
from pmarb.recording.recorder import MarketDataRecorder
from pmarb.recording.schema import BookUpdate
from pmarb.recording.settings import RecordingSettings
from pmarb.recording.writer import RecordingMetadata, RecordingWriter
from pmarb.sim import Simulator
from pmarb.venues.factory import build_live_venues
from pmarb.venues.store import FEED_KEY, BookStore
from tests.marketdata.harness import settings_for
from tests.marketdata.test_detection import confirm_pair
from tests.reconciliation.test_reconciler import buy_yes
from tests.sim_support import make_keys, simulator
from tests.support import eventually


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("10m") == 600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2") == 2
    for bad in ("ten minutes", "0s", "5x", "m10"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def _engine_id(venue: VenueId, market_id: str, yes_instrument: str) -> str:
    return market_id if venue is VenueId.KALSHI else yes_instrument


async def test_record_against_the_simulator(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        settings = settings_for(
            sim,
            keys,
            database_url,
            "unused:7233",
            tmp_path,
            recording=RecordingSettings(top_levels=5, flush_seconds=0.5),
        )
        await confirm_pair(sim, settings, database_url, next(iter(_pair_keys(sim))))
        stop = asyncio.Event()
        endpoints = Endpoints(database_url, "", None, "")
        task = asyncio.create_task(
            record_for(settings, 3600, tmp_path / "rec", stop=stop, endpoints=endpoints)
        )

        async def recorded_some() -> int:
            if task.done():
                task.result()
            sim.advance(0.5)
            await sim.drain()
            if not (tmp_path / "rec" / "metadata.json").exists():
                return 0
            return sum(
                open_recording(tmp_path / "rec").frame(table).height
                for table in ("books", "oracle")
            )

        await eventually(recorded_some, lambda n: n > 50, timeout=60, interval=0.3)
        # A trade on each venue, so both public trade feeds have something to print.
        venues = build_live_venues(settings.venues)
        try:
            for venue in venues.values():
                market = (await venue.discover_markets())[0]
                await venue.place_order(buy_yes(sim, market, f"rec-{venue.venue_id}:a", D(1)))
        finally:
            for venue in venues.values():
                await venue.aclose()

        async def venues_with_trades() -> set[str]:
            sim.advance(0.5)
            await sim.drain()
            trades = open_recording(tmp_path / "rec").frame("trades")
            return set(trades["venue"].unique()) if trades.height else set()

        await eventually(
            venues_with_trades, lambda v: v == {"kalshi", "polymarket"}, timeout=30, interval=0.3
        )
        # Quotes stop moving; within a flush interval the recording holds the engine's books.
        await sim.drain()
        await eventually(
            lambda: _matching_books(sim, tmp_path / "rec"), lambda n: n >= 4, timeout=30
        )
        stop.set()
        path = await asyncio.wait_for(task, 30)
        assert await _matching_books(sim, path) >= 4
        recording = open_recording(path)
        assert {m.venue for m in recording.markets} == {VenueId.KALSHI, VenueId.POLYMARKET}
        assert len(recording.pairs) == 1
        assert recording.frame("oracle").height > 0
        # Each live feed noted alive about once a second, so a replay knows quiet books fresh.
        beats = recording.frame("feeds")
        assert set(beats["venue"].unique()) == {"kalshi", "polymarket"}
        # The venues' public trade prints, from both feeds, at prices a book could hold.
        trades = recording.frame("trades")
        assert set(trades["venue"].unique()) == {"kalshi", "polymarket"}
        prices = trades["price_micros"]
        assert trades.filter((prices <= 0) | (prices >= 10**6)).height == 0
        assert set(trades["taker_side"].unique()) <= {"buy", "sell"}
        assert recording.metadata.end is not None
        assert all(not p.name.startswith(".") for p in path.rglob("*.parquet"))
    out = capsys.readouterr().out
    assert "pmarb record: writing" in out and "stopped" in out


def test_the_recorder_notes_a_feed_alive_only_when_it_delivered_data(tmp_path: Path) -> None:
    now = [1_000.0]
    health = FeedHealth("kalshi-books", clock=lambda: now[0])
    store = BookStore(VenueId.KALSHI, health, clock=lambda: now[0], wall_clock=lambda: now[0])
    with RecordingWriter(tmp_path / "rec", metadata=RecordingMetadata(), flush_seconds=None) as w:
        recorder = MarketDataRecorder(w)
        recorder.heartbeat(VenueId.KALSHI, store)  # nothing received yet: no note
        health.record_message(FEED_KEY)
        recorder.heartbeat(VenueId.KALSHI, store)
        now[0] += 1
        recorder.heartbeat(VenueId.KALSHI, store)  # silent for a second: no new note
        now[0] += 1
        health.record_message(FEED_KEY)
        recorder.heartbeat(VenueId.KALSHI, store)
    beats = open_recording(tmp_path / "rec").frame("feeds")
    assert beats["ts_ns"].to_list() == [1_000 * 10**9, 1_002 * 10**9]
    assert beats["venue"].to_list() == ["kalshi", "kalshi"]


def _pair_keys(sim: Simulator) -> list[str]:
    return list(sim.scenario.pairs)


async def _matching_books(sim: Simulator, path: Path) -> int:
    """How many markets' last recorded YES book equals the engine's (0 if any differs)."""
    recording = open_recording(path)
    final = _final_books(recording.events())
    matching = 0
    for market in recording.markets:
        engine_id = _engine_id(market.venue, market.market_id, market.yes_instrument_id)
        engine = sim.book(market.venue, engine_id)
        row = final.get((market.venue, market.yes_instrument_id))
        if row is None:
            continue
        bids = [(int(p * 10**6), int(s * 10**6)) for p, s in sorted(engine.bids.items())[::-1]]
        asks = [(int(p * 10**6), int(s * 10**6)) for p, s in sorted(engine.asks.items())]
        if bids[:5] != list(zip(row.bid_px, row.bid_sz, strict=True)) or asks[:5] != list(
            zip(row.ask_px, row.ask_sz, strict=True)
        ):
            return 0
        matching += 1
    return matching


def _final_books(events: object) -> dict[tuple[VenueId, str], BookUpdate]:
    final: dict[tuple[VenueId, str], BookUpdate] = {}
    for event in events:  # type: ignore[attr-defined]
        if isinstance(event, BookUpdate):
            final[(event.venue, event.instrument_id)] = event
    return final
