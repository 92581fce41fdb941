"""Order activities: place, cancel, wait for fills, unwind, await settlement.

Every order goes out with a client order id derived from the workflow id and the leg, is written
to the ledger before it is sent, and is looked up at the venue before any retry sends it again.
Orders that add risk re-read the halt flag immediately before sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome
from pmarb.lifecycle.drive import perform_awaiting
from pmarb.lifecycle.fills import UnknownOrderError, wait_for_fill
from pmarb.lifecycle.messages import (
    CancelInput,
    OrderOutcome,
    OrderToSend,
    PlaceOrdersInput,
    SettlementInput,
    UnwindInput,
    UnwindResult,
    WaitForFillInput,
    outcome_of,
)
from pmarb.lifecycle.steps import (
    FillWaitStep,
    LookUpOrder,
    ReadBestBid,
    ReadFairValue,
    RefreshOrders,
    SendOrder,
    UnwindStep,
)
from pmarb.lifecycle.unwind import unwind
from pmarb.store.orders import (
    LedgerOrder,
    apply_order_state,
    halt_and_record_intents,
    recorded_request,
    settle_positions,
    workflow_orders,
)
from pmarb.venues.base import OrderRejectedError, RetryableVenueError, Venue, VenueError

log = logging.getLogger(__name__)

HALTED = "Halted"
REJECTED = "OrderRejected"


async def _poll_pause(seconds: float) -> None:
    """Sleep between two polls of a waiting activity, unless the worker starts shutting down.

    A waiter (for a fill, for a settlement) has nothing to finish, so it gives way at once
    rather than hold a graceful shutdown for its whole grace period; Temporal retries it on the
    next worker, which resumes the wait.
    """
    try:
        await asyncio.wait_for(activity.wait_for_worker_shutdown(), seconds)
    except TimeoutError:
        return
    raise ApplicationError(
        "the worker is shutting down; the next one resumes this wait",
        category=ApplicationErrorCategory.BENIGN,  # an expected hand-over, not a failure to log
    )


def _recall(venue: Venue, order: OrderRequest) -> None:
    recall = getattr(venue, "recall", None)
    if recall is not None:
        recall(order)


FairValueReader = Callable[[VenueId, str, Outcome], Decimal | None]
"""The model's fair probability of an outcome in a market now (None: cannot price it)."""


def _no_fair_values(venue: VenueId, market_id: str, outcome: Outcome) -> Decimal | None:
    return None


