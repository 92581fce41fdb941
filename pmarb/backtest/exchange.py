"""The venue side of a replay: book stores fed from recorded rows, and the live paper fill model
on top of them.

Each venue gets the same :class:`~pmarb.venues.store.BookStore` the live adapters fill, driven by
the replay clock instead of the wall clock, and the same
:class:`~pmarb.venues.paper.venue.PaperVenue` the live paper mode uses. The paper venue's latency
sleep is a no-op here because the replay models latency itself: an order is only handed to the
paper venue once the replay clock has reached the moment it would arrive, so it sees the book as
of that moment and nothing later. Orders are kept in a ledger per lifecycle exactly as the live
order activities keep them, so P&L comes from the same :func:`~pmarb.store.trades.summarise`.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pmarb.backtest.events import NANOS, BookUpdate, FeedHeartbeat, Resolution, to_datetime
from pmarb.domain.bid import PlannedOrder
from pmarb.domain.book import BookSnapshot, crosses
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.orders import (
    Fill,
    OrderPurpose,
    OrderRequest,
    OrderState,
    OrderStatus,
    TimeInForce,
)
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.portfolio import book_mark
from pmarb.domain.positions import Position
from pmarb.domain.timing import order_delay
from pmarb.feeds.health import FeedHealth
from pmarb.lifecycle.messages import OrderOutcome, OrderToSend, outcome_of
from pmarb.recording.replay import feed_alive, load_snapshot, replay_store
from pmarb.scanner.scanner import FairValueSource
from pmarb.store.orders import LedgerOrder
from pmarb.venues.base import MarketResolution, OrderRejectedError
from pmarb.venues.paper.venue import PaperConfig, PaperVenue
from pmarb.venues.store import BookStore

T = TypeVar("T")

# The replay keeps its own cash (see the engine); the paper venues must never refuse for money.
UNLIMITED = Decimal(10) ** 12


class ReplayClock:
    """The replay's one notion of now, in integer nanoseconds."""

    def __init__(self, ns: int = 0) -> None:
        self.ns = ns
        self._at = -1
        self._now = to_datetime(0)

    def seconds(self) -> float:
        return self.ns / NANOS

    def now(self) -> datetime:
        if self._at != self.ns:  # asked many times per event: build it once
            self._at, self._now = self.ns, to_datetime(self.ns)
        return self._now


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the paper venue with a no-op sleep) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a replay call suspended; the paper venue must not wait in a replay")


async def _no_wait(_: float) -> None:
    return None


class ReplayVenue:
    """What the paper venue sits on in a replay: books from the recording and the resolutions
    seen so far. It takes no orders (paper does) and knows nothing the replay has not reached."""

    def __init__(self, venue: VenueId, store: BookStore, markets: Sequence[Market]) -> None:
        self._venue = venue
        self.store = store
        self._markets = list(markets)
        self.resolved: dict[str, Decimal] = {}

    @property
    def venue_id(self) -> VenueId:
        return self._venue

    @property
    def paper(self) -> bool:
        return False

    async def discover_markets(self) -> list[Market]:
        return list(self._markets)

    async def get_book(self, instrument_id: str) -> BookSnapshot:
        return self.store.snapshot(instrument_id, depth=None)

    async def place_order(self, order: OrderRequest) -> OrderState:
        raise OrderRejectedError(self._venue, "read_only", "a recording takes no orders")

    async def cancel_order(self, client_order_id: str) -> OrderState:
        return OrderState(client_order_id, None, OrderStatus.CANCELLED, ZERO, reason="replay")

    async def get_order(self, client_order_id: str) -> OrderState | None:
        return None

    async def fills(self, *, since: datetime | None = None) -> Sequence[Fill]:
        return []

    async def positions(self) -> Sequence[Position]:
        return []

    async def balance(self) -> Decimal:
        return ZERO

    async def market_resolution(self, market_id: str) -> MarketResolution:
        payout = self.resolved.get(market_id)
        return MarketResolution(payout is not None, payout)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Sent:
    workflow_id: str
    leg: str
    purpose: OrderPurpose
    request: OrderRequest


