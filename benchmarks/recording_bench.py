"""Recorder cost on the book hot path, and the writer's flush throughput, on one core.

    .venv/bin/python benchmarks/recording_bench.py [--updates N] [--levels N]

The listener is the one ``MarketDataService`` adds to each book store: it reads the top levels
off the live ladders and appends one row to the writer's buffer. Prints the listener's cost per
book update (CPU time, best of ``--repeats``) and rows written per CPU-second including Parquet
encoding, each next to its goal.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from pmarb.domain.market import VenueId
from pmarb.recording.recorder import MarketDataRecorder
from pmarb.recording.writer import RecordingMetadata, RecordingWriter
from pmarb.venues.store import BookStore

# The book hot path runs at ~1 µs per price change; recording should not cost more than that.
GOAL_LISTENER_US = 2.0
GOAL_ROWS_PER_SECOND = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=200_000)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)
    store = BookStore(VenueId.POLYMARKET)
    instruments = [str(10**20 + i) for i in range(50)]
    for instrument in instruments:
        book = store.ensure(instrument)
        book.bids.replace((p, rng.randint(1, 10**9)) for p in range(300_000, 480_000, 10_000))
        book.asks.replace((p, rng.randint(1, 10**9)) for p in range(500_000, 700_000, 10_000))
        book.valid = True
    sequence = [rng.choice(instruments) for _ in range(args.updates)]
    best_listener = float("inf")
    best_rows = 0.0
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as directory:
            writer = RecordingWriter(
                Path(directory) / "bench",
                metadata=RecordingMetadata(top_levels=args.levels),
                max_buffered_rows=args.updates + 1,  # measure appends and the flush apart
                flush_seconds=None,
            ).open()
            listener = MarketDataRecorder(writer).book_listener(VenueId.POLYMARKET, store)
            started = time.process_time()
            for instrument in sequence:
                listener(instrument)
            appended = time.process_time() - started
            started = time.process_time()
            writer.flush()
            flushed = time.process_time() - started
            writer.close()
        best_listener = min(best_listener, appended / args.updates * 1e6)
        best_rows = max(best_rows, args.updates / flushed)
    print(
        f"recorder listener ({args.levels} levels/side): {best_listener:.2f} µs per book update"
        f"  (goal ≤ {GOAL_LISTENER_US:.1f} µs)"
    )
    print(
        f"writer flush (Parquet, zstd): {best_rows:,.0f} rows/s"
        f"  (goal ≥ {GOAL_ROWS_PER_SECOND:,} rows/s)"
    )


if __name__ == "__main__":
    main()