class OrderActivities:
    def __init__(
        self,
        venues: Mapping[VenueId, Venue],
        pool: AsyncConnectionPool[Any],
        *,
        paper: bool,
        fair_value: FairValueReader = _no_fair_values,
    ) -> None:
        self._venues = venues
        self._pool = pool
        self._paper = paper
        # Where the oracle feeds run (the market-data worker), a guarded resting order is
        # cancelled once fair value turns against it; elsewhere the guard never trips.
        self._fair_value = fair_value

    def _venue(self, venue: VenueId) -> Venue:
        found = self._venues.get(venue)
        if found is None:
            raise ApplicationError(
                f"venue {venue} is not configured", type=REJECTED, non_retryable=True
            )
        return found

    @activity.defn(name="place_orders")
    async def place_orders(self, request: PlaceOrdersInput) -> list[OrderOutcome]:
        """Send every order concurrently (both legs of an atomic arb leave together), after
        re-reading the halt flag and recording each intent in the same round trip."""
        # One decision time for the batch, in whole milliseconds as venues sign it; the ledger
        # keeps it, so every later attempt signs the identical order.
        now = datetime.now(UTC)
        decided_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        orders = [
            (self._request(request, item, decided_at), item.order.leg) for item in request.orders
        ]
        async with self._pool.connection() as conn:
            halted, fresh = await halt_and_record_intents(
                conn,
                orders,
                workflow_id=request.workflow_id,
                purpose=request.purpose,
                strategy=request.strategy or None,
                paper=self._paper,
            )
        if halted is not None and request.purpose.adds_risk:
            raise ApplicationError(
                f"trading is halted ({halted}); no order sent", type=HALTED, non_retryable=True
            )
        sending = asyncio.gather(
            *(
                self._send(order, leg, is_new)
                for (order, leg), is_new in zip(orders, fresh, strict=True)
            ),
            return_exceptions=True,
        )
        try:
            results = await asyncio.shield(sending)
        except asyncio.CancelledError:
            # An order on the wire cannot be called back: let every send finish, so the ledger
            # holds what the venue accepted before the compensations read it.
            await sending
            raise
        retryable = [r for r in results if isinstance(r, RetryableVenueError)]
        unexpected = [r for r in results if isinstance(r, BaseException) and r not in retryable]
        if unexpected:
            raise unexpected[0]
        if retryable:
            # Orders that did go out are in the ledger; the retry finds them by client id.
            raise retryable[0]
        return [r for r in results if isinstance(r, OrderOutcome)]

    def _request(
        self, request: PlaceOrdersInput, item: OrderToSend, decided_at: datetime
    ) -> OrderRequest:
        planned = item.order
        self._venue(planned.venue)
        return OrderRequest(
            client_order_id=item.client_order_id,
            venue=planned.venue,
            market_id=planned.market_id,
            instrument_id=planned.instrument_id,
            outcome=planned.outcome,
            side=planned.side,
            price=planned.limit_price,
            size=planned.size,
            time_in_force=planned.time_in_force,
            expires_at=request.expires_at if planned.time_in_force is TimeInForce.GTD else None,
            post_only=planned.post_only,
            created_at=decided_at,
        )

    async def _send(self, order: OrderRequest, leg: str, is_new: bool) -> OrderOutcome:
        venue = self._venue(order.venue)
        if not is_new or activity.info().attempt > 1:
            # An earlier attempt (maybe in a process since killed) may have sent it: send
            # exactly what that attempt recorded, and look for it first.
            async with self._pool.connection() as conn:
                recorded = await recorded_request(conn, order.client_order_id)
            if recorded is not None:
                order = replace(recorded, expires_at=order.expires_at, post_only=order.post_only)
            _recall(venue, order)
            existing = await venue.get_order(order.client_order_id)
            if existing is not None:
                return await self._apply(leg, existing)
        try:
            state = await venue.place_order(order)
        except OrderRejectedError as e:
            state = OrderState(
                order.client_order_id, None, OrderStatus.REJECTED, order.size, reason=e.code
            )
        return await self._apply(leg, state)

    async def _recall(self, venue: Venue, client_order_id: str) -> None:
        """Let a venue that cannot look orders up by client id alone (Polymarket: the order
        hash is the id) rebuild the order from its recorded intent, e.g. after a restart."""
        if getattr(venue, "recall", None) is None:
            return
        async with self._pool.connection() as conn:
            recorded = await recorded_request(conn, client_order_id)
        if recorded is not None:
            _recall(venue, recorded)

    async def _apply(self, leg: str, state: OrderState) -> OrderOutcome:
        async with self._pool.connection() as conn:
            await apply_order_state(conn, state)
        return outcome_of(leg, state)

    @activity.defn(name="cancel_orders")
    async def cancel_orders(self, request: CancelInput) -> list[OrderOutcome]:
        async with self._pool.connection() as conn:
            ledger = {
                o.client_order_id: o for o in await workflow_orders(conn, request.workflow_id)
            }
        outcomes = []
        for coid in request.client_order_ids:
            known = ledger.get(coid)
            if known is None:
                continue
            venue = self._venue(VenueId(known.venue))
            await self._recall(venue, coid)
            state = await venue.cancel_order(coid)
            outcomes.append(await self._apply(known.leg or "", state))
        return outcomes

    @activity.defn(name="wait_for_fill")
    async def wait_for_fill(self, request: WaitForFillInput) -> OrderOutcome:
        """Poll until the order is finished or the deadline passes
        (:func:`pmarb.lifecycle.fills.wait_for_fill`), heartbeating so that a cancel (kill
        switch, expiry) reaches this activity promptly."""
        venue = self._venue(request.venue)
        await self._recall(venue, request.client_order_id)
        filled = ""

        async def perform(step: FillWaitStep) -> OrderOutcome | Decimal | None:
            nonlocal filled
            if isinstance(step, LookUpOrder):
                state = await venue.get_order(step.client_order_id)
                if state is None:
                    return None
                filled = str(state.filled_size)
                return await self._apply("", state)
            if isinstance(step, ReadFairValue):
                return self._fair_value(step.venue, step.market_id, step.outcome)
            activity.heartbeat(filled)
            await _poll_pause(step.duration.total_seconds())
            return None

        try:
            return await perform_awaiting(
                wait_for_fill(request, lambda: datetime.now(UTC)), perform
            )
        except UnknownOrderError as e:
            raise ApplicationError(str(e), type=REJECTED, non_retryable=True) from None

    @activity.defn(name="unwind")
    async def unwind(self, request: UnwindInput) -> UnwindResult:
        """Sell what this lifecycle holds of one instrument down to ``keep``
        (:func:`pmarb.lifecycle.unwind.unwind`); if its rounds could not, fail so that
        Temporal retries it — unless the market has resolved: nothing can be sold any more,
        and what is left is held to settlement."""
        venue = self._venue(request.venue)

        async def perform(step: UnwindStep) -> Any:
            if isinstance(step, RefreshOrders):
                return await self._refresh(venue, request.workflow_id, step.instrument_id)
            if isinstance(step, ReadBestBid):
                return await self._best_bid(venue, step.instrument_id)
            if isinstance(step, SendOrder):
                (outcome,) = await self.place_orders(
                    PlaceOrdersInput(request.workflow_id, "", step.purpose, (step.order,))
                )
                activity.heartbeat(str(outcome.filled))
                return outcome
            await asyncio.sleep(step.duration.total_seconds())
            return None

        result = await perform_awaiting(unwind(request), perform)
        if result.remaining > request.keep and not await self._resolved(venue, request.market_id):
            raise RetryableVenueError(
                request.venue,
                "UNWIND_INCOMPLETE",
                f"{result.remaining} still held of {request.instrument_id}",
            )
        return result

    async def _resolved(self, venue: Venue, market_id: str) -> bool:
        try:
            return (await venue.market_resolution(market_id)).resolved
        except VenueError:
            return False

    async def _refresh(
        self, venue: Venue, workflow_id: str, instrument_id: str
    ) -> list[LedgerOrder]:
        async with self._pool.connection() as conn:
            orders = await workflow_orders(conn, workflow_id)
        for order in orders:
            if order.instrument_id == instrument_id and not order.status.terminal:
                await self._recall(venue, order.client_order_id)
                state = await venue.get_order(order.client_order_id)
                if state is not None:
                    await self._apply(order.leg or "", state)
                elif order.status is OrderStatus.PENDING:
                    # Recorded but never reached the venue: nothing can fill it now.
                    await self._apply(
                        order.leg or "",
                        OrderState(
                            order.client_order_id,
                            None,
                            OrderStatus.CANCELLED,
                            order.size,
                            reason="never sent",
                        ),
                    )
        async with self._pool.connection() as conn:
            return await workflow_orders(conn, workflow_id)

    async def _best_bid(self, venue: Venue, instrument_id: str) -> Decimal | None:
        try:
            book = await venue.get_book(instrument_id)
        except VenueError:
            return None
        best = book.best_bid
        return None if best is None else best.price

    @activity.defn(name="await_settlement")
    async def await_settlement(self, request: SettlementInput) -> Decimal:
        """Wait (heartbeating) until the market resolves; book positions; return YES payout.

        A venue that cannot answer (unreachable, throttled, or not knowing the market) is waited
        out here, not failed: the position stays open until the venue says how the market
        resolved, and a failure would only restart this same wait with a traceback each time.
        """
        venue = self._venue(request.venue)
        warned = False
        while True:
            try:
                resolution = await venue.market_resolution(request.market_id)
            except VenueError as e:
                if not warned:
                    log.warning(
                        "settlement of %s:%s cannot be read yet (%s); still waiting",
                        request.venue.value,
                        request.market_id,
                        e,
                    )
                    warned = True
                activity.heartbeat()
                await _poll_pause(request.poll_seconds)
                continue
            if resolution.resolved and resolution.yes_payout is not None:
                async with self._pool.connection() as conn:
                    await settle_positions(
                        conn, request.venue.value, request.market_id, resolution.yes_payout
                    )
                return resolution.yes_payout
            activity.heartbeat()
            await _poll_pause(request.poll_seconds)
