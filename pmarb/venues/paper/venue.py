"""A paper venue that fills against the LIVE book store of a real adapter.

It is never more optimistic than the live venue:

- Latency: an order waits ``latency`` seconds, then sees the book as it is at that moment.
- Venue timing (:mod:`pmarb.domain.timing`): an order marketable on arrival on a market with a
  taker delay (Polymarket's up/down and sports markets) then waits that delay too, pending, its
  cash reserved and any cancel refused, and matches against the book as it is after the delay.
- It refuses (:class:`~pmarb.venues.base.StaleBookError`) while the instrument's book is not
  usable (stale feed, invalidated, suspect): no price can be trusted then.
- It takes visible depth only, within the limit price, level by level (each level is one fill,
  with its fee from the market's :class:`~pmarb.domain.fees.FeeSchedule`, rounded as the venue
  rounds one fill). Depth it took stays used up until that book next changes, because the real
  venue would have removed it and the feed has not shown the consequence yet.
- FOK fills all or nothing; FAK fills what is there and cancels the rest; GTC/GTD take what is
  marketable and rest the remainder, which fills (as maker, at its limit price) only when the
  live book trades THROUGH it (a resting buy at p needs a visible ask below p). Post-only orders
  that would cross are rejected, as both venues do.
- Buying needs free cash for the worst case (limit × size + fees); a resting order reserves
  it. Selling needs the shares: paper never goes short (buy the other outcome instead).
- Settlement: once the live venue reports a market resolved (:meth:`PaperVenue.market_resolution`),
  paper credits the payout of what it holds there to cash (a YES share pays 1 on YES, 0 on NO)
  and the holding goes, as a venue settles a position.

State is in memory and keyed by ``client_order_id``, so placing the same order twice returns
the first one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from pmarb.domain.book import BookSnapshot, Level, crosses
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.orders import Fill, OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.positions import Position
from pmarb.domain.risk import DEFAULT_STALE_QUOTE_SECONDS
from pmarb.domain.timing import DELAYED_CANCEL_REFUSED, gtd_refusal, order_delay
from pmarb.venues.base import MarketResolution, OrderRejectedError, StaleBookError, Venue
from pmarb.venues.store import BookStore

ENGINE_RESTARTED = "the paper engine restarted while the order was working"
ENGINE_STOPPED_DURING_DELAY = "the paper engine stopped while the venue held the order"
MARKET_RESOLVED = "the market resolved"
DELAYED = "delayed"


@dataclass(frozen=True)
class PaperConfig:
    starting_balance: Decimal = Decimal(1000)
    latency: float = 0.05
    max_book_age: float = DEFAULT_STALE_QUOTE_SECONDS


@dataclass
class _PaperOrder:
    request: OrderRequest
    status: OrderStatus = OrderStatus.PENDING
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    reserved: Decimal = ZERO
    reason: str | None = None
    fills: list[Fill] = field(default_factory=list)
    held: bool = False  # inside the venue's taker delay: pending, funds reserved, no cancel

    def state(self) -> OrderState:
        return OrderState(
            client_order_id=self.request.client_order_id,
            venue_order_id=f"paper-{self.request.client_order_id}",
            status=self.status,
            requested_size=self.request.size,
            filled_size=self.filled,
            average_price=self.notional / self.filled if self.filled > ZERO else None,
            fees=self.fees,
            reason=self.reason,
            notional=self.notional,
        )


@dataclass
class _Holding:
    size: Decimal = ZERO
    cost: Decimal = ZERO
    realized: Decimal = ZERO


class PaperVenue:
    """Implements :class:`pmarb.venues.base.Venue` with ``paper`` True."""

    def __init__(
        self,
        live: Venue,
        store: BookStore,
        config: PaperConfig | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.live = live
        self.store = store
        self.config = config or PaperConfig()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._cash = self.config.starting_balance
        self._markets: dict[str, Market] = {}
        self._orders: dict[str, _PaperOrder] = {}
        self._fills: list[Fill] = []
        self._holdings: dict[tuple[str, Outcome], _Holding] = {}
        self._restored: dict[str, OrderState] = {}
        # (book id, side of that book, price) -> (visible size then, size paper took from it)
        self._consumed: dict[tuple[str, str, Decimal], tuple[Decimal, Decimal]] = {}
        self._fill_seq = 0
        store.add_listener(self._on_book_update)

    @property
    def venue_id(self) -> VenueId:
        return self.live.venue_id

    @property
    def paper(self) -> bool:
        return True

    def add_market(self, market: Market) -> None:
        self._markets[market.market_id] = market

    async def discover_markets(self) -> list[Market]:
        markets = await self.live.discover_markets()
        for market in markets:
            self.add_market(market)
        return markets

    async def get_book(self, instrument_id: str) -> BookSnapshot:
        return await self.live.get_book(instrument_id)

    async def market_resolution(self, market_id: str) -> MarketResolution:
        """The live venue's answer; once it says resolved, paper settles the market too."""
        resolution = await self.live.market_resolution(market_id)
        if resolution.resolved and resolution.yes_payout is not None:
            self.settle(market_id, resolution.yes_payout)
        return resolution

    def settle(self, market_id: str, yes_payout: Decimal) -> Decimal:
        """Pay out what paper holds of a resolved market, as the venue credits a settlement: a
        YES share pays ``yes_payout`` (1 on YES, 0 on NO, 0.5 if void), a NO share the rest.
        The holdings go, and working orders on the market are cancelled (nothing trades on it
        any more). Returns the payout; settling again pays nothing."""
        for paper in self._orders.values():
            if paper.request.market_id == market_id and not paper.status.terminal:
                if paper.held:
                    continue  # inside the venue's taker delay: it ends on its own
                paper.status, paper.reason = OrderStatus.CANCELLED, MARKET_RESOLVED
                self._cash += paper.reserved
                paper.reserved = ZERO
        paid = ZERO
        for (held_market, outcome), holding in self._holdings.items():
            if held_market != market_id or holding.size <= ZERO:
                continue
            payout = holding.size * (yes_payout if outcome is Outcome.YES else ONE - yes_payout)
            self._cash += payout
            holding.realized += payout - holding.cost
            holding.size = holding.cost = ZERO
            paid += payout
        return paid

    # ------------------------------------------------------------------------------ orders

    def restore(
        self, positions: Sequence[Position], orders: Sequence[OrderState], *, cash: Decimal
    ) -> None:
        """Resume from the ledger after a restart: paper fills live only in memory, and the
        ledger is their durable record. Holdings come back, and cash is the ledger's (its
        opening balance and every cash flow since, :mod:`pmarb.store.portfolio`); orders keep
        their final states (so a retried placement finds them), and orders that were still
        working are cancelled, because the engine that would have filled them stopped."""
        for position in positions:
            holding = self._holdings.setdefault((position.market_id, position.outcome), _Holding())
            holding.size = position.size
            holding.cost = position.size * position.average_price
            holding.realized = position.realized_pnl
        self._cash = cash
        for state in orders:
            if state.client_order_id in self._orders:
                continue
            self._restored[state.client_order_id] = (
                state
                if state.status.terminal
                else replace(state, status=OrderStatus.CANCELLED, reason=ENGINE_RESTARTED)
            )

    async def place_order(self, order: OrderRequest) -> OrderState:
        existing = self._orders.get(order.client_order_id)
        if existing is not None:
            return existing.state()
        restored = self._restored.get(order.client_order_id)
        if restored is not None:
            return restored
        if order.venue is not self.venue_id:
            raise OrderRejectedError(self.venue_id, "wrong_venue", f"order is for {order.venue}")
        market = self._markets.get(order.market_id)
        if market is None:
            raise OrderRejectedError(self.venue_id, "unknown_market", f"{order.market_id} unknown")
        if order.time_in_force is TimeInForce.GTD and order.expires_at is not None:
            refused = gtd_refusal(self.venue_id, order.expires_at, self._now())
            if refused is not None:
                raise OrderRejectedError(self.venue_id, "invalid_expiration", refused)
        await self._sleep(self.config.latency)
        side = "asks" if order.side is Side.BUY else "bids"
        marketable = self._marketable(order, side)
        if order.post_only and marketable:
            raise OrderRejectedError(
                self.venue_id, "post_only_cross", "post-only order would cross"
            )
        self._check_funds(order, market)
        paper = _PaperOrder(order)
        self._orders[order.client_order_id] = paper
        delay = order_delay(market, order, marketable=bool(marketable))
        if delay > 0:
            await self._hold(paper, market, delay)
            try:  # it matches against the book as it is once the venue lets it go
                marketable = self._marketable(order, side)
            except StaleBookError as e:
                paper.status, paper.reason = OrderStatus.REJECTED, str(e)
                raise
        available = sum((level.size for level in marketable), ZERO)
        if order.time_in_force is TimeInForce.FOK and available < order.size:
            paper.status = OrderStatus.CANCELLED
            paper.reason = f"FOK killed: {available} visible within the limit, {order.size} wanted"
            return paper.state()
        self._take(paper, market, side, marketable, taker=True)
        remaining = order.size - paper.filled
        if remaining <= ZERO:
            paper.status = OrderStatus.FILLED
        elif order.time_in_force in (TimeInForce.FOK, TimeInForce.FAK):
            paper.status = OrderStatus.CANCELLED
            paper.reason = "remainder cancelled (immediate order)"
        else:
            paper.status = OrderStatus.PARTIALLY_FILLED if paper.filled > ZERO else OrderStatus.OPEN
            if order.side is Side.BUY:
                paper.reserved = self._worst_cost(market, order.price, remaining)
                self._cash -= paper.reserved
        return paper.state()

    def _marketable(self, order: OrderRequest, side: str) -> list[Level]:
        """The levels ``order`` could take now, or StaleBookError while no price can be
        trusted."""
        reason = self.store.unusable_reason(order.instrument_id, self.config.max_book_age)
        if reason is not None:
            raise StaleBookError(self.venue_id, "stale_book", f"{order.instrument_id}: {reason}")
        book = self.store.snapshot(order.instrument_id, depth=None)
        levels = self._available(order.instrument_id, side, book.levels_for(order.side))
        return [level for level in levels if crosses(order.side, order.price, level.price)]

    async def _hold(self, paper: _PaperOrder, market: Market, delay: float) -> None:
        """The venue's taker delay (:mod:`pmarb.domain.timing`): the order waits pending, the
        cash a buy needs reserved (a sell's shares are counted in :meth:`_check_funds`), and a
        cancel meanwhile is refused."""
        request = paper.request
        paper.held, paper.reason = True, DELAYED
        if request.side is Side.BUY:
            paper.reserved = self._worst_cost(market, request.price, request.size)
            self._cash -= paper.reserved
        try:
            await self._sleep(delay)
        except asyncio.CancelledError:
            # The venue would match it regardless; paper cannot, so it ends here, visibly.
            paper.status, paper.reason = OrderStatus.CANCELLED, ENGINE_STOPPED_DURING_DELAY
            raise
        finally:
            paper.held = False
            self._cash += paper.reserved
            paper.reserved = ZERO
            if paper.reason == DELAYED:
                paper.reason = None

    def _worst_cost(self, market: Market, price: Decimal, size: Decimal) -> Decimal:
        return price * size + market.fees.fee(price, size)

    def _check_funds(self, order: OrderRequest, market: Market) -> None:
        if order.side is Side.BUY:
            need = self._worst_cost(market, order.price, order.size)
            if need > self._cash:
                raise OrderRejectedError(
                    self.venue_id, "insufficient_balance", f"needs {need}, free {self._cash}"
                )
        else:
            held = self._holdings.get((order.market_id, order.outcome), _Holding()).size
            held -= sum(  # shares a delayed sell has claimed are not free to sell again
                (
                    other.request.size
                    for other in self._orders.values()
                    if other.held
                    and other.request.side is Side.SELL
                    and (other.request.market_id, other.request.outcome)
                    == (order.market_id, order.outcome)
                ),
                ZERO,
            )
            if held < order.size:
                raise OrderRejectedError(
                    self.venue_id, "insufficient_position", f"holds {held}, sells {order.size}"
                )

    def _key(self, instrument_id: str, side: str, price: Decimal) -> tuple[str, str, Decimal]:
        """Depth is tracked on the book that holds it (a Kalshi NO ask is a YES bid at 1 − p)."""
        book_id, flipped = self.store.primary(instrument_id)
        if not flipped:
            return book_id, side, price
        return book_id, "bids" if side == "asks" else "asks", ONE - price

    def _available(self, instrument_id: str, side: str, levels: Sequence[Level]) -> list[Level]:
        """Visible levels less what paper already took from them, while they look unchanged."""
        result: list[Level] = []
        for level in levels:
            key = self._key(instrument_id, side, level.price)
            taken = self._consumed.get(key)
            size = level.size
            if taken is not None:
                seen, amount = taken
                if seen == level.size:
                    size -= amount
                else:
                    del self._consumed[key]  # the venue has shown a change at this level
            if size > ZERO:
                result.append(Level(level.price, size))
        return result

    def _take(
        self, paper: _PaperOrder, market: Market, side: str, levels: Sequence[Level], *, taker: bool
    ) -> None:
        request = paper.request
        for level in levels:
            remaining = request.size - paper.filled
            if remaining <= ZERO:
                return
            quantity = min(remaining, level.size)
            key = self._key(request.instrument_id, side, level.price)
            # ``levels`` come from _available: an entry still here matches the visible size.
            entry = self._consumed.get(key)
            self._consumed[key] = (
                (entry[0], entry[1] + quantity) if entry is not None else (level.size, quantity)
            )
            self._record_fill(
                paper, market, level.price if taker else request.price, quantity, taker
            )

    def _record_fill(
        self, paper: _PaperOrder, market: Market, price: Decimal, quantity: Decimal, taker: bool
    ) -> None:
        request = paper.request
        fee = market.fees.fee(price, quantity, maker=not taker)
        holding = self._holdings.setdefault((request.market_id, request.outcome), _Holding())
        if request.side is Side.BUY:
            if paper.reserved > ZERO:
                release = min(paper.reserved, self._worst_cost(market, request.price, quantity))
                paper.reserved -= release
                self._cash += release
            self._cash -= price * quantity + fee
            holding.size += quantity
            holding.cost += price * quantity
        else:
            average = holding.cost / holding.size if holding.size > ZERO else ZERO
            self._cash += price * quantity - fee
            holding.realized += (price - average) * quantity
            holding.cost -= average * quantity
            holding.size -= quantity
        holding.realized -= fee
        paper.filled += quantity
        paper.notional += price * quantity
        paper.fees += fee
        self._fill_seq += 1
        fill = Fill(
            venue=self.venue_id,
            fill_id=f"paper-{self._fill_seq}",
            venue_order_id=f"paper-{request.client_order_id}",
            client_order_id=request.client_order_id,
            instrument_id=request.instrument_id,
            outcome=request.outcome,
            side=request.side,
            price=price,
            size=quantity,
            fee=fee,
            is_taker=taker,
            filled_at=datetime.fromtimestamp(self._wall_clock(), UTC),
        )
        paper.fills.append(fill)
        self._fills.append(fill)

    # ------------------------------------------------------------------------------ book events

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wall_clock(), UTC)

    def _expire(self, paper: _PaperOrder) -> bool:
        """End a good-til-date order whose time has come, as the venue would; True if it did."""
        expires_at = paper.request.expires_at
        if (
            paper.request.time_in_force is not TimeInForce.GTD
            or expires_at is None
            or paper.status.terminal
            or paper.held
            or self._now() < expires_at
        ):
            return False
        paper.status, paper.reason = OrderStatus.EXPIRED, "expired"
        self._cash += paper.reserved
        paper.reserved = ZERO
        return True

    def _on_book_update(self, instrument_id: str) -> None:
        """A resting order fills when the live book trades through its limit."""
        waiting = [
            paper
            for paper in self._orders.values()
            if paper.request.instrument_id == instrument_id
            and paper.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
            and not self._expire(paper)
        ]
        if not waiting or not self.store.is_usable(instrument_id, self.config.max_book_age):
            return
        book = self.store.snapshot(instrument_id, depth=None)
        for paper in waiting:
            request = paper.request
            side = "asks" if request.side is Side.BUY else "bids"
            levels = self._available(instrument_id, side, book.levels_for(request.side))
            through = [
                level
                for level in levels
                if (
                    level.price < request.price
                    if request.side is Side.BUY
                    else level.price > request.price
                )
            ]
            if not through:
                continue
            market = self._markets[request.market_id]
            if request.side is Side.SELL:
                held = self._holdings.get((request.market_id, request.outcome), _Holding()).size
                if held < request.size - paper.filled:
                    paper.status = OrderStatus.CANCELLED
                    paper.reason = "the shares to sell are no longer held"
                    continue
            self._take(paper, market, side, through, taker=False)
            if paper.filled >= request.size:
                paper.status = OrderStatus.FILLED
                self._cash += paper.reserved
                paper.reserved = ZERO
            elif paper.filled > ZERO:
                paper.status = OrderStatus.PARTIALLY_FILLED

    # ------------------------------------------------------------------------------ queries

    async def get_order(self, client_order_id: str) -> OrderState | None:
        paper = self._orders.get(client_order_id)
        if paper is None:
            return self._restored.get(client_order_id)
        self._expire(paper)
        return paper.state()

    async def cancel_order(self, client_order_id: str) -> OrderState:
        paper = self._orders.get(client_order_id)
        if paper is None:
            restored = self._restored.get(client_order_id)
            if restored is not None:
                return restored
            return OrderState(
                client_order_id, None, OrderStatus.CANCELLED, ZERO, reason="unknown order"
            )
        if paper.held:
            return replace(paper.state(), reason=DELAYED_CANCEL_REFUSED)
        if not paper.status.terminal:
            paper.status = OrderStatus.CANCELLED
            paper.reason = "cancelled"
            self._cash += paper.reserved
            paper.reserved = ZERO
        return paper.state()

    async def fills(self, *, since: datetime | None = None) -> Sequence[Fill]:
        return [f for f in self._fills if since is None or f.filled_at >= since]

    async def positions(self) -> Sequence[Position]:
        return [
            Position(
                venue=self.venue_id,
                market_id=market_id,
                outcome=outcome,
                size=holding.size,
                average_price=holding.cost / holding.size if holding.size > ZERO else ZERO,
                realized_pnl=holding.realized,
            )
            for (market_id, outcome), holding in self._holdings.items()
            if holding.size > ZERO or holding.realized != ZERO
        ]

    async def balance(self) -> Decimal:
        return self._cash

    async def aclose(self) -> None:
        self.store.remove_listener(self._on_book_update)
