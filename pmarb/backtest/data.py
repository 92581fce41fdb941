"""A recording directory (format v1) as a :class:`~pmarb.backtest.events.Dataset`, through the
recorder's own reader (:mod:`pmarb.recording.reader`): markets and pairs with the time each
became known, and the events in the reader's time order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pmarb.backtest.events import Dataset, Event, to_ns
from pmarb.recording.reader import open_recording
from pmarb.recording.schema import RecordingError

__all__ = ["RecordingError", "load"]


def load(path: str | Path) -> Dataset:
    recording = open_recording(Path(path))
    first, last = recording.time_range()
    if first is None or last is None:
        raise RecordingError(f"{path}: the recording holds no events")

    def replay(start_ns: int | None, end_ns: int | None) -> Iterator[Event]:
        return recording.events(start_ns, end_ns)

    metadata = recording.metadata
    return Dataset(
        markets=tuple(recording.markets),
        pairs=tuple(recording.pairs),
        events=replay,
        start_ns=to_ns(first),
        # time_range is to the microsecond: keep every row of the last one.
        end_ns=to_ns(last) + 999,
        synthetic=metadata.synthetic,
        seed=metadata.seed,
        market_listings=tuple(recording.market_history),
        pair_listings=tuple(recording.pair_history),
        situations=tuple(metadata.extra.get("situations", ())),
    )
