"""Feed health as rows: written by the market-data process, read by status, API and metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from pmarb.feeds.health import FeedHealthSnapshot


@dataclass(frozen=True, slots=True)
class FeedHealthRow:
    feed: str
    key: str
    connected: bool
    messages: int
    malformed: int
    reconnects: int
    age_seconds: float | None
    stale: bool
    last_error: str | None
    updated_at: datetime


async def publish_feed_health(
    conn: psycopg.AsyncConnection[Any],
    snapshots: Sequence[FeedHealthSnapshot],
    key_ages: Sequence[tuple[str, str, float | None, bool]] = (),
    stale: Mapping[str, bool] | None = None,
) -> None:
    """Upsert one row per feed and, optionally, per (feed, key, age, stale) instrument.

    ``stale`` overrides, per feed name, the default verdict (disconnected or any stale key).
    """
    async with conn.transaction():
        for snapshot in snapshots:
            await conn.execute(
                """
                insert into feed_health (feed, key, connected, messages, malformed, reconnects,
                                         age_seconds, stale, last_error, updated_at)
                values (%s, '', %s, %s, %s, %s, %s, %s, %s, now())
                on conflict (feed, key) do update set
                    connected = excluded.connected, messages = excluded.messages,
                    malformed = excluded.malformed, reconnects = excluded.reconnects,
                    age_seconds = excluded.age_seconds, stale = excluded.stale,
                    last_error = excluded.last_error, updated_at = now()
                """,
                (
                    snapshot.name,
                    snapshot.connected,
                    snapshot.messages,
                    snapshot.malformed,
                    snapshot.reconnects,
                    snapshot.oldest_age_seconds,
                    (stale or {}).get(
                        snapshot.name, snapshot.stale_keys > 0 or not snapshot.connected
                    ),
                    snapshot.last_error,
                ),
            )
        for feed, key, age, key_stale in key_ages:
            await conn.execute(
                """
                insert into feed_health (feed, key, connected, age_seconds, stale, updated_at)
                values (%s, %s, true, %s, %s, now())
                on conflict (feed, key) do update set
                    age_seconds = excluded.age_seconds, stale = excluded.stale, updated_at = now()
                """,
                (feed, key, age, key_stale),
            )


async def read_feed_health(conn: psycopg.AsyncConnection[Any]) -> list[FeedHealthRow]:
    cursor = conn.cursor(row_factory=class_row(FeedHealthRow))
    await cursor.execute(
        """
        select feed, key, connected, messages, malformed, reconnects, age_seconds, stale,
               last_error, updated_at
        from feed_health order by feed, key
        """
    )
    return list(await cursor.fetchall())
