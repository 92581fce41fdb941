"""The Kalshi venue: REST v2 (markets, orderbook, V2 orders, portfolio) and the book feed.

Live and simulated exchanges differ only in ``KalshiConfig`` (base URLs, credentials).

Orders use V2 ``POST /portfolio/events/orders``: ``side`` is bid/ask on the YES leg, so an order
on NO is converted with :func:`pmarb.domain.parity.to_yes_leg` (buy NO at q = ask at 1 − q).
Idempotency is native: the request carries ``client_order_id``; a repeat answers 409, and the
adapter then returns the existing order. Retried POSTs (lost response, 5xx, 429) are therefore
safe. 429/5xx back off in :func:`pmarb.feeds.http.request_with_retry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from pmarb.domain.book import BookSnapshot
from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import Fill, OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side, YesLeg, complement, from_yes_leg, to_yes_leg
from pmarb.domain.positions import Position
from pmarb.feeds.health import FeedHealth
from pmarb.feeds.http import TransientHTTPError, request_with_retry
from pmarb.feeds.websocket import WebSocketFeed, WebSocketFeedConfig
from pmarb.venues.base import (
    MarketResolution,
    OrderRejectedError,
    RetryableVenueError,
    VenueError,
)
from pmarb.venues.book import OrderBook
from pmarb.venues.fixedpoint import micros
from pmarb.venues.kalshi import fees as kalshi_fees
from pmarb.venues.kalshi.auth import KalshiSigner
from pmarb.venues.kalshi.instruments import no_id, parse_instrument, yes_id
from pmarb.venues.kalshi.messages import (
    BalanceResponse,
    CreateOrderResponse,
    EventPayload,
    EventsPage,
    FillsPage,
    MarketPayload,
    MarketResponse,
    OrderPayload,
    OrdersPage,
    PositionsPage,
    RestFill,
    RestOrderbook,
    SeriesResponse,
)
from pmarb.venues.kalshi.stream import KalshiStreamHandler, fill_direction
from pmarb.venues.store import BookStore

log = logging.getLogger(__name__)
T = TypeVar("T")

_TIME_IN_FORCE = {
    TimeInForce.FOK: "fill_or_kill",
    TimeInForce.FAK: "immediate_or_cancel",
    TimeInForce.GTC: "good_till_canceled",
    TimeInForce.GTD: "good_till_canceled",
}
_STATUS = {
    "active": MarketStatus.OPEN,
    "open": MarketStatus.OPEN,
    "initialized": MarketStatus.PAUSED,
    "unopened": MarketStatus.PAUSED,
    "inactive": MarketStatus.PAUSED,
    "paused": MarketStatus.PAUSED,
    "closed": MarketStatus.CLOSED,
}
PRICE_STEP = Decimal("0.0001")
COUNT_STEP = Decimal("0.01")


@dataclass(frozen=True)
class KalshiConfig:
    rest_url: str = "https://external-api.kalshi.com/trade-api/v2"
    ws_url: str = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    key_id: str | None = None
    private_key_pem: bytes | None = field(default=None, repr=False)
    series_tickers: tuple[str, ...] = ()
    exchange_index: int | None = None
    subaccount: int | None = None
    use_yes_price: bool = True
    silence_timeout: float = 30.0
    http_attempts: int = 5
    http_timeout: float = 10.0


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _on_grid(value: Decimal, step: Decimal, what: str) -> str:
    quantised = value.quantize(step)
    if quantised != value:
        raise OrderRejectedError(
            VenueId.KALSHI, "invalid_" + what, f"{what} {value} is finer than {step}"
        )
    return str(quantised)


# A market is resolved once determined; "void" pays each side half, as the venue refunds it.
_RESOLVED_STATUSES = frozenset({"determined", "finalized", "settled", "amended"})
_RESULT_PAYOUT = {"yes": Decimal(1), "no": Decimal(0), "void": Decimal("0.5")}
_SETTLED_OUTCOME = {"yes": Outcome.YES, "no": Outcome.NO}


def book_from_rest(ticker: str, payload: RestOrderbook) -> OrderBook:
    """A REST orderbook (bids only, best last) as a YES book; NO bids become YES asks."""
    body = payload.orderbook_fp
    book = OrderBook(yes_id(ticker))
    yes = (body.yes_dollars if body else None) or []
    no = (body.no_dollars if body else None) or []
    book.bids.replace((micros(price), micros(count)) for price, count in yes)
    book.asks.replace(
        (micros(str(complement(Decimal(price)))), micros(count)) for price, count in no
    )
    book.valid = True
    return book


def market_from(payload: MarketPayload, event: EventPayload | None, fees: FeeSchedule) -> Market:
    step = min((r.step for r in payload.price_ranges or ()), default=Decimal("0.01"))
    status = _STATUS.get(
        payload.status, MarketStatus.SETTLED if payload.status else MarketStatus.OPEN
    )
    rules = "\n\n".join(text for text in (payload.rules_primary, payload.rules_secondary) if text)
    sources = event.settlement_sources if event and event.settlement_sources else []
    return Market(
        venue=VenueId.KALSHI,
        market_id=payload.ticker,
        title=(event.title if event and event.title else payload.title) or payload.ticker,
        yes_instrument_id=yes_id(payload.ticker),
        no_instrument_id=no_id(payload.ticker),
        status=status,
        subtitle=payload.yes_sub_title or payload.subtitle,
        rules=rules,
        outcome_names=(payload.yes_sub_title or "Yes", payload.no_sub_title or "No"),
        close_time=_time(payload.close_time),
        observation_time=_time(payload.occurrence_datetime),
        event_id=payload.event_ticker or None,
        series_id=(event.series_ticker if event else None) or None,
        settlement_source=sources[0].url if sources else None,
        category=event.category if event and event.category else None,
        tick_size=step,
        min_size=COUNT_STEP,
        fees=fees,
        strike_type=payload.strike_type,
        floor_strike=payload.floor_strike,
        cap_strike=payload.cap_strike,
        settled_outcome=_SETTLED_OUTCOME.get(payload.result.lower()),
    )


def _order_status(
    filled: Decimal, remaining: Decimal, venue_status: str | None, tif: TimeInForce | None
) -> OrderStatus:
    if venue_status == "canceled":
        return OrderStatus.CANCELLED
    if venue_status == "executed" or (remaining <= ZERO and filled > ZERO):
        return OrderStatus.FILLED
    if venue_status == "pending":
        return OrderStatus.PENDING
    if remaining <= ZERO or tif in (TimeInForce.FOK, TimeInForce.FAK):
        return OrderStatus.CANCELLED  # an immediate order's remainder never rests
    return OrderStatus.PARTIALLY_FILLED if filled > ZERO else OrderStatus.OPEN


class KalshiVenue:
    """Implements :class:`pmarb.venues.base.Venue` for Kalshi."""

    def __init__(
        self,
        config: KalshiConfig,
        *,
        store: BookStore | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.signer = (
            KalshiSigner(config.key_id, config.private_key_pem)
            if config.key_id and config.private_key_pem
            else None
        )
        self.store = store or BookStore(VenueId.KALSHI, FeedHealth("kalshi"))
        self._client = client or httpx.AsyncClient(timeout=config.http_timeout)
        self._owns_client = client is None
        self._fees: dict[str, FeeSchedule] = {}
        self._markets: dict[str, Market] = {}
        self._order_ids: dict[str, str] = {}  # client order id -> venue order id
        self._requests: dict[str, OrderRequest] = {}
        self._command_ids = itertools.count(1)
        self._feed: WebSocketFeed | None = None
        self._handler: KalshiStreamHandler | None = None
        self._subscribed: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def venue_id(self) -> VenueId:
        return VenueId.KALSHI

    @property
    def paper(self) -> bool:
        return False

    def market(self, ticker: str) -> Market | None:
        return self._markets.get(ticker)

    # ------------------------------------------------------------------------------ HTTP

    def _url(self, path: str) -> str:
        return self.config.rest_url.rstrip("/") + path

    async def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = False,
        ok: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> httpx.Response:
        if auth and self.signer is None:
            raise OrderRejectedError(
                VenueId.KALSHI, "no_credentials", "Kalshi credentials are not configured"
            )
        try:
            response = await request_with_retry(
                self._client,
                method,
                self._url(path),
                attempts=self.config.http_attempts,
                headers_factory=self.signer.headers if auth and self.signer else None,
                **kwargs,
            )
        except TransientHTTPError as e:
            raise RetryableVenueError(VenueId.KALSHI, str(e.status or "network"), str(e)) from None
        if response.status_code not in ok:
            code, message = self._error(response)
            if response.status_code in (401, 403):
                raise VenueError(VenueId.KALSHI, code, message)
            raise OrderRejectedError(VenueId.KALSHI, code, message)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> tuple[str, str]:
        try:
            body: Any = response.json()
        except ValueError:
            return str(response.status_code), response.text[:200]
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return str(error.get("code") or response.status_code), str(
                error.get("message") or error
            )
        return str(response.status_code), str(error or body)[:200]

    async def _get(self, path: str, kind: type[T], *, auth: bool = False, **params: Any) -> T:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self._request("GET", path, auth=auth, params=query)
        return msgspec.json.decode(response.content, type=kind)

    # ------------------------------------------------------------------------------ markets

    async def _series_fees(self, series_ticker: str) -> FeeSchedule:
        cached = self._fees.get(series_ticker)
        if cached is None:
            series = (await self._get(f"/series/{series_ticker}", SeriesResponse)).series
            cached = self._fees[series_ticker] = kalshi_fees.fee_schedule(
                series.fee_type, series.fee_multiplier
            )
        return cached

    async def discover_markets(self) -> list[Market]:
        markets: list[Market] = []
        for series in self.config.series_tickers or (None,):
            cursor: str | None = None
            while True:
                page = await self._get(
                    "/events",
                    EventsPage,
                    status="open",
                    with_nested_markets="true",
                    limit=200,
                    cursor=cursor,
                    series_ticker=series,
                )
                for event in page.events:
                    fees = (
                        await self._series_fees(event.series_ticker)
                        if event.series_ticker
                        else None
                    )
                    for payload in event.markets or ():
                        if payload.market_type != "binary":
                            continue
                        market = market_from(
                            payload, event, fees or kalshi_fees.fee_schedule("quadratic")
                        )
                        self._markets[market.market_id] = market
                        # Known before any reader asks: a NO id must never get a book of its own.
                        self.store.register_complement(
                            market.no_instrument_id, market.yes_instrument_id
                        )
                        markets.append(market)
                cursor = page.cursor or None
                if not cursor or not page.events:
                    break
        return markets

    async def get_book(self, instrument_id: str) -> BookSnapshot:
        ticker, outcome = parse_instrument(instrument_id)
        payload = await self._get(f"/markets/{ticker}/orderbook", RestOrderbook)
        yes = book_from_rest(ticker, payload).snapshot(VenueId.KALSHI, datetime.now(UTC))
        return yes if outcome is Outcome.YES else yes.complement(no_id(ticker))

    async def market_resolution(self, market_id: str) -> MarketResolution:
        market = (await self._get(f"/markets/{market_id}", MarketResponse)).market
        payout = _RESULT_PAYOUT.get(market.result.lower())
        if payout is None or market.status not in _RESOLVED_STATUSES:
            return MarketResolution(resolved=False)
        return MarketResolution(resolved=True, yes_payout=payout)

    # ------------------------------------------------------------------------------ orders

    def order_body(self, order: OrderRequest) -> dict[str, Any]:
        ticker, outcome = parse_instrument(order.instrument_id)
        if outcome is not order.outcome:
            raise OrderRejectedError(
                VenueId.KALSHI,
                "bad_instrument",
                f"{order.instrument_id} is not the {order.outcome} side",
            )
        leg = to_yes_leg(order.outcome, order.side, order.price)
        body: dict[str, Any] = {
            "ticker": order.market_id or ticker,
            "client_order_id": order.client_order_id,
            "side": "bid" if leg.side is Side.BUY else "ask",
            "count": _on_grid(order.size, COUNT_STEP, "count"),
            "price": _on_grid(leg.price, PRICE_STEP, "price"),
            "time_in_force": _TIME_IN_FORCE[order.time_in_force],
            "self_trade_prevention_type": "taker_at_cross",
            "post_only": order.post_only,
            "cancel_order_on_pause": False,
            "reduce_only": False,
        }
        if order.time_in_force is TimeInForce.GTD and order.expires_at is not None:
            body["expiration_time"] = int(order.expires_at.timestamp())
        if self.config.subaccount is not None:
            body["subaccount"] = self.config.subaccount
        if self.config.exchange_index is not None:
            body["exchange_index"] = self.config.exchange_index
        return body

    async def place_order(self, order: OrderRequest) -> OrderState:
        body = self.order_body(order)
        self._requests[order.client_order_id] = order
        response = await self._request(
            "POST", "/portfolio/events/orders", auth=True, json=body, ok=(200, 201, 409)
        )
        if response.status_code == 409:
            log.info("kalshi: %s already exists; returning it", order.client_order_id)
            existing = await self.get_order(order.client_order_id)
            if existing is None:
                raise RetryableVenueError(
                    VenueId.KALSHI,
                    "409",
                    "duplicate client_order_id but the order is not visible yet",
                )
            return existing
        created = msgspec.json.decode(response.content, type=CreateOrderResponse)
        self._order_ids[order.client_order_id] = created.order_id
        average = created.average_fill_price
        if average is not None and order.outcome is Outcome.NO:
            average = complement(average)
        fees = (created.average_fee_paid or ZERO) * created.fill_count
        return OrderState(
            client_order_id=order.client_order_id,
            venue_order_id=created.order_id,
            status=_order_status(
                created.fill_count, created.remaining_count, None, order.time_in_force
            ),
            requested_size=order.size,
            filled_size=created.fill_count,
            average_price=average,
            fees=fees,
        )

    async def _find_order(self, client_order_id: str) -> OrderPayload | None:
        order_id = self._order_ids.get(client_order_id)
        if order_id is not None:
            with contextlib.suppress(OrderRejectedError):
                response = await self._request("GET", f"/portfolio/orders/{order_id}", auth=True)
                payload: Any = msgspec.json.decode(response.content)
                order = payload.get("order", payload) if isinstance(payload, dict) else payload
                return msgspec.convert(order, OrderPayload)
        cursor: str | None = None
        for _ in range(20):
            page = await self._get(
                "/portfolio/orders",
                OrdersPage,
                auth=True,
                client_order_id=client_order_id,
                limit=1000,
                cursor=cursor,
            )
            for order in page.orders:
                if order.client_order_id == client_order_id:
                    self._order_ids[client_order_id] = order.order_id
                    return order
            cursor = page.cursor or None
            if not cursor:
                break
        return None

    def _state(self, client_order_id: str, order: OrderPayload) -> OrderState:
        request = self._requests.get(client_order_id)
        filled = order.fill_count_fp or ZERO
        remaining = order.remaining_count_fp or ZERO
        requested = order.initial_count_fp or (filled + remaining)
        cost = (order.taker_fill_cost_dollars or ZERO) + (order.maker_fill_cost_dollars or ZERO)
        average = cost / filled if filled > ZERO and cost > ZERO else None
        fees = (order.taker_fees_dollars or ZERO) + (order.maker_fees_dollars or ZERO)
        if average is not None and request is not None:
            # Fill cost is what the order's own side paid; express it on the requested outcome.
            ask_side = (order.book_side or ("ask" if order.side == "no" else "bid")) == "ask"
            leg_side = Side.SELL if ask_side else Side.BUY
            yes_average = average if leg_side is Side.BUY else complement(average)
            _, average = from_yes_leg(YesLeg(leg_side, yes_average), request.outcome)
        return OrderState(
            client_order_id=client_order_id,
            venue_order_id=order.order_id,
            status=_order_status(
                filled, remaining, order.status, request.time_in_force if request else None
            ),
            requested_size=requested,
            filled_size=filled,
            average_price=average,
            fees=fees,
        )

    async def get_order(self, client_order_id: str) -> OrderState | None:
        order = await self._find_order(client_order_id)
        return None if order is None else self._state(client_order_id, order)

    async def cancel_order(self, client_order_id: str) -> OrderState:
        order = await self._find_order(client_order_id)
        if order is None:
            return OrderState(
                client_order_id, None, OrderStatus.CANCELLED, ZERO, reason="unknown order"
            )
        if order.status == "resting":
            with contextlib.suppress(OrderRejectedError):  # already gone: not an error
                await self._request(
                    "DELETE", f"/portfolio/events/orders/{order.order_id}", auth=True
                )
            refreshed = await self._find_order(client_order_id)
            order = refreshed or order
        return self._state(client_order_id, order)

    # ------------------------------------------------------------------------------ portfolio

    async def fills(self, *, since: datetime | None = None) -> Sequence[Fill]:
        result: list[Fill] = []
        cursor: str | None = None
        min_ts = int(since.timestamp()) if since else None
        client_ids = {v: k for k, v in self._order_ids.items()}
        while True:
            page = await self._get(
                "/portfolio/fills", FillsPage, auth=True, min_ts=min_ts, limit=1000, cursor=cursor
            )
            result.extend(self._fill(fill, client_ids) for fill in page.fills)
            cursor = page.cursor or None
            if not cursor or not page.fills:
                return result

    @staticmethod
    def _fill(fill: RestFill, client_ids: dict[str, str]) -> Fill:
        yes_price = fill.yes_price_dollars
        if yes_price is None:
            yes_price = (
                complement(fill.no_price_dollars) if fill.no_price_dollars is not None else ZERO
            )
        outcome, side, price = fill_direction(
            yes_price, fill.outcome_side, fill.book_side, fill.side, fill.action
        )
        ticker = fill.market_ticker or fill.ticker
        if fill.created_time:
            at = _time(fill.created_time) or datetime.now(UTC)
        else:
            at = datetime.fromtimestamp(fill.ts or 0, UTC)
        return Fill(
            venue=VenueId.KALSHI,
            fill_id=fill.fill_id or fill.trade_id or "",
            venue_order_id=fill.order_id,
            client_order_id=client_ids.get(fill.order_id),
            instrument_id=f"{ticker}:{outcome.value}",
            outcome=outcome,
            side=side,
            price=price,
            size=fill.count_fp,
            fee=fill.fee_cost,
            is_taker=fill.is_taker,
            filled_at=at,
        )

    async def positions(self) -> Sequence[Position]:
        result: list[Position] = []
        cursor: str | None = None
        while True:
            page = await self._get(
                "/portfolio/positions", PositionsPage, auth=True, limit=1000, cursor=cursor
            )
            for held in page.market_positions:
                if held.position_fp == ZERO:
                    continue
                size = abs(held.position_fp)
                result.append(
                    Position(
                        venue=VenueId.KALSHI,
                        market_id=held.ticker,
                        outcome=Outcome.YES if held.position_fp > ZERO else Outcome.NO,
                        size=size,
                        average_price=held.market_exposure_dollars / size,
                        realized_pnl=held.realized_pnl_dollars,
                    )
                )
            cursor = page.cursor or None
            if not cursor or not page.market_positions:
                return result

    async def balance(self) -> Decimal:
        payload = await self._get("/portfolio/balance", BalanceResponse, auth=True)
        if payload.balance_dollars is not None:
            return payload.balance_dollars
        return Decimal(payload.balance or 0) / 100

    # ------------------------------------------------------------------------------ streaming

    def stream(self, tickers: Sequence[str], *, health: FeedHealth | None = None) -> WebSocketFeed:
        """A feed keeping the store's books for ``tickers`` live (run it with ``feed.run``)."""
        if self.signer is None:
            raise OrderRejectedError(
                VenueId.KALSHI, "no_credentials", "every Kalshi WebSocket is signed"
            )
        signer = self.signer
        health = health or self.store.health
        self._subscribed = list(tickers)
        for ticker in tickers:
            self.store.attach(yes_id(ticker), health)
            self.store.register_complement(no_id(ticker), yes_id(ticker))
        feed_ref: list[WebSocketFeed] = []
        handler = KalshiStreamHandler(
            self.store,
            health,
            use_yes_price=self.config.use_yes_price,
            on_gap=lambda sid, t: self._gap(feed_ref[0], sid, t),
        )

        async def on_connect(connection: Any) -> None:
            handler.forget_subscriptions()
            self.store.invalidate_all([yes_id(t) for t in self._subscribed])
            command_id = next(self._command_ids)
            handler.expect_subscription(command_id, self.config.use_yes_price)
            await connection.send(
                json.dumps(
                    {
                        "id": command_id,
                        "cmd": "subscribe",
                        "params": {
                            # Trades too: the recorder keeps them for backtests.
                            "channels": ["orderbook_delta", "trade"],
                            "market_tickers": self._subscribed,
                            "use_yes_price": self.config.use_yes_price,
                        },
                    }
                )
            )

        feed = WebSocketFeed(
            WebSocketFeedConfig(
                url=self.config.ws_url,
                name="kalshi-books",
                headers=lambda: signer.headers("GET", self.config.ws_url),
                silence_timeout=self.config.silence_timeout,
            ),
            health,
            on_connect=on_connect,
            on_message=handler.on_message,
        )
        feed_ref.append(feed)
        self._feed, self._handler = feed, handler
        return feed

    def _gap(self, feed: WebSocketFeed, sid: int, tickers: list[str]) -> None:
        """Ask for fresh snapshots of the markets behind a gap; reconnect if that fails."""
        if not tickers:
            feed.reconnect()
            return
        command = {
            "id": next(self._command_ids),
            "cmd": "update_subscription",
            "params": {"sids": [sid], "market_tickers": tickers, "action": "get_snapshot"},
        }

        async def send() -> None:
            try:
                await feed.send(json.dumps(command))
            except (ConnectionError, OSError) as e:
                log.warning("kalshi: snapshot request failed (%s); reconnecting", e)
                feed.reconnect()

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
