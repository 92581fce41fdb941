"""The tournament over 30 simulated days, on the time-skipping server and a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.activities.tournament import TournamentActivities
from pmarb.store.db import open_pool
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.tournament import TournamentInput, TournamentWorkflow

# Per strategy: realised P&L of each of its trades on each simulated day (None = no trades).
PATTERNS: dict[str, list[str] | None] = {
    "atomic-arb": ["2", "3", "2", "2", "3", "2"],  # steady winner, many trades
    "leg-and-hedge": ["6", "-4", "5", "-3", "-2", "4"],  # noisier winner
    "oracle-sniper": ["-4", "-5", "-4", "-6", "-5", "-4"],  # steady loser → paused
    "oracle-patient": ["1", "-1", "0.5", "-1", "1", "-0.6"],  # around zero
    "mean-reversion": None,  # too few trades → keeps its share
}


async def insert_trades(pool: AsyncConnectionPool[Any], start: datetime, days: int) -> None:
    async with pool.connection() as conn:
        for day in range(days):
            for strategy, pattern in PATTERNS.items():
                # Vary the number of trades per day so daily results are not constant.
                pnls = pattern[: 3 + day % 4] if pattern else (["1"] if day % 10 == 0 else [])
                for n, pnl in enumerate(pnls):
                    workflow_id = f"{strategy}-{day}-{n}"
                    closed = start + timedelta(days=day, hours=6, minutes=n)
                    await conn.execute(
                        """insert into trade_requests (workflow_id, strategy, bid)
                           values (%s, %s, '{}')""",
                        (workflow_id, strategy),
                    )
                    await conn.execute(
                        """insert into trades (trade_request_id, strategy, status,
                                               realized_pnl, closed_at)
                           select id, %s, 'settled', %s, %s from trade_requests
                           where workflow_id = %s""",
                        (strategy, D(pnl), closed, workflow_id),
                    )


async def test_tournament_reallocates_daily_for_thirty_days(
    time_skipping_env: WorkflowEnvironment, database_url: str
) -> None:
    client = time_skipping_env.client
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    pool = await open_pool(database_url, max_size=2)
    # The time-skipping clock is global to the server and earlier tests may have moved it.
    now = await time_skipping_env.get_current_time()
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    await insert_trades(pool, start, 31)
    try:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[TournamentWorkflow],
            activities=[TournamentActivities(pool).run_tournament],
            workflow_runner=workflow_runner(),
        ):
            handle = await client.start_workflow(
                TournamentWorkflow.run,
                TournamentInput(capital=D("500"), days_per_run=10),
                id=f"tournament-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )
            await time_skipping_env.sleep(timedelta(days=30, hours=1))
            last = await client.get_workflow_handle(handle.id).query(TournamentWorkflow.last_day)
            assert last == (start + timedelta(days=30)).date()
            await client.get_workflow_handle(handle.id).terminate()
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "select strategy, effective_date, fraction, status, reason from allocations "
                    "order by effective_date, strategy"
                )
            ).fetchall()
            alerts = await (
                await conn.execute("select count(*) as n from alerts where tier = 'important'")
            ).fetchone()
    finally:
        await pool.close()
    days = sorted({row["effective_date"] for row in rows})
    assert len(days) == 31, "one reallocation per UTC day, the first on start"
    by_day = {day: {r["strategy"]: r for r in rows if r["effective_date"] == day} for day in days}
    assert all(row["fraction"] == D("0.2") for row in by_day[days[0]].values()), "equal start"
    final = by_day[days[-1]]
    assert final["oracle-sniper"]["status"] == "paused" and final["oracle-sniper"]["fraction"] == 0
    assert "keeps share" in final["mean-reversion"]["reason"]
    assert final["mean-reversion"]["fraction"] == D("0.2")
    assert final["atomic-arb"]["fraction"] > D("0.2"), "the steady winner gained"
    assert final["atomic-arb"]["fraction"] > final["leg-and-hedge"]["fraction"]
    assert sum(r["fraction"] for r in final.values()) <= 1
    # Before a week of results exists, shares stay where they started.
    assert all(row["fraction"] == D("0.2") for row in by_day[days[1]].values())
    assert alerts is not None and alerts["n"] == 31, "a daily summary alert per run"
