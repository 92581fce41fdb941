from __future__ import annotations

import gc

from pmarb.workers.heap import startup_heap_frozen


def test_the_startup_heap_is_frozen_while_the_service_runs_and_released_after() -> None:
    assert gc.get_freeze_count() == 0
    with startup_heap_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
