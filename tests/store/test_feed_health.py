from __future__ import annotations

from typing import Any

import psycopg

from pmarb.feeds.health import FeedHealthSnapshot
from pmarb.store.feed_health import publish_feed_health, read_feed_health


async def test_feed_health_round_trips_and_updates_in_place(
    db: psycopg.AsyncConnection[dict[str, Any]],
) -> None:
    snapshot = FeedHealthSnapshot("kalshi", True, 10, 1, 0, 0, 3, 0.5, None)
    await publish_feed_health(db, [snapshot], [("kalshi", "KX-1", 0.5, False)])
    await publish_feed_health(
        db,
        [FeedHealthSnapshot("kalshi", False, 12, 2, 1, 3, 0, 9.0, "silent feed")],
        [("kalshi", "KX-1", 9.0, True)],
    )
    rows = await read_feed_health(db)
    assert [(r.feed, r.key) for r in rows] == [("kalshi", ""), ("kalshi", "KX-1")]
    feed, instrument = rows
    assert not feed.connected and feed.stale and feed.malformed == 2 and feed.reconnects == 1
    assert feed.last_error == "silent feed"
    assert instrument.stale and instrument.age_seconds == 9.0
