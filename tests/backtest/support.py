"""Writing an in-memory dataset as a recording, through the recorder's own writer."""

from __future__ import annotations

from pathlib import Path

from pmarb.backtest.events import (
    BookUpdate,
    Dataset,
    FeedHeartbeat,
    OracleUpdate,
    Resolution,
    TradePrint,
    to_datetime,
)
from pmarb.recording.writer import RecordingMetadata, RecordingWriter


def write_recording(dataset: Dataset, path: Path) -> Path:
    metadata = RecordingMetadata(
        synthetic=dataset.synthetic,
        seed=dataset.seed,
        created_at=to_datetime(dataset.start_ns),
        start=to_datetime(dataset.start_ns),
        sources=("pmarb.backtest.synthetic",),
    )
    with RecordingWriter(path, metadata=metadata, flush_seconds=None) as writer:
        for ts, market in dataset.market_listings:
            writer.market(ts, market)
        for ts, pair in dataset.pair_listings:
            writer.pair(ts, pair)
        for event in dataset.replay():
            if isinstance(event, BookUpdate):
                writer.book(
                    event.ts_ns,
                    event.venue,
                    event.instrument_id,
                    list(event.bid_px),
                    list(event.bid_sz),
                    list(event.ask_px),
                    list(event.ask_sz),
                )
            elif isinstance(event, OracleUpdate):
                writer.oracle(
                    event.ts_ns, event.source, event.symbol, event.kind, event.value_micros
                )
            elif isinstance(event, TradePrint):
                writer.trade(
                    event.ts_ns,
                    event.venue,
                    event.instrument_id,
                    event.price_micros,
                    event.size_micros,
                    event.taker_side,
                )
            elif isinstance(event, Resolution):
                writer.resolution(event.ts_ns, event.venue, event.market_id, event.outcome)
            elif isinstance(event, FeedHeartbeat):
                writer.heartbeat(event.ts_ns, event.venue)
    return path
