"""The venue-neutral core of the simulator: markets, books, accounts, orders, fills and fees.

Every order arrives here as a :class:`Ticket` in domain terms (outcome, side, price on that
outcome) and is matched on its market's single YES-leg :class:`~pmarb.sim.book.Book`. Each
operation publishes one :class:`MarketUpdate` (level changes with their old and new sizes,
executions, touched orders) to the listeners, which are the protocol servers.

Fees follow each venue's published formula, ``rate × C × (p(1−p))^exponent``, with a per-order
accumulator: the fee charged for a fill is ``ceil(cumulative raw fee) − ceil(previous
cumulative)`` at the venue's rounding step, so one fill pays the classic rounded-up fee and many
small fills never pay more than one large one (Kalshi's documented rebate mechanics).
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import VenueId
from pmarb.domain.money import ONE, ZERO, ceil_to
from pmarb.domain.orders import OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side, to_yes_leg
from pmarb.domain.timing import DELAYED_CANCEL_REFUSED
from pmarb.sim.book import Book, RestingOrder
from pmarb.sim.units import (
    ONE_PRICE,
    UnitError,
    price_decimal,
    price_units,
    size_decimal,
    size_units,
)


class OrderError(Exception):
    """The exchange refused an order. ``code`` is venue-neutral; the protocol layer maps it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SelfTrade:
    CANCEL_TAKER = "taker_at_cross"
    CANCEL_MAKER = "maker"


@dataclass
class SimMarket:
    """A binary market as the simulator serves it. ``key`` is unique across venues."""

    key: str
    venue: VenueId
    market_id: str  # Polymarket condition id, Kalshi ticker
    yes_id: str  # Polymarket YES token id, Kalshi ticker
    no_id: str  # Polymarket NO token id, Kalshi "<ticker>:no"
    title: str
    rules: str
    tick: Decimal
    min_size: Decimal
    fees: FeeSchedule
    outcomes: tuple[str, str] = ("Yes", "No")
    neg_risk: bool = False
    event_key: str = ""
    series: str = ""
    pair_key: str | None = None  # markets on other venues that are the same contract
    close_time_ms: int = 0
    open_time_ms: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    # How long the venue holds an API order that is marketable on arrival before matching it
    # (pmarb.domain.timing): Polymarket's up/down and sports markets.
    taker_delay_ms: int = 0
    last_trade_price: int | None = None
    volume: int = 0
    # "open"; "closed" once trading has stopped and the outcome is pending; "settled" once it
    # is known (``result``, observable from ``settled_at_ms``).
    status: str = "open"
    result: Outcome | None = None
    settled_at_ms: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def tick_units(self) -> int:
        return price_units(self.tick)

    def outcome_of(self, instrument_id: str) -> Outcome:
        if instrument_id == self.yes_id:
            return Outcome.YES
        if instrument_id == self.no_id:
            return Outcome.NO
        raise KeyError(instrument_id)

    def instrument(self, outcome: Outcome) -> str:
        return self.yes_id if outcome is Outcome.YES else self.no_id


@dataclass(frozen=True)
class Ticket:
    """An order in domain terms, as a protocol layer parsed it."""

    venue: VenueId
    account: str
    market_key: str
    outcome: Outcome
    side: Side
    price: Decimal
    size: Decimal
    time_in_force: TimeInForce
    post_only: bool = False
    expires_at_ms: int | None = None
    client_order_id: str | None = None
    self_trade: str = SelfTrade.CANCEL_TAKER
    # Market orders (Polymarket FOK/FAK) may carry a limit that is off the tick grid.
    allow_off_tick: bool = False
    # Sent through the venue's API (the taker delay is announced for API orders), not by the
    # scenario's own flow.
    api: bool = False


@dataclass
class SimFill:
    fill_id: str
    trade_id: str
    order_id: str
    account: str
    market_key: str
    outcome: Outcome
    side: Side  # on ``outcome``
    price: Decimal  # on ``outcome``
    yes_price: Decimal
    yes_side: Side
    size: Decimal
    fee: Decimal
    is_taker: bool
    ts_ms: int
    counterparty_order_id: str


