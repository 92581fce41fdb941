"""Keep the garbage collector's full passes off the trading path.

A long-running process carries a large, permanent heap: imported modules, pydantic schemas,
market metadata. Python's oldest-generation collection walks all of it; in the market-data
process that was 75 ms typically and up to 300 ms, landing on whatever opportunity happened to
be deciding at the time (``benchmarks/decision_latency_bench.py``). Freezing the heap once
start-up is done moves those objects out of the collector's sight; what is allocated later is
still collected as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    gc.collect()  # garbage made during start-up must not be frozen with the rest
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
