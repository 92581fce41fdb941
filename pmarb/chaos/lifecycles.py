"""Real opportunities priced from the simulator's books, and their OpportunityWorkflows.

Every lifecycle trades the simulator's one same-contract pair (YES on Kalshi + NO on
Polymarket) with a cross-venue gap injected, so both strategies bid. Three shapes rotate:
an atomic arb sized to the books (both legs fill, the position is held), a leg-and-hedge (a
first leg, then the hedge within its window), and an atomic arb one contract larger than the
thinner book (one FOK fills alone and is unwound).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity, OpportunityKind, OpportunityLeg, QuoteStamp
from pmarb.domain.parity import Outcome, Side
from pmarb.infra.demo import DEMO_PAIR
from pmarb.store.db import connect
from pmarb.store.markets import get_markets
from pmarb.strategies.base import StrategyBudget
from pmarb.workflows import search_attributes
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow

GAP = Decimal("0.08")
MAX_SIZE = Decimal(20)
BUDGET = Decimal(100_000)
VALIDITY = timedelta(seconds=20)


class Shape(StrEnum):
    ATOMIC = "atomic"
    LEG_AND_HEDGE = "leg_and_hedge"
    ONE_LEG_FAILS = "one_leg_fails"


SHAPES = (Shape.ATOMIC, Shape.LEG_AND_HEDGE, Shape.ONE_LEG_FAILS)
STRATEGY = {
    Shape.ATOMIC: "atomic-arb",
    Shape.LEG_AND_HEDGE: "leg-and-hedge",
    Shape.ONE_LEG_FAILS: "atomic-arb",
}


@dataclass(frozen=True)
class Book:
    best_ask: Decimal
    depth: Decimal


class Pair:
    """The pair's two markets as the ledger knows them, and their books at the simulator."""

    def __init__(
        self,
        admin_url: str,
        kalshi: Market,
        polymarket: Market,
        sim_ids: dict[tuple[VenueId, Outcome], str],
    ) -> None:
        self.admin_url = admin_url
        self.kalshi = kalshi
        self.polymarket = polymarket
        # The simulator names instruments its own way (a Kalshi YES book is the bare ticker).
        self.sim_ids = sim_ids

    @classmethod
    async def load(cls, admin_url: str, database_url: str, timeout: float = 120.0) -> Pair:
        """Wait until ``pmarb marketdata`` has discovered both markets, then read them."""
        async with httpx.AsyncClient(timeout=5.0) as http:
            listed = (await http.get(f"{admin_url}/markets")).json()
        pair = [m for m in listed if m.get("pair_key") == DEMO_PAIR]
        ids = {m["venue"]: m["market_id"] for m in pair}
        sim_ids = {
            (VenueId(m["venue"]), outcome): m[f"{outcome.value}_instrument_id"]
            for m in pair
            for outcome in Outcome
        }
        keys = [("kalshi", ids["kalshi"]), ("polymarket", ids["polymarket"])]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with await connect(database_url) as conn:
                found = await get_markets(conn, keys)
            if len(found) == 2:
                return cls(admin_url, found[keys[0]], found[keys[1]], sim_ids)
            if loop.time() > deadline:
                raise RuntimeError(f"the {DEMO_PAIR} markets were never discovered")
            await asyncio.sleep(0.5)

    async def inject_gap(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as http:
            await http.post(f"{self.admin_url}/inject/steady_state")
            response = await http.post(
                f"{self.admin_url}/inject/cross_venue_gap",
                json={"pair": DEMO_PAIR, "gap": str(GAP), "cheap": "kalshi"},
            )
            response.raise_for_status()

    async def book(self, http: httpx.AsyncClient, market: Market, outcome: Outcome) -> Book:
        instrument = self.sim_ids[(market.venue, outcome)]
        response = await http.get(
            f"{self.admin_url}/book",
            params={"venue": market.venue.value, "instrument_id": instrument},
        )
        response.raise_for_status()
        asks = {Decimal(p): Decimal(s) for p, s in response.json()["asks"].items()}
        if not asks:
            raise RuntimeError(f"{instrument} has no asks")
        best = min(asks)
        return Book(best, asks[best])

    async def opportunity(self, number: int, shape: Shape, run_id: str) -> Opportunity:
        async with httpx.AsyncClient(timeout=5.0) as http:
            yes = await self.book(http, self.kalshi, Outcome.YES)
            no = await self.book(http, self.polymarket, Outcome.NO)
        size = min(yes.depth, no.depth, MAX_SIZE)
        if shape is Shape.ONE_LEG_FAILS:
            size = min(yes.depth, no.depth) + 1  # the thinner best level cannot fill it
        now = datetime.now(UTC)
        legs = (
            buy_leg(self.kalshi, Outcome.YES, yes.best_ask, size),
            buy_leg(self.polymarket, Outcome.NO, no.best_ask, size),
        )
        quotes = (
            QuoteStamp(VenueId.KALSHI, legs[0].instrument_id, yes.best_ask, yes.depth, now),
            QuoteStamp(VenueId.POLYMARKET, legs[1].instrument_id, no.best_ask, no.depth, now),
        )
        return Opportunity(
            kind=OpportunityKind.CROSS_VENUE,
            business_key=f"chaos-{run_id}-{number:04d}",
            legs=legs,
            size=size,
            edge=Decimal(1) - yes.best_ask - no.best_ask,
            detected_at=now,
            expires_at=now + VALIDITY,
            quotes=quotes,
            resolves_at=now + timedelta(days=1),
        )


def buy_leg(market: Market, outcome: Outcome, price: Decimal, size: Decimal) -> OpportunityLeg:
    return OpportunityLeg(
        name=f"{market.venue.value}-{outcome.value}",
        venue=market.venue,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id
        if outcome is Outcome.YES
        else market.no_instrument_id,
        outcome=outcome,
        side=Side.BUY,
        limit_price=price,
        size=size,
        expected_price=price,
        fees=market.fees,
        min_size=market.min_size,
        tick_size=market.tick_size,
    )


async def start_lifecycle(
    client: Client, opportunity: Opportunity, strategy: str, task_queue: str
) -> None:
    await client.start_workflow(
        OpportunityWorkflow.run,
        OpportunityInput(opportunity, (StrategyBudget(strategy, BUDGET),), task_queue),
        id=opportunity.workflow_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.OPPORTUNITY_KIND, opportunity.kind.value),
                SearchAttributePair(search_attributes.STAGE, "bid"),
            ]
        ),
        static_summary=f"chaos lifecycle {opportunity.business_key} ({strategy})",
    )


