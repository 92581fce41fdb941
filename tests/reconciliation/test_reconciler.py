"""Reconciliation against the simulator's venues over HTTP and a real Postgres ledger."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row

from pmarb.alerts.dispatch import raise_and_dispatch
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderPurpose, OrderRequest, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.reconciliation.reconciler import UNKNOWN_AT_VENUE, Reconciler
from pmarb.sim import Simulator
from pmarb.store.alerts import AlertTier
from pmarb.store.db import connect, open_pool
from pmarb.store.orders import halt_and_record_intents
from pmarb.venues.factory import build_live_venues
from tests.marketdata.harness import settings_for
from tests.sim_support import make_keys, simulator


def engine_id(market: Market) -> str:
    return market.market_id if market.venue is VenueId.KALSHI else market.yes_instrument_id


def buy_yes(sim: Simulator, market: Market, coid: str, size: D) -> OrderRequest:
    asks = sim.book(market.venue, engine_id(market)).asks
    best = min(asks)
    assert asks[best] >= size, "the scenario's best level is too thin for this test"
    return OrderRequest(
        client_order_id=coid,
        venue=market.venue,
        market_id=market.market_id,
        instrument_id=market.yes_instrument_id,
        outcome=Outcome.YES,
        side=Side.BUY,
        price=best,
        size=size,
        time_in_force=TimeInForce.FOK,
    )


async def record_intent(database_url: str, order: OrderRequest, *, age_minutes: int) -> None:
    workflow_id, leg = order.client_order_id.split(":")
    async with await connect(database_url) as conn:
        halted, fresh = await halt_and_record_intents(
            conn,
            [(order, leg)],
            workflow_id=workflow_id,
            purpose=OrderPurpose.OPEN,
            strategy="atomic-arb",
            paper=False,
        )
        assert halted is None and fresh == [True]
        await conn.execute(
            "update orders set created_at = now() - make_interval(mins => %s) "
            "where client_order_id = %s",
            (age_minutes, order.client_order_id),
        )
        await conn.commit()


async def rows(database_url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with await connect(database_url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(sql, params)
        return list(await cursor.fetchall())


def position(found: list[dict[str, Any]], market: Market) -> D:
    sizes = [D(r["size"]) for r in found if r["market_id"] == market.market_id]
    return sum(sizes, D(0))


async def test_the_ledger_is_repaired_from_the_venues_and_the_repairs_are_audited(
    database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    async with simulator(keys, settings={"taker_probability": 0}) as sim:
        sim.inject_steady_state()
        settings = settings_for(sim, keys, database_url, "127.0.0.1:1", tmp_path, paper=False)
        venues = build_live_venues(settings.venues)
        pool = await open_pool(database_url)
        try:
            kalshi = [m for m in await venues[VenueId.KALSHI].discover_markets() if m.min_size]
            poly = await venues[VenueId.POLYMARKET].discover_markets()
            manual_k, lost_k, unsent_k, young_k = kalshi[:4]

            # Bought by hand at the venue: the ledger never heard of these.
            await venues[VenueId.KALSHI].place_order(buy_yes(sim, manual_k, "manual:k", D(3)))
            await venues[VenueId.POLYMARKET].place_order(buy_yes(sim, poly[0], "manual:p", D(4)))
            # Recorded and sent, but the worker died before it saw the result.
            lost = buy_yes(sim, lost_k, "wf-lost:a", D(2))
            await record_intent(database_url, lost, age_minutes=10)
            await venues[VenueId.KALSHI].place_order(lost)
            # Recorded, never sent, and no workflow will send it.
            unsent = buy_yes(sim, unsent_k, "wf-unsent:a", D(2))
            await record_intent(database_url, unsent, age_minutes=10)
            # Recorded and sent a moment ago: its workflow is still on it.
            young = buy_yes(sim, young_k, "wf-young:a", D(1))
            await record_intent(database_url, young, age_minutes=0)
            await venues[VenueId.KALSHI].place_order(young)

            async def store_alert(tier: AlertTier, title: str, body: str, key: str) -> None:
                await raise_and_dispatch(pool, None, "unused", tier, title, body, dedupe_key=key)

            market_of_instrument = {
                (m.venue, instrument): m.market_id
                for m in [*kalshi, *poly]
                for instrument in (m.yes_instrument_id, m.no_instrument_id)
            }
            reconciler = Reconciler(
                pool,
                venues,
                instrument_of=lambda v, m, o: f"{m}:{o.value}",
                market_of=lambda v, i: market_of_instrument.get((v, i)),
                raise_alert=store_alert,
            )
            reports = {r.venue: r for r in await reconciler.reconcile()}

            k, p = reports[VenueId.KALSHI], reports[VenueId.POLYMARKET]
            assert (k.error, p.error) == (None, None)
            assert (k.orders_checked, k.orders_repaired, k.positions_repaired) == (2, 2, 1)
            assert (p.orders_repaired, p.positions_repaired) == (0, 1)

            orders = {
                r["client_order_id"]: r
                for r in await rows(database_url, "select * from orders order by id")
            }
            assert orders["wf-lost:a"]["status"] == OrderStatus.FILLED.value
            assert D(orders["wf-lost:a"]["filled_size"]) == 2
            assert orders["wf-unsent:a"]["status"] == OrderStatus.REJECTED.value
            assert orders["wf-unsent:a"]["reason"] == UNKNOWN_AT_VENUE
            assert orders["wf-young:a"]["status"] == OrderStatus.PENDING.value

            held = await rows(database_url, "select * from positions where size <> 0")
            assert position(held, manual_k) == 3
            assert position(held, poly[0]) == 4
            assert position(held, lost_k) == 2  # moved by the applied fill, not overwritten
            assert position(held, unsent_k) == 0
            assert position(held, young_k) == 0  # left to its workflow

            audit = await rows(database_url, "select * from reconciliations order by venue")
            assert [a["venue"] for a in audit] == ["kalshi", "polymarket"]
            assert len(audit[0]["differences"]) == 3 and len(audit[1]["differences"]) == 1
            alerts = await rows(database_url, "select tier, title from alerts order by id")
            assert [a["tier"] for a in alerts] == ["important", "important"]
            assert all("Reconciliation repaired" in a["title"] for a in alerts)

            # Every execution the venues list is kept, linked to our order where there is one.
            fills = await rows(database_url, "select * from fills")
            filled: dict[tuple[str, str | None, str], D] = {}
            for f in fills:
                key = (f["venue"], f["client_order_id"], f["market_id"])
                filled[key] = filled.get(key, D(0)) + D(f["size"])
            assert filled == {
                ("kalshi", None, manual_k.market_id): 3,  # bought by hand: no order of ours
                ("kalshi", "wf-lost:a", lost_k.market_id): 2,
                ("kalshi", "wf-young:a", young_k.market_id): 1,
                ("polymarket", None, poly[0].market_id): 4,
            }
            assert (k.fills_recorded, p.fills_recorded) == (
                sum(f["venue"] == "kalshi" for f in fills),
                sum(f["venue"] == "polymarket" for f in fills),
            )
            assert all(f["is_taker"] and f["side"] == "buy" for f in fills)

            # A second pass finds nothing more to do: repairs are not repeated.
            again = await reconciler.reconcile()
            assert all(r.clean for r in again), again
            assert len(await rows(database_url, "select id from alerts")) == 2
            assert [r.fills_recorded for r in again] == [0, 0]
            assert len(await rows(database_url, "select id from fills")) == len(fills)
        finally:
            await pool.close()
            for venue in venues.values():
                await venue.aclose()


async def test_an_unreachable_venue_is_recorded_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        settings = settings_for(sim, keys, database_url, "127.0.0.1:1", tmp_path, paper=False)
        venues = build_live_venues(settings.venues)
    # The simulator has stopped: every request fails.
    pool = await open_pool(database_url)
    try:
        order = OrderRequest(
            "wf-gone:a",
            VenueId.KALSHI,
            "KX-GONE",
            "KX-GONE:yes",
            Outcome.YES,
            Side.BUY,
            D("0.5"),
            D(1),
            TimeInForce.FOK,
        )
        await record_intent(database_url, order, age_minutes=10)
        reconciler = Reconciler(pool, venues, instrument_of=lambda v, m, o: m)
        report = await reconciler.reconcile_venue(VenueId.KALSHI)
        assert report.error is not None and report.orders_repaired == 0
        [row] = await rows(database_url, "select status from orders")
        assert row["status"] == "pending"
        [audit] = await rows(database_url, "select error from reconciliations")
        assert audit["error"] == report.error
    finally:
        await pool.close()
        for venue in venues.values():
            await venue.aclose()
