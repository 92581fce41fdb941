"""The daily reallocation as one idempotent activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.client import Client

from pmarb.alerts.dispatch import start_alert_workflow
from pmarb.store.alerts import AlertTier, raise_alert
from pmarb.store.tournament import load_records, store_results
from pmarb.strategies.allocator import STRATEGIES
from pmarb.strategies.tournament import TournamentRules, reallocate


@dataclass(frozen=True)
class TournamentDay:
    day: date
    capital: Decimal


@dataclass(frozen=True)
class Standing:
    strategy: str
    fraction: Decimal
    status: str
    pnl: Decimal
    sharpe: Decimal | None
    reason: str


@dataclass(frozen=True)
class TournamentSummary:
    day: date
    standings: tuple[Standing, ...]


class TournamentActivities:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        rules: TournamentRules | None = None,
        client: Client | None = None,
    ) -> None:
        self._pool = pool
        self._rules = rules or TournamentRules()
        self._client = client  # delivers the daily summary; without it, it is only stored

    @activity.defn(name="run_tournament")
    async def run_tournament(self, request: TournamentDay) -> TournamentSummary:
        async with self._pool.connection() as conn:
            records = await load_records(conn, STRATEGIES, request.day, self._rules.window_days)
            allocations, performances = reallocate(
                records, request.capital, request.day, self._rules
            )
            await store_results(
                conn,
                request.day,
                self._rules.window_days,
                allocations,
                performances,
                request.capital,
            )
            by_name = {p.strategy: p for p in performances}
            standings = tuple(
                sorted(
                    (
                        Standing(
                            a.strategy,
                            a.fraction,
                            a.status.value,
                            by_name[a.strategy].pnl,
                            by_name[a.strategy].sharpe,
                            a.reason,
                        )
                        for a in allocations
                    ),
                    key=lambda s: (-s.fraction, s.strategy),
                )
            )
            total = sum((s.pnl for s in standings), Decimal(0))
            lines = [
                f"{s.strategy}: {s.fraction:.1%} ({s.status}), 7-day P&L {s.pnl:.2f}, "
                f"Sharpe {'n/a' if s.sharpe is None else f'{s.sharpe:.2f}'} — {s.reason}"
                for s in standings
            ]
            alert_id = await raise_alert(
                conn,
                AlertTier.IMPORTANT,
                f"Daily summary {request.day.isoformat()}: 7-day P&L {total:.2f}",
                "\n".join(lines),
                dedupe_key=f"tournament-{request.day.isoformat()}",
            )
        if self._client is not None:
            await start_alert_workflow(
                self._client, self._pool, alert_id, AlertTier.IMPORTANT, activity.info().task_queue
            )
        return TournamentSummary(request.day, standings)
