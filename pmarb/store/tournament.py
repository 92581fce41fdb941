"""Reading strategy results for the tournament and writing its decisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pmarb.domain.money import ZERO
from pmarb.strategies.tournament import (
    Allocation,
    AllocationStatus,
    Performance,
    StrategyRecord,
)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def load_records(
    conn: psycopg.AsyncConnection[Any], strategies: Iterable[str], today: date, window_days: int
) -> list[StrategyRecord]:
    """Each strategy's realised P&L per UTC day over the window ending before ``today``."""
    start = today - timedelta(days=window_days)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select strategy, (closed_at at time zone 'UTC')::date as day,
               sum(realized_pnl) as pnl, count(*) as trades,
               count(*) filter (where realized_pnl > 0) as wins
        from trades
        where closed_at >= %s and closed_at < %s and realized_pnl is not null
        group by strategy, day
        """,
        (_midnight(start), _midnight(today)),
    )
    rows = await cursor.fetchall()
    await cursor.execute(
        """
        select distinct on (strategy) strategy, fraction, status, effective_date
        from allocations where effective_date < %s
        order by strategy, effective_date desc
        """,
        (today,),
    )
    current = {row["strategy"]: row for row in await cursor.fetchall()}
    await cursor.execute(
        """
        select strategy, min(effective_date) as since from (
            select strategy, effective_date, status,
                   bool_and(status = 'paused') over (
                       partition by strategy order by effective_date desc
                       rows between unbounded preceding and current row) as trailing_paused
            from allocations where effective_date < %s) runs
        where trailing_paused group by strategy
        """,
        (today,),
    )
    paused_since = {row["strategy"]: row["since"] for row in await cursor.fetchall()}
    records = []
    for strategy in strategies:
        by_day = {row["day"]: row for row in rows if row["strategy"] == strategy}
        days = [start + timedelta(days=n) for n in range(window_days)]
        allocation = current.get(strategy)
        records.append(
            StrategyRecord(
                strategy=strategy,
                daily_pnl=tuple(
                    Decimal(by_day[day]["pnl"]) if day in by_day else ZERO for day in days
                ),
                trades=sum(int(row["trades"]) for row in by_day.values()),
                wins=sum(int(row["wins"]) for row in by_day.values()),
                fraction=None if allocation is None else Decimal(allocation["fraction"]),
                status=AllocationStatus(allocation["status"])
                if allocation
                else AllocationStatus.ACTIVE,
                paused_on=paused_since.get(strategy),
            )
        )
    return records


async def store_results(
    conn: psycopg.AsyncConnection[Any],
    today: date,
    window_days: int,
    allocations: Sequence[Allocation],
    performances: Sequence[Performance],
    capital: Decimal,
) -> None:
    """Idempotent per day: a re-run of the same day replaces that day's rows."""
    async with conn.transaction():
        for performance in performances:
            await conn.execute(
                """
                insert into strategy_performance (strategy, as_of, window_days, trades, pnl,
                                                  sharpe, win_rate, max_drawdown)
                values (%s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (strategy, as_of) do update set
                    trades = excluded.trades, pnl = excluded.pnl, sharpe = excluded.sharpe,
                    win_rate = excluded.win_rate, max_drawdown = excluded.max_drawdown,
                    computed_at = now()
                """,
                (
                    performance.strategy,
                    today,
                    window_days,
                    performance.trades,
                    performance.pnl,
                    performance.sharpe,
                    performance.win_rate,
                    performance.max_drawdown,
                ),
            )
        for allocation in allocations:
            await conn.execute(
                """
                insert into allocations (strategy, effective_date, fraction, capital, status,
                                         reason)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (strategy, effective_date) do update set
                    fraction = excluded.fraction, capital = excluded.capital,
                    status = excluded.status, reason = excluded.reason
                """,
                (
                    allocation.strategy,
                    today,
                    allocation.fraction,
                    allocation.fraction * capital,
                    allocation.status.value,
                    allocation.reason,
                ),
            )


async def latest_allocations(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        select distinct on (strategy) strategy, effective_date, fraction, capital, status, reason
        from allocations order by strategy, effective_date desc
        """
    )
    return list(await cursor.fetchall())
