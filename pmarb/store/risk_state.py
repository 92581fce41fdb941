"""The halt flag in PostgreSQL: the kill switch's source of truth for the order path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True, slots=True)
class HaltState:
    halted: bool
    halt_reason: str | None
    halted_at: datetime | None
    halted_by: str | None
    paused_until: datetime | None


async def read_halt_state(conn: psycopg.AsyncConnection[Any]) -> HaltState:
    cursor = conn.cursor(row_factory=class_row(HaltState))
    await cursor.execute(
        "select halted, halt_reason, halted_at, halted_by, paused_until from risk_state"
    )
    row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("risk_state has no row; the schema is not migrated")
    return row


async def set_halted(
    conn: psycopg.AsyncConnection[Any], *, halted: bool, reason: str, actor: str
) -> HaltState:
    """Set or clear the halt flag and record the change in ``risk_events``; one transaction."""
    async with conn.transaction():
        await conn.execute(
            """
            update risk_state set
                halted = %(halted)s,
                halt_reason = case when %(halted)s then %(reason)s end,
                halted_at = case when %(halted)s then coalesce(halted_at, now()) end,
                halted_by = case when %(halted)s then %(actor)s end,
                updated_at = now()
            """,
            {"halted": halted, "reason": reason, "actor": actor},
        )
        await conn.execute(
            "insert into risk_events (kind, reason_code, details) values (%s, %s, %s)",
            (
                "halt" if halted else "resume",
                "HALT_ALL" if halted else "RESUME",
                Jsonb({"reason": reason, "actor": actor}),
            ),
        )
    return await read_halt_state(conn)