@dataclass
class SimOrder:
    order_id: str
    venue: VenueId
    account: str
    market_key: str
    outcome: Outcome
    side: Side
    price: Decimal  # on ``outcome``
    yes_side: Side
    yes_price: int
    size: int
    time_in_force: TimeInForce
    post_only: bool
    client_order_id: str | None
    created_ms: int
    expires_at_ms: int | None = None
    filled: int = 0
    status: OrderStatus = OrderStatus.PENDING
    reason: str | None = None
    fees: Decimal = ZERO
    notional: Decimal = ZERO  # sum of price × size over fills, on ``outcome``
    updated_ms: int = 0
    fills: list[SimFill] = field(default_factory=list)
    resting: RestingOrder | None = None
    raw_fee: Decimal = ZERO
    extra: dict[str, Any] = field(default_factory=dict)
    self_trade: str = SelfTrade.CANCEL_TAKER
    # Set while the venue's taker delay holds the order: it matches at this time, not before.
    held_until_ms: int | None = None

    @property
    def remaining(self) -> int:
        return self.size - self.filled

    @property
    def is_held(self) -> bool:
        return self.held_until_ms is not None

    @property
    def finished(self) -> bool:
        return not (self.is_open or self.is_held)

    @property
    def committed_size(self) -> int:
        """What the order ties up: all of it while held, its resting part otherwise."""
        return self.remaining if self.is_held else self.resting_size

    @property
    def resting_size(self) -> int:
        return self.resting.remaining if self.resting is not None else 0

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)

    @property
    def average_price(self) -> Decimal | None:
        return self.notional / size_decimal(self.filled) if self.filled else None


@dataclass(frozen=True)
class Execution:
    """One match between an incoming (taker) order and a resting (maker) order."""

    trade_id: str
    market_key: str
    taker: SimOrder
    maker: SimOrder
    yes_price: int
    size: int
    taker_fill: SimFill
    maker_fill: SimFill
    ts_ms: int


@dataclass(frozen=True)
class LevelChange:
    side: Side  # YES-leg side: BUY = a bid level, SELL = an ask level
    price: int
    before: int
    after: int


@dataclass
class MarketUpdate:
    market: SimMarket
    ts_ms: int
    changes: list[LevelChange] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    orders: list[SimOrder] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.changes or self.executions or self.orders)


@dataclass
class KalshiPosition:
    position: Decimal = ZERO  # positive = YES, negative = NO
    cost: Decimal = ZERO  # what the open position cost
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    traded: Decimal = ZERO
    updated_ms: int = 0


@dataclass
class Account:
    venue: VenueId
    account_id: str
    cash: Decimal
    unlimited: bool = False
    holdings: dict[str, Decimal] = field(default_factory=dict)  # Polymarket token balances
    positions: dict[str, KalshiPosition] = field(default_factory=dict)  # Kalshi, by ticker
    updated_ms: int = 0


ARRIVAL: ContextVar[float | None] = ContextVar("order_arrival", default=None)


@dataclass(frozen=True)
class ReceivedOrder:
    """Every order request a venue received, accepted or not, for counting duplicates."""

    venue: VenueId
    received_ms: int
    client_order_id: str | None
    order_id: str | None
    result: str  # "accepted" | "duplicate" | "rejected"
    reason: str | None
    account: str
    market_id: str | None
    # Wall-clock arrival (unix seconds), for latency measured from another process: the instant
    # the order request reached the handler, before any parsing or signature checks.
    received_at: float = field(default_factory=lambda: ARRIVAL.get() or time.time())


Listener = Callable[[MarketUpdate], None]