@dataclass(frozen=True)
class LifecycleView:
    """What Temporal says about one lifecycle right now."""

    workflow_id: str
    status: WorkflowExecutionStatus | None
    stage: str | None
    pending: tuple[str, ...]  # activity types started and not finished
    scheduled: tuple[str, ...] = ()  # every pending activity type, started or waiting

    @property
    def holding(self) -> bool:
        """A complete position recorded and held to resolution: nothing left to go wrong."""
        return (
            self.status is WorkflowExecutionStatus.RUNNING
            and self.stage == "hold"
            and "close_trade" not in self.scheduled
        )

    @property
    def settled(self) -> bool:
        return self.holding or (
            self.status is not None and self.status is not WorkflowExecutionStatus.RUNNING
        )


async def describe(client: Client, workflow_id: str) -> LifecycleView:
    from temporalio.api.enums.v1 import PendingActivityState

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return LifecycleView(workflow_id, None, None, ())
    stage = description.typed_search_attributes.get(search_attributes.STAGE)
    activities = description.raw_description.pending_activities
    pending = tuple(
        activity.activity_type.name
        for activity in activities
        if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    )
    scheduled = tuple(activity.activity_type.name for activity in activities)
    return LifecycleView(workflow_id, description.status, stage, pending, scheduled)


async def result_of(client: Client, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id).result()
