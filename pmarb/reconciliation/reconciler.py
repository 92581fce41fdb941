"""The reconciliation pass: each venue's orders and positions against the ledger.

The venue is the truth. Orders the ledger still thinks may change are looked up and their venue
state applied (which moves positions by the newly filled size, exactly as a workflow would).
Then held sizes are compared; a difference is repaired from the venue, except that a position
the venue no longer holds because its market resolved is settled (so its P&L is realised), not
erased, and a position the ledger settled is never brought back from a venue that still lists
it. Every repair is listed in the pass's audit row and raised as one alert.

Each pass also copies the venue's fill records since the last one it kept into ``fills``
(idempotent: a fill is keyed by the venue's id), so every execution is audited as the venue
reported it, including trades made outside pmarb.

Two races are avoided rather than repaired: an order younger than the grace period, or one whose
workflow is still running, belongs to that workflow (it may be on its way to the venue right
now); and a market with an order in flight or changed within the grace period is not compared,
because the venue may already show a fill the workflow is about to record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderState, OrderStatus
from pmarb.domain.parity import Outcome
from pmarb.reconciliation.compare import (
    OrderDifference,
    PositionDifference,
    order_differs,
    position_differences,
)
from pmarb.store.alerts import AlertTier
from pmarb.store.fills import MarketOf, last_fill_time, record_fills
from pmarb.store.orders import apply_order_state, settle_positions
from pmarb.store.reconciliation import (
    active_markets,
    ledger_order_states,
    ledger_positions,
    overwrite_position,
    record_reconciliation,
)
from pmarb.venues.base import MarketResolution, Venue, VenueError

log = logging.getLogger(__name__)

InstrumentOf = Callable[[VenueId, str, Outcome], str]
WorkflowRunning = Callable[[str], Awaitable[bool]]
RaiseAlert = Callable[[AlertTier, str, str, str], Awaitable[None]]

UNKNOWN_AT_VENUE = "the venue has no record of this order"
FILL_LOOKBACK = timedelta(minutes=5)


@dataclass
class VenueReconciliation:
    venue: VenueId
    orders_checked: int = 0
    orders_repaired: int = 0
    positions_checked: int = 0
    positions_repaired: int = 0
    fills_recorded: int = 0
    differences: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return not self.differences and self.error is None


class Reconciler:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        venues: Mapping[VenueId, Venue],
        *,
        instrument_of: InstrumentOf,
        market_of: MarketOf | None = None,
        workflow_running: WorkflowRunning | None = None,
        raise_alert: RaiseAlert | None = None,
        grace: timedelta = timedelta(minutes=2),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._venues = venues
        self._instrument_of = instrument_of
        self._market_of: MarketOf = market_of or (lambda venue, instrument: None)
        self._workflow_running = workflow_running
        self._raise_alert = raise_alert
        self._grace = grace
        self._clock = clock

    async def reconcile(self) -> list[VenueReconciliation]:
        return [await self.reconcile_venue(venue_id) for venue_id in sorted(self._venues)]

    async def reconcile_venue(self, venue_id: VenueId) -> VenueReconciliation:
        venue = self._venues[venue_id]
        report = VenueReconciliation(venue_id)
        started = self._clock()
        try:
            await self._orders(venue_id, venue, report)
            await self._positions(venue_id, venue, report)
            await self._fills(venue_id, venue, report)
        except Exception as e:  # an unreachable venue must not stop trading elsewhere
            log.warning("reconciliation with %s failed: %s", venue_id.value, e)
            report.error = f"{type(e).__name__}: {e}"[:500]
        async with self._pool.connection() as conn:
            await record_reconciliation(
                conn,
                venue_id,
                started_at=started,
                orders_checked=report.orders_checked,
                orders_repaired=report.orders_repaired,
                positions_checked=report.positions_checked,
                positions_repaired=report.positions_repaired,
                differences=report.differences,
                error=report.error,
            )
        if report.differences:
            log.warning(
                "reconciliation repaired %d difference(s) on %s: %s",
                len(report.differences),
                venue_id.value,
                "; ".join(report.differences[:5]),
            )
            await self._alert(report)
        return report

    async def _orders(self, venue_id: VenueId, venue: Venue, report: VenueReconciliation) -> None:
        """Apply the venue's state to every open order no running workflow owns."""
        async with self._pool.connection() as conn:
            open_orders = await ledger_order_states(conn, venue_id, only_open=True)
        horizon = self._clock() - self._grace
        for order in open_orders:
            if order.created_at > horizon or await self._owned(order.workflow_id):
                continue
            coid = order.state.client_order_id
            report.orders_checked += 1
            seen = await venue.get_order(coid)
            if not order_differs(order.state, seen):
                continue
            repaired = seen or OrderState(
                coid,
                order.state.venue_order_id,
                OrderStatus.REJECTED,
                order.state.requested_size,
                reason=UNKNOWN_AT_VENUE,
            )
            async with self._pool.connection() as conn:
                await apply_order_state(conn, repaired)
            report.orders_repaired += 1
            report.differences.append(OrderDifference(coid, order.state, seen).describe())

    async def _fills(self, venue_id: VenueId, venue: Venue, report: VenueReconciliation) -> None:
        async with self._pool.connection() as conn:
            latest = await last_fill_time(conn, venue_id)
        # Venues filter by whole seconds and may list a fill a moment late: look back a little;
        # fills already kept are skipped by their venue id.
        since = None if latest is None else latest - FILL_LOOKBACK
        reported = await venue.fills(since=since)
        if reported:
            async with self._pool.connection() as conn:
                report.fills_recorded = await record_fills(conn, reported, self._market_of)

    async def _owned(self, workflow_id: str | None) -> bool:
        if workflow_id is None or self._workflow_running is None:
            return False
        return await self._workflow_running(workflow_id)

    async def _positions(
        self, venue_id: VenueId, venue: Venue, report: VenueReconciliation
    ) -> None:
        # The venue first, the ledger after: an order a workflow starts in between is then
        # visible as activity on its market, and that market is left to the workflow.
        reported = [p for p in await venue.positions() if p.size != ZERO]
        async with self._pool.connection() as conn:
            held = await ledger_positions(conn, venue_id)
            busy = await active_markets(conn, venue_id, self._clock() - self._grace)
        report.positions_checked = len({(p.market_id, p.outcome) for p in [*held, *reported]})
        for difference in position_differences(held, reported):
            if difference.market_id in busy:
                continue
            await self._repair(venue_id, venue, difference)
            report.positions_repaired += 1
            report.differences.append(difference.describe())

    async def _repair(
        self, venue_id: VenueId, venue: Venue, difference: PositionDifference
    ) -> None:
        try:
            resolution = await venue.market_resolution(difference.market_id)
        except VenueError:
            if difference.venue_size == ZERO:
                raise  # erasing a holding needs to know whether it settled
            resolution = MarketResolution(resolved=False)
        if resolution.resolved and resolution.yes_payout is not None:
            # Settled, whichever side noticed first: the ledger pays out what it still holds
            # (nothing, if it settled already), and a resolved market's holdings are never
            # copied back from the venue, which may list them until they are redeemed.
            async with self._pool.connection() as conn:
                await settle_positions(
                    conn, venue_id.value, difference.market_id, resolution.yes_payout
                )
            return
        instrument = self._instrument_of(venue_id, difference.market_id, difference.outcome)
        async with self._pool.connection() as conn:
            await overwrite_position(
                conn,
                venue_id,
                difference.market_id,
                difference.outcome,
                instrument,
                difference.venue_size,
                difference.venue_average_price,
            )

    async def _alert(self, report: VenueReconciliation) -> None:
        if self._raise_alert is None:
            return
        listed = "\n".join(report.differences[:20])
        more = len(report.differences) - 20
        body = listed + (f"\n… and {more} more" if more > 0 else "")
        digest = hashlib.sha256(listed.encode()).hexdigest()[:16]
        try:
            await self._raise_alert(
                AlertTier.IMPORTANT,
                f"Reconciliation repaired {len(report.differences)} difference(s) on "
                f"{report.venue.value}",
                body,
                f"reconcile-{report.venue.value}-{digest}",
            )
        except Exception:
            log.exception("could not raise the reconciliation alert")
