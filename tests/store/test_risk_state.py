from __future__ import annotations

from typing import Any

import psycopg

from pmarb.store.risk_state import read_halt_state, set_halted


async def test_halt_and_resume_are_recorded(db: psycopg.AsyncConnection[dict[str, Any]]) -> None:
    assert not (await read_halt_state(db)).halted
    halted = await set_halted(db, halted=True, reason="drawdown", actor="cli")
    assert halted.halted and halted.halt_reason == "drawdown" and halted.halted_by == "cli"
    assert halted.halted_at is not None
    again = await set_halted(db, halted=True, reason="second press", actor="api")
    assert again.halted_at == halted.halted_at, "a repeated halt keeps the original time"
    resumed = await set_halted(db, halted=False, reason="checked", actor="cli")
    assert not resumed.halted and resumed.halt_reason is None and resumed.halted_at is None
    cursor = await db.execute("select kind, reason_code from risk_events order by id")
    events = [(row["kind"], row["reason_code"]) for row in await cursor.fetchall()]
    assert events == [("halt", "HALT_ALL"), ("halt", "HALT_ALL"), ("resume", "RESUME")]
