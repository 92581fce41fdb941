"""Alerts as rows: every alert is stored first; delivery channels read from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import psycopg


class AlertTier(StrEnum):
    ROUTINE = "routine"  # dashboard only
    IMPORTANT = "important"  # push
    CRITICAL = "critical"  # SMS + push
    EMERGENCY = "emergency"  # every channel, repeated until acknowledged


async def raise_alert(
    conn: psycopg.AsyncConnection[Any],
    tier: AlertTier,
    title: str,
    body: str,
    *,
    dedupe_key: str | None = None,
) -> int:
    """Store an alert; with a ``dedupe_key``, an unacknowledged duplicate is not stored twice."""
    if dedupe_key is not None:
        cursor = await conn.execute(
            "select id from alerts where dedupe_key = %s and acknowledged_at is null",
            (dedupe_key,),
        )
        existing = await cursor.fetchone()
        if existing is not None:
            return int(existing["id"] if isinstance(existing, dict) else existing[0])
    cursor = await conn.execute(
        "insert into alerts (tier, title, body, dedupe_key) values (%s, %s, %s, %s) returning id",
        (tier.value, title, body, dedupe_key),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row["id"] if isinstance(row, dict) else row[0])
