"""TournamentWorkflow: reallocate capital among strategies at every 00:00 UTC.

A long-running workflow rather than a Schedule so the same code is exercised for a month under
the time-skipping test server (which has no schedules). It reallocates once on first start (the
equal starting split), then sleeps until each midnight; it continues as new every few weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.tournament import TournamentActivities, TournamentDay

WORKFLOW_ID = "tournament"


@dataclass(frozen=True)
class TournamentInput:
    capital: Decimal
    days_per_run: int = 30
    last_day: date | None = None


@workflow.defn
class TournamentWorkflow:
    @workflow.init
    def __init__(self, request: TournamentInput) -> None:
        self._last_day = request.last_day
        self._capital = request.capital

    @workflow.query
    def last_day(self) -> date | None:
        return self._last_day

    @workflow.signal
    def set_capital(self, capital: Decimal) -> None:
        self._capital = capital

    @workflow.run
    async def run(self, request: TournamentInput) -> None:
        for _ in range(request.days_per_run):
            today = workflow.now().date()
            if self._last_day != today:
                await workflow.execute_activity_method(
                    TournamentActivities.run_tournament,
                    TournamentDay(today, self._capital),
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
                    summary=f"reallocate {today.isoformat()}",
                )
                self._last_day = today
            await workflow.sleep(_until_next_midnight(workflow.now()), summary="until 00:00 UTC")
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            TournamentInput(self._capital, request.days_per_run, self._last_day)
        )


def _until_next_midnight(now: datetime) -> timedelta:
    tomorrow = now.date() + timedelta(days=1)
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=now.tzinfo)
    return midnight - now
