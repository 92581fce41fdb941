"""After the chaos: what the simulator, the ledger and Temporal say, reduced to counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.lifecycle.unwind import net_holding
from pmarb.reconciliation.compare import position_differences
from pmarb.store.db import connect
from pmarb.store.orders import workflow_orders
from pmarb.store.reconciliation import ledger_positions
from pmarb.venues.factory import build_live_venues
from pmarb.venues.settings import VenueSettings


@dataclass
class Findings:
    """Every counter with the evidence behind it, so a bad number comes with its cause."""

    duplicates: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    naked_legs: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    orders_at_venues: int = 0


async def duplicate_orders(admin_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Client order ids (Polymarket: order hashes) the simulator received more than once."""
    duplicates: list[str] = []
    received: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for venue in VenueId:
            body = (await http.get(f"{admin_url}/orders", params={"venue": venue.value})).json()
            entries = body["received"]
            received.extend(entries)
            counts = Counter(e["client_order_id"] or e["order_id"] or "" for e in entries)
            duplicates += [f"{venue.value} {key} × {n}" for key, n in counts.items() if n > 1]
    return duplicates, received


async def position_mismatches(
    database_url: str, venues_settings: VenueSettings, since: datetime
) -> list[str]:
    """Ledger positions against the venues' own, now; plus any position the reconciler had to
    overwrite during the run (it repairs differences, which would otherwise hide them)."""
    found: list[str] = []
    live = build_live_venues(venues_settings)
    try:
        for venue_id, adapter in sorted(live.items()):
            await adapter.discover_markets()  # Polymarket maps tokens to markets from discovery
            reported = [p for p in await adapter.positions() if p.size != ZERO]
            async with await connect(database_url) as conn:
                held = await ledger_positions(conn, venue_id)
            found += [
                f"{venue_id.value} {d.describe()}" for d in position_differences(held, reported)
            ]
    finally:
        for adapter in live.values():
            await adapter.aclose()
    async with await connect(database_url) as conn:
        rows = await (
            await conn.execute(
                "select venue, differences from reconciliations "
                "where started_at >= %s and positions_repaired > 0",
                (since,),
            )
        ).fetchall()
    for row in rows:
        found += [
            f"{row['venue']} repaired by reconciliation: {d}"
            for d in row["differences"]
            if not str(d).startswith("order ")
        ]
    return found


async def ledger_findings(
    database_url: str, workflow_ids: list[str], received: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(naked legs, lost records).

    Naked: a lifecycle whose legs are not held in equal size (one side bought, the other not).
    Lost: a lifecycle with no audit row, a finished one whose audit row never got its
    execution, or an order the simulator accepted that the ledger does not know.
    """
    naked: list[str] = []
    lost: list[str] = []
    async with await connect(database_url) as conn:
        audit = {
            row["workflow_id"]: row
            for row in await (
                await conn.execute(
                    "select workflow_id, risk_decision, status, execution from trade_requests "
                    "where workflow_id = any(%s)",
                    (workflow_ids,),
                )
            ).fetchall()
        }
        unpursued = {
            row["workflow_id"]
            for row in await (
                await conn.execute(
                    "select workflow_id from opportunities where workflow_id = any(%s) "
                    "and status = 'no_bid'",
                    (workflow_ids,),
                )
            ).fetchall()
        }
        known = await (
            await conn.execute("select client_order_id, venue_order_id from orders")
        ).fetchall()
        for workflow_id in workflow_ids:
            orders = await workflow_orders(conn, workflow_id)
            row = audit.get(workflow_id)
            if row is None and workflow_id not in unpursued:
                lost.append(f"{workflow_id}: no trade request or opportunity row")
            elif row is not None and orders and row["execution"] is None:
                lost.append(f"{workflow_id}: orders sent but the audit row has no execution")
            instruments = {o.instrument_id for o in orders}
            held = {i: net_holding(orders, i) for i in instruments}
            if len(set(held.values())) > 1:
                shown = ", ".join(f"{i}={size}" for i, size in sorted(held.items()))
                naked.append(f"{workflow_id}: {shown}")
    ids = {row["client_order_id"] for row in known} | {
        row["venue_order_id"] for row in known if row["venue_order_id"]
    }
    for entry in received:
        if entry["result"] != "accepted":
            continue
        if entry.get("client_order_id") not in ids and entry.get("order_id") not in ids:
            lost.append(
                f"{entry['venue']} order {entry.get('client_order_id') or entry.get('order_id')} "
                "accepted by the venue but not in the ledger"
            )
    return naked, lost


async def check(
    admin_url: str,
    database_url: str,
    venues_settings: VenueSettings,
    workflow_ids: list[str],
    since: datetime,
) -> Findings:
    duplicates, received = await duplicate_orders(admin_url)
    naked, lost = await ledger_findings(database_url, workflow_ids, received)
    return Findings(
        duplicates=duplicates,
        mismatches=await position_mismatches(database_url, venues_settings, since),
        naked_legs=naked,
        lost=lost,
        orders_at_venues=sum(1 for e in received if e["result"] == "accepted"),
    )
