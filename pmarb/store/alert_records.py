"""Reading alerts, recording their deliveries and their acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    tier: str
    title: str
    body: str
    dedupe_key: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_via: str | None
    time_to_acknowledge: timedelta | None
    workflow_id: str | None
    deliveries: list[dict[str, Any]]


_COLUMNS = (
    "id, tier, title, body, dedupe_key, created_at, acknowledged_at, acknowledged_by, "
    "acknowledged_via, time_to_acknowledge, workflow_id, deliveries"
)


async def get_alert(conn: psycopg.AsyncConnection[Any], alert_id: int) -> AlertRecord | None:
    cursor = conn.cursor(row_factory=class_row(AlertRecord))
    await cursor.execute(f"select {_COLUMNS} from alerts where id = %s", (alert_id,))
    return await cursor.fetchone()


async def list_alerts(
    conn: psycopg.AsyncConnection[Any],
    *,
    open_only: bool = False,
    tier: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AlertRecord], int]:
    clauses: list[str] = []
    params: list[Any] = []
    if open_only:
        clauses.append("acknowledged_at is null")
    if tier is not None:
        clauses.append("tier = %s")
        params.append(tier)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    cursor = conn.cursor(row_factory=class_row(AlertRecord))
    await cursor.execute(
        f"select {_COLUMNS} from alerts {where} order by created_at desc, id desc "
        "limit %s offset %s",
        (*params, limit, offset),
    )
    rows = await cursor.fetchall()
    counter = await conn.execute(f"select count(*) from alerts {where}", params)
    total = await counter.fetchone()
    return rows, int(_first(total))


async def acknowledge(
    conn: psycopg.AsyncConnection[Any], alert_id: int, actor: str, via: str
) -> tuple[AlertRecord | None, bool]:
    """Acknowledge once; returns the alert and whether this call was the acknowledgement."""
    cursor = await conn.execute(
        """
        update alerts set acknowledged_at = now(), acknowledged_by = %s, acknowledged_via = %s
        where id = %s and acknowledged_at is null
        """,
        (actor, via, alert_id),
    )
    changed = cursor.rowcount == 1
    return await get_alert(conn, alert_id), changed


async def set_workflow(conn: psycopg.AsyncConnection[Any], alert_id: int, workflow_id: str) -> None:
    await conn.execute(
        "update alerts set workflow_id = %s where id = %s and workflow_id is null",
        (workflow_id, alert_id),
    )


async def record_delivery(
    conn: psycopg.AsyncConnection[Any], alert_id: int, delivery: dict[str, Any]
) -> None:
    """Append one channel's outcome to the alert's delivery log (never the channel's URL)."""
    await conn.execute(
        "update alerts set deliveries = deliveries || %s where id = %s",
        (Jsonb([delivery]), alert_id),
    )


def delivered_in_round(alert: AlertRecord, round_number: int) -> set[str]:
    """Channels that already accepted this round (a retried activity does not send twice)."""
    return {
        str(d.get("channel"))
        for d in alert.deliveries
        if d.get("round") == round_number and d.get("ok")
    }


def _first(row: Any) -> Any:
    if row is None:
        return 0
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