class ReplayExchange:
    """Books, paper venues and the order ledger of one replay."""

    def __init__(
        self, markets: Iterable[Market], clock: ReplayClock, *, max_book_age: float
    ) -> None:
        self.clock = clock
        self.markets = {(m.venue, m.market_id): m for m in markets}
        by_venue: dict[VenueId, list[Market]] = {}
        for market in self.markets.values():
            by_venue.setdefault(market.venue, []).append(market)
        self.stores: dict[VenueId, BookStore] = {}
        self.health: dict[VenueId, FeedHealth] = {}
        self.venues: dict[VenueId, ReplayVenue] = {}
        self.paper: dict[VenueId, PaperVenue] = {}
        for venue in VenueId:
            store = replay_store(venue, clock.seconds)
            for market in by_venue.get(venue, []):
                if venue is VenueId.KALSHI:  # one ladder per market, NO read through it
                    store.register_complement(market.no_instrument_id, market.yes_instrument_id)
            replay = ReplayVenue(venue, store, by_venue.get(venue, []))
            paper = PaperVenue(
                replay,
                store,
                PaperConfig(starting_balance=UNLIMITED, latency=0.0, max_book_age=max_book_age),
                sleep=_no_wait,
                wall_clock=clock.seconds,
            )
            for market in by_venue.get(venue, []):
                paper.add_market(market)
            self.stores[venue], self.health[venue] = store, store.health
            self.venues[venue], self.paper[venue] = replay, paper
        self._sent: dict[str, _Sent] = {}
        self._by_workflow: dict[str, list[str]] = {}
        self._rejected: dict[str, OrderState] = {}  # refusals never reach the paper venue
        self.fair_values: FairValueSource | None = None  # set by whoever replays the oracles

    # -- data ------------------------------------------------------------------------------

    def apply(self, update: BookUpdate) -> None:
        """Load one recorded top-N snapshot as the instrument's whole book."""
        load_snapshot(self.stores[update.venue], update)

    def fair_value(self, venue: VenueId, market_id: str, outcome: Outcome) -> Decimal | None:
        """The model's fair probability of ``outcome`` now, from the replay's fair values (what
        the live order activities read from the scanner's); None without them."""
        market = self.markets.get((venue, market_id))
        if market is None or self.fair_values is None:
            return None
        quote = self.fair_values.fair_value(market)
        return None if quote is None else quote.of(outcome)

    def heartbeat(self, beat: FeedHeartbeat) -> None:
        """The venue's feed was alive: its valid books are current as of now."""
        feed_alive(self.stores[beat.venue])

    def resolve(self, resolution: Resolution) -> Decimal:
        payout = ONE if resolution.outcome is Outcome.YES else ZERO
        self.venues[resolution.venue].resolved[resolution.market_id] = payout
        return payout

    def yes_payout(self, venue: VenueId, market_id: str) -> Decimal | None:
        return self.venues[venue].resolved.get(market_id)

    # -- orders ----------------------------------------------------------------------------

    def order_delay(self, order: PlannedOrder) -> float:
        """Seconds the venue holds ``order`` before matching it (:mod:`pmarb.domain.timing`):
        its market's taker delay when the order would take liquidity from the book as the
        replay has it now, else 0. The lifecycle adds this to the order's latency, so the paper
        venue fills it against the book as of arrival plus the delay."""
        market = self.markets.get((order.venue, order.market_id))
        if market is None:
            return 0.0  # the paper venue refuses an unknown market anyway
        bid, ask = self.stores[order.venue].best_bid_ask(order.instrument_id)
        best = ask if order.side is Side.BUY else bid
        marketable = best is not None and crosses(order.side, order.limit_price, best)
        return order_delay(market, order, marketable=marketable)

    def place(
        self,
        workflow_id: str,
        purpose: OrderPurpose,
        items: Sequence[OrderToSend],
        expires_at: datetime | None,
    ) -> list[OrderOutcome]:
        """Send orders now, as the order activity does (a refusal is a REJECTED outcome)."""
        outcomes = []
        for item in items:
            planned = item.order
            request = OrderRequest(
                client_order_id=item.client_order_id,
                venue=planned.venue,
                market_id=planned.market_id,
                instrument_id=planned.instrument_id,
                outcome=planned.outcome,
                side=planned.side,
                price=planned.limit_price,
                size=planned.size,
                time_in_force=planned.time_in_force,
                expires_at=expires_at if planned.time_in_force is TimeInForce.GTD else None,
                post_only=planned.post_only,
                created_at=self.clock.now(),
            )
            if item.client_order_id not in self._sent:
                self._sent[item.client_order_id] = _Sent(workflow_id, planned.leg, purpose, request)
                self._by_workflow.setdefault(workflow_id, []).append(item.client_order_id)
            try:
                state = run_now(self.paper[planned.venue].place_order(request))
            except OrderRejectedError as e:
                state = OrderState(
                    request.client_order_id, None, OrderStatus.REJECTED, request.size, reason=e.code
                )
                self._rejected[request.client_order_id] = state
            outcomes.append(outcome_of(planned.leg, state))
        return outcomes

    def state(self, client_order_id: str) -> OrderState | None:
        sent = self._sent.get(client_order_id)
        if sent is None:
            return None
        found = run_now(self.paper[sent.request.venue].get_order(client_order_id))
        return found if found is not None else self._rejected.get(client_order_id)

    def outcome(self, client_order_id: str) -> OrderOutcome | None:
        sent = self._sent.get(client_order_id)
        state = self.state(client_order_id)
        return None if sent is None or state is None else outcome_of(sent.leg, state)

    def cancel(self, client_order_id: str) -> OrderOutcome | None:
        sent = self._sent.get(client_order_id)
        if sent is None:
            return None
        state = run_now(self.paper[sent.request.venue].cancel_order(client_order_id))
        return outcome_of(sent.leg, state)

    def ledger(self, workflow_id: str) -> list[LedgerOrder]:
        """The lifecycle's orders as the live ledger would hold them."""
        orders = []
        for coid in self._by_workflow.get(workflow_id, []):
            sent = self._sent[coid]
            state = self.state(coid)
            request = sent.request
            orders.append(
                LedgerOrder(
                    client_order_id=coid,
                    workflow_id=workflow_id,
                    leg=sent.leg,
                    venue=request.venue.value,
                    market_id=request.market_id,
                    instrument_id=request.instrument_id,
                    outcome=request.outcome,
                    side=request.side,
                    size=request.size,
                    filled_size=ZERO if state is None else state.filled_size,
                    average_price=None if state is None else state.average_price,
                    fees=ZERO if state is None else state.fees,
                    status=OrderStatus.PENDING if state is None else state.status,
                    purpose=sent.purpose,
                )
            )
        return orders

    def best_bid(self, venue: VenueId, instrument_id: str) -> Decimal | None:
        """The best bid of the instrument's book now (None: no book or no bid)."""
        bid, _ = self.stores[venue].best_bid_ask(instrument_id)
        return bid

    def mark(self, venue: VenueId, instrument_id: str) -> tuple[Decimal | None, str]:
        """Mid price (or the one side there is), as the live valuation marks positions, and
        which of them it is."""
        found = book_mark(*self.stores[venue].best_bid_ask(instrument_id))
        return (None, "ask") if found is None else (found.price, found.basis)
