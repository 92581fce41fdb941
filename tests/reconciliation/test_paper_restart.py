"""Paper trading survives a restart: the paper venues resume from the ledger, and the first
reconciliation after the restart finds them in agreement."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderStatus
from pmarb.store.db import connect
from pmarb.store.orders import workflow_orders
from pmarb.strategies.base import StrategyBudget
from pmarb.workflows.opportunity import OpportunityInput, OpportunityWorkflow
from tests.marketdata.harness import advance, running_service
from tests.marketdata.test_lifecycle import (
    best_depths,
    fed_pair,
    gapped_simulator,
    pair_opportunity,
)
from tests.reconciliation.test_reconciler import rows
from tests.support import eventually


async def test_paper_holdings_and_orders_survive_a_restart(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    client = temporal_env.client
    async with gapped_simulator(client, database_url, tmp_path) as (sim, settings):
        async with running_service(sim, settings, client, trade=False) as service:
            await advance(sim, 3, service)
            kalshi, poly = fed_pair(service, sim)
            size = min(*best_depths(service, kalshi, poly), D(40))
            opp = pair_opportunity(service, kalshi, poly, size)
            handle = await client.start_workflow(
                OpportunityWorkflow.run,
                OpportunityInput(
                    opp,
                    (StrategyBudget("atomic-arb", D("100000")),),
                    settings.marketdata_task_queue,
                ),
                id=opp.workflow_id,
                task_queue=settings.marketdata_task_queue,
            )

            async def filled() -> list[OrderStatus]:
                async with await connect(database_url) as conn:
                    return [o.status for o in await workflow_orders(conn, opp.workflow_id)]

            try:
                await eventually(filled, lambda s: s == [OrderStatus.FILLED] * 2, timeout=30)
            except AssertionError:
                stage = await handle.query(OpportunityWorkflow.stage)
                raise AssertionError(f"the lifecycle stopped at {stage!r}") from None
            before = {v: await venue.positions() for v, venue in service.venues.items()}
            cash_before = {v: await venue.balance() for v, venue in service.venues.items()}
            async with await connect(database_url) as conn:
                coids = [o.client_order_id for o in await workflow_orders(conn, opp.workflow_id)]
        assert all(before.values()), "each venue holds one leg"
        first_start = await rows(database_url, "select count(*) as n from reconciliations")

        async with running_service(sim, settings, client, trade=False) as restarted:
            after = {v: await venue.positions() for v, venue in restarted.venues.items()}
            cash_after = {v: await venue.balance() for v, venue in restarted.venues.items()}
            states = [
                await restarted.venues[VenueId(coid_venue)].get_order(coid)
                for coid, coid_venue in zip(coids, ("kalshi", "polymarket"), strict=True)
            ]
        assert {v: [(p.market_id, p.outcome, p.size) for p in ps] for v, ps in after.items()} == {
            v: [(p.market_id, p.outcome, p.size) for p in ps] for v, ps in before.items()
        }
        assert cash_after == cash_before
        assert [s.status if s else None for s in states] == [OrderStatus.FILLED] * 2
        audit = await rows(
            database_url,
            "select venue, orders_repaired, positions_repaired, error from reconciliations "
            "order by id offset %s",
            first_start[0]["n"],
        )
        assert sorted(a["venue"] for a in audit) == ["kalshi", "polymarket"]
        assert all(
            (a["orders_repaired"], a["positions_repaired"], a["error"]) == (0, 0, None)
            for a in audit
        ), audit