class Exchange:
    def __init__(
        self,
        clock_ms: Callable[[], int],
        *,
        seed: int = 0,
        starting_cash: Decimal = Decimal(10_000),
    ) -> None:
        self.clock_ms = clock_ms
        self.markets: dict[str, SimMarket] = {}
        self.books: dict[str, Book] = {}
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[SimFill] = []
        self.received: list[ReceivedOrder] = []
        self.accounts: dict[tuple[VenueId, str], Account] = {}
        self.starting_cash = starting_cash
        self._instruments: dict[tuple[VenueId, str], SimMarket] = {}
        self._listeners: list[Listener] = []
        self._ids = random.Random(f"ids-{seed}")
        self._trade_counter = itertools.count(1)
        self._pending: dict[str, MarketUpdate] = {}
        self._batch_depth = 0
        self._expiring: dict[str, SimOrder] = {}  # open orders with a deadline (GTD)
        self._held: dict[str, SimOrder] = {}  # orders inside a venue's taker delay
        self._open: dict[tuple[VenueId, str], dict[str, SimOrder]] = {}  # by account

    # ----------------------------------------------------------------- registry

    def add_market(self, market: SimMarket) -> None:
        if market.key in self.markets:
            raise ValueError(f"duplicate market key {market.key}")
        self.markets[market.key] = market
        self.books[market.key] = Book()
        self._instruments[(market.venue, market.yes_id)] = market
        self._instruments[(market.venue, market.no_id)] = market
        if market.venue is VenueId.KALSHI:
            self._instruments[(market.venue, market.market_id)] = market

    def market_for(self, venue: VenueId, instrument_id: str) -> SimMarket:
        try:
            return self._instruments[(venue, instrument_id)]
        except KeyError:
            raise KeyError(f"no {venue} market has instrument {instrument_id}") from None

    def find_market(self, venue: VenueId, instrument_id: str) -> SimMarket | None:
        return self._instruments.get((venue, instrument_id))

    def account(self, venue: VenueId, account_id: str, *, unlimited: bool = False) -> Account:
        key = (venue, account_id)
        account = self.accounts.get(key)
        if account is None:
            account = Account(venue, account_id, self.starting_cash, unlimited=unlimited)
            self.accounts[key] = account
        return account

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def new_hex_id(self) -> str:
        return "0x" + format(self._ids.getrandbits(256), "064x")

    # ----------------------------------------------------------------- batching

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Publish everything done inside as one update per market (one WS message)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._flush()

    def _update(self, market: SimMarket) -> MarketUpdate:
        update = self._pending.get(market.key)
        if update is None:
            update = MarketUpdate(market, self.clock_ms())
            self._pending[market.key] = update
        return update

    def _collect(self, market: SimMarket) -> None:
        update = self._update(market)
        for side, price, before, after in self.books[market.key].drain_touched():
            update.changes.append(LevelChange(side, price, before, after))
        if self._batch_depth == 0:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for update in pending.values():
            if not update.empty:
                for listener in self._listeners:
                    listener(update)

    # ----------------------------------------------------------------- orders

    def record_received(self, entry: ReceivedOrder) -> None:
        self.received.append(entry)

    def received_counts(self, venue: VenueId) -> Counter[str]:
        return Counter(
            entry.client_order_id or entry.order_id or ""
            for entry in self.received
            if entry.venue is venue
        )

    def submit(self, ticket: Ticket, order_id: str | None = None) -> SimOrder:
        """Validate, match and (for GTC/GTD) rest an order. Raises :class:`OrderError`."""
        market = self.markets[ticket.market_key]
        if not market.is_open:
            raise OrderError("market_closed", f"market {market.market_id} is {market.status}")
        book = self.books[market.key]
        now = self.clock_ms()
        leg = to_yes_leg(ticket.outcome, ticket.side, ticket.price)
        try:
            yes_price = price_units(leg.price)
            size = size_units(ticket.size)
        except UnitError as e:
            raise OrderError("invalid_price_or_size", str(e)) from None
        tick = market.tick_units
        if not ticket.allow_off_tick and yes_price % tick:
            raise OrderError(
                "invalid_tick", f"price {ticket.price} is not on the {market.tick} grid"
            )
        on_grid = tick <= yes_price <= ONE_PRICE - tick
        if not on_grid and not (ticket.allow_off_tick and 0 < yes_price < ONE_PRICE):
            raise OrderError("invalid_price", f"price {ticket.price} is outside the book")
        if size <= 0:
            raise OrderError("invalid_size", "size must be positive")
        if ticket.size < market.min_size and ticket.time_in_force in (
            TimeInForce.GTC,
            TimeInForce.GTD,
        ):
            raise OrderError("min_size", f"size {ticket.size} is below {market.min_size}")
        if ticket.post_only and ticket.time_in_force in (TimeInForce.FOK, TimeInForce.FAK):
            raise OrderError("invalid_post_only", "post-only orders cannot be FOK or FAK")
        if ticket.time_in_force is TimeInForce.GTD and (
            ticket.expires_at_ms is None or ticket.expires_at_ms <= now
        ):
            raise OrderError("invalid_expiration", "a GTD order needs a future expiration")
        account = self.account(ticket.venue, ticket.account)
        if not account.unlimited:
            self._check_funds(account, market, ticket, leg.side, yes_price, size)
        if ticket.post_only and book.would_cross(leg.side, yes_price):
            raise OrderError("post_only_cross", "post-only order would cross the book")

        order = SimOrder(
            order_id=order_id or self.new_id(),
            venue=ticket.venue,
            account=ticket.account,
            market_key=market.key,
            outcome=ticket.outcome,
            side=ticket.side,
            price=ticket.price,
            yes_side=leg.side,
            yes_price=yes_price,
            size=size,
            time_in_force=ticket.time_in_force,
            post_only=ticket.post_only,
            client_order_id=ticket.client_order_id,
            created_ms=now,
            expires_at_ms=ticket.expires_at_ms,
            updated_ms=now,
            self_trade=ticket.self_trade,
        )
        self.orders[order.order_id] = order
        update = self._update(market)
        update.orders.append(order)
        if (
            ticket.api
            and market.taker_delay_ms > 0
            and not ticket.post_only
            and book.would_cross(leg.side, yes_price)
        ):
            # The venue holds it, pending and uncancellable, its funds committed (see
            # _check_funds); :meth:`release_held` matches it once the delay has passed.
            order.held_until_ms = now + market.taker_delay_ms
            self._held[order.order_id] = order
            self._open.setdefault((order.venue, order.account), {})[order.order_id] = order
            self._collect(market)
            return order
        self._execute(market, order, now)
        return order

    def _execute(self, market: SimMarket, order: SimOrder, now: int) -> None:
        """Match an accepted order against the book and rest (GTC/GTD) or kill the rest."""
        book = self.books[market.key]
        if order.time_in_force is TimeInForce.FOK:
            available = book.crossing_size(
                order.yes_side, order.yes_price, exclude_account=order.account
            )
            if available < order.size:
                order.status = OrderStatus.CANCELLED
                order.reason = "fok_not_filled"
                self._collect(market)
                return

        self._match(market, book, order, order.self_trade, now)
        if order.remaining > 0 and order.status is OrderStatus.PENDING:
            if order.time_in_force in (TimeInForce.GTC, TimeInForce.GTD):
                order.resting = book.add(
                    order.order_id, order.account, order.yes_side, order.yes_price, order.remaining
                )
                order.status = OrderStatus.PARTIALLY_FILLED if order.filled else OrderStatus.OPEN
                if order.expires_at_ms is not None:
                    self._expiring[order.order_id] = order
                self._open.setdefault((order.venue, order.account), {})[order.order_id] = order
            else:
                order.status = OrderStatus.CANCELLED
                order.reason = "unfilled_remainder_cancelled"
        elif order.status is OrderStatus.PENDING:
            order.status = OrderStatus.FILLED
        self._collect(market)

    def release_held(self) -> None:
        """Match every held order whose taker delay has passed, against the book as it is now."""
        now = self.clock_ms()
        due = [o for o in self._held.values() if (o.held_until_ms or 0) <= now]
        if not due:
            return
        with self.batch():
            for order in sorted(due, key=lambda o: (o.held_until_ms or 0, o.created_ms)):
                del self._held[order.order_id]
                order.held_until_ms = None
                order.updated_ms = now
                market = self.markets[order.market_key]
                if not market.is_open:
                    self._cancel(order, "market_closed", now)
                    self._collect(market)
                else:
                    self._execute(market, order, now)

    def _match(
        self, market: SimMarket, book: Book, order: SimOrder, self_trade: str, now: int
    ) -> None:
        update = self._update(market)
        while order.remaining > 0:
            resting = book.next_maker(order.yes_side, order.yes_price)
            if resting is None:
                return
            maker = self.orders[resting.order_id]
            if maker.account == order.account:
                if self_trade == SelfTrade.CANCEL_MAKER:
                    self._cancel(maker, "self_trade", now)
                    continue
                order.status = OrderStatus.CANCELLED
                order.reason = "self_trade"
                return
            size = min(order.remaining, resting.remaining)
            match = book.take(resting, size)
            trade_id = self.new_id()
            maker_fill = self._fill(market, maker, match.price, size, False, trade_id, now)
            taker_fill = self._fill(market, order, match.price, size, True, trade_id, now)
            maker_fill.counterparty_order_id = order.order_id
            taker_fill.counterparty_order_id = maker.order_id
            if resting.remaining == 0:
                maker.status = OrderStatus.FILLED
                maker.resting = None
            else:
                maker.status = OrderStatus.PARTIALLY_FILLED
            update.orders.append(maker)
            update.executions.append(
                Execution(
                    trade_id,
                    market.key,
                    order,
                    maker,
                    match.price,
                    size,
                    taker_fill,
                    maker_fill,
                    now,
                )
            )
            market.last_trade_price = match.price
            market.volume += size

    def _fill(
        self,
        market: SimMarket,
        order: SimOrder,
        yes_price: int,
        size: int,
        is_taker: bool,
        trade_id: str,
        now: int,
    ) -> SimFill:
        yes_dec = price_decimal(yes_price)
        price = yes_dec if order.outcome is Outcome.YES else ONE - yes_dec
        count = size_decimal(size)
        fee = self._fee(market, order, yes_dec, count, maker=not is_taker)
        fill = SimFill(
            fill_id=self.new_id(),
            trade_id=trade_id,
            order_id=order.order_id,
            account=order.account,
            market_key=market.key,
            outcome=order.outcome,
            side=order.side,
            price=price,
            yes_price=yes_dec,
            yes_side=order.yes_side,
            size=count,
            fee=fee,
            is_taker=is_taker,
            ts_ms=now,
            counterparty_order_id="",
        )
        order.filled += size
        order.fees += fee
        order.notional += price * count
        order.updated_ms = now
        order.fills.append(fill)
        self.fills.append(fill)
        self._settle(market, self.account(order.venue, order.account), fill)
        return fill

    def _fee(
        self, market: SimMarket, order: SimOrder, yes_price: Decimal, count: Decimal, *, maker: bool
    ) -> Decimal:
        schedule = market.fees
        raw = replace(schedule, rounding_step=None).fee(yes_price, count, maker=maker)
        if raw == ZERO:
            return ZERO
        step = schedule.rounding_step
        before = order.raw_fee
        order.raw_fee += raw
        if step is None:
            return raw
        return ceil_to(order.raw_fee, step) - ceil_to(before, step)

    def _settle(self, market: SimMarket, account: Account, fill: SimFill) -> None:
        account.updated_ms = fill.ts_ms
        account.cash -= fill.fee
        if market.venue is VenueId.POLYMARKET:
            token = market.instrument(fill.outcome)
            held = account.holdings.get(token, ZERO)
            if fill.side is Side.BUY:
                account.cash -= fill.price * fill.size
                account.holdings[token] = held + fill.size
            else:
                account.cash += fill.price * fill.size
                account.holdings[token] = held - fill.size
            return
        position = account.positions.setdefault(market.market_id, KalshiPosition())
        position.updated_ms = fill.ts_ms
        position.fees_paid += fill.fee
        p, count = fill.yes_price, fill.size
        held = position.position
        if fill.yes_side is Side.BUY:
            closing = min(count, max(-held, ZERO))
            close_value, open_price = closing * (ONE - p), p
        else:
            closing = min(count, max(held, ZERO))
            close_value, open_price = closing * p, ONE - p
        opening = count - closing
        if closing:
            basis = position.cost * closing / abs(held)
            position.cost -= basis
            position.realized_pnl += close_value - basis
            account.cash += close_value
        account.cash -= opening * open_price
        position.cost += opening * open_price
        position.traded += count * open_price
        position.position = held + count if fill.yes_side is Side.BUY else held - count

    def _check_funds(
        self,
        account: Account,
        market: SimMarket,
        ticket: Ticket,
        yes_side: Side,
        yes_price: int,
        size: int,
    ) -> None:
        count = size_decimal(size)
        if market.venue is VenueId.POLYMARKET:
            if ticket.side is Side.SELL:
                token = market.instrument(ticket.outcome)
                committed = sum(
                    (
                        size_decimal(o.committed_size)
                        for o in self._open_orders(account)
                        if o.side is Side.SELL
                        and o.market_key == market.key
                        and o.outcome is ticket.outcome
                    ),
                    ZERO,
                )
                if account.holdings.get(token, ZERO) - committed < count:
                    raise OrderError("not_enough_balance", "not enough outcome tokens to sell")
                return
            required = ticket.price * count
        else:
            held = account.positions.get(market.market_id, KalshiPosition()).position
            if yes_side is Side.BUY:
                opening = count - min(count, max(-held, ZERO))
                required = opening * price_decimal(yes_price)
            else:
                opening = count - min(count, max(held, ZERO))
                required = opening * (ONE - price_decimal(yes_price))
        committed = sum((self._reserved(o) for o in self._open_orders(account)), ZERO)
        if account.cash - committed < required:
            raise OrderError("insufficient_balance", "insufficient balance for this order")

    def _open_orders(self, account: Account) -> Iterator[SimOrder]:
        orders = self._open.get((account.venue, account.account_id), {})
        for order_id, order in list(orders.items()):
            if order.is_open or order.is_held:
                yield order
            else:
                del orders[order_id]

    @staticmethod
    def _reserved(order: SimOrder) -> Decimal:
        if order.venue is VenueId.POLYMARKET and order.side is Side.SELL:
            return ZERO
        return order.price * size_decimal(order.committed_size)

    # ----------------------------------------------------------------- cancels

    def cancel(self, order_id: str, reason: str = "user_cancelled") -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderError("not_found", f"order {order_id} not found")
        if order.is_held:
            raise OrderError("delayed", DELAYED_CANCEL_REFUSED)
        if not order.is_open:
            raise OrderError("not_open", f"order {order_id} is {order.status.value}")
        self._cancel(order, reason, self.clock_ms())
        self._collect(self.markets[order.market_key])
        return order

    def _cancel(self, order: SimOrder, reason: str, now: int) -> int:
        removed = 0
        if order.resting is not None:
            removed = self.books[order.market_key].remove(order.resting)
            order.resting = None
        order.status = OrderStatus.EXPIRED if reason == "expired" else OrderStatus.CANCELLED
        order.reason = reason
        order.updated_ms = now
        self._update(self.markets[order.market_key]).orders.append(order)
        return removed

    def reduce(self, order_id: str, by: int) -> None:
        """Shrink a resting order, keeping its queue position (a pure decrease)."""
        order = self.orders[order_id]
        if order.resting is None:
            raise OrderError("not_open", f"order {order_id} is not resting")
        if by >= order.resting.remaining:
            self._cancel(order, "reduced_to_zero", self.clock_ms())
        else:
            self.books[order.market_key].reduce(order.resting, by)
            order.size -= by
            order.updated_ms = self.clock_ms()
        self._collect(self.markets[order.market_key])

    def close_market(self, market_key: str, result: Outcome | None = None) -> SimMarket:
        """Stop trading: every resting order on the market is cancelled; with ``result`` the
        market is settled too (else it waits, closed, for :meth:`settle_market`)."""
        market = self.markets[market_key]
        with self.batch():
            for order in self._resting_on(market_key):
                self.cancel(order.order_id, "market_closed")
        market.status = "closed"
        if result is not None:
            self.settle_market(market_key, result)
        return market

    def settle_market(self, market_key: str, result: Outcome) -> SimMarket:
        market = self.markets[market_key]
        market.status = "settled"
        market.result = result
        market.settled_at_ms = self.clock_ms()
        return market

    def _resting_on(self, market_key: str) -> list[SimOrder]:
        return [
            o
            for orders in self._open.values()
            for o in orders.values()
            if o.is_open and o.market_key == market_key
        ]

    def forget_finished_orders(self) -> int:
        """Drop finished orders and the fill and request logs, keeping memory flat over a long
        run in simulated time that nobody queries (a synthetic recording). A simulator serving
        clients must not call it: they may look those orders up."""
        for orders in self._open.values():
            for order_id in [oid for oid, order in orders.items() if order.finished]:
                del orders[order_id]
        finished = [oid for oid, order in self.orders.items() if order.finished]
        for order_id in finished:
            del self.orders[order_id]
        self.fills.clear()
        self.received.clear()
        return len(finished)

    def detach_listeners(self) -> list[Listener]:
        """Remove every listener (e.g. protocol servers built only to render payloads)."""
        detached, self._listeners = self._listeners, []
        return detached

    def expire(self) -> None:
        now = self.clock_ms()
        if not self._expiring:
            return
        with self.batch():
            for order in list(self._expiring.values()):
                if not order.is_open:
                    del self._expiring[order.order_id]
                elif order.expires_at_ms is not None and order.expires_at_ms <= now:
                    del self._expiring[order.order_id]
                    self._cancel(order, "expired", now)
                    self._collect(self.markets[order.market_key])

    # ----------------------------------------------------------------- views

    def book_levels(self, market_key: str, side: Side) -> list[tuple[int, int]]:
        return self.books[market_key].levels(side)
