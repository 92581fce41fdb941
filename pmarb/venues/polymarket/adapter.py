"""The Polymarket venue: Gamma discovery, CLOB REST and V2 orders, and the market feed.

Live and simulated exchanges differ only in ``PolymarketConfig`` (base URLs, credentials).

- Discovery walks Gamma's keyset endpoint (``/markets/keyset``, ``cursor``/``next_cursor``) and
  falls back to ``limit``/``offset`` on ``/markets`` where keyset is not served.
- Orders: see :mod:`pmarb.venues.polymarket.orders` for why a retried placement can never
  create a second order. An order the venue answers ``delayed`` (a taker delay,
  :mod:`pmarb.domain.timing`) is looked up again once the delay has passed, so an immediate
  order comes back matched or killed rather than pending. HTTP 425 (engine restart) and
  429/5xx back off and retry, then raise :class:`~pmarb.venues.base.RetryableVenueError`.
- Fills are final only at ``CONFIRMED`` (``MATCHED`` can still fail): :meth:`fills` returns
  confirmed trades only; an order's ``filled_size`` is what the venue has matched so far.
- The market feed is sharded (at most 200 assets per connection). A reconnect invalidates the
  shard's books until the new snapshots arrive; a tick-size change, a bad entry or a best
  bid/ask disagreement that persists past a short grace period triggers a REST resync of that
  book (``GET /book``), applied through the same handler as the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from pmarb.domain.book import BookSnapshot
from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.orders import Fill, OrderRequest, OrderState, OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
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
from pmarb.venues.fixedpoint import micros, to_decimal
from pmarb.venues.polymarket import fees as polymarket_fees
from pmarb.venues.polymarket.auth import ApiCredentials, L2Auth
from pmarb.venues.polymarket.gamma import GammaMarket, json_list, to_market
from pmarb.venues.polymarket.messages import BookEvent, RestBook
from pmarb.venues.polymarket.orders import OrderSigner, order_type
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.venues.store import BookStore

log = logging.getLogger(__name__)

MAX_ASSETS_PER_CONNECTION = 200
_END_CURSORS = frozenset({"", "LTE="})


_DELAYED = "DELAYED"
_FINAL_PRICES = frozenset({Decimal(0), Decimal(1), Decimal("0.5")})


@dataclass(frozen=True)
class PolymarketConfig:
    gamma_url: str = "https://gamma-api.polymarket.com"
    clob_url: str = "https://clob.polymarket.com"
    ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    data_url: str | None = "https://data-api.polymarket.com"
    private_key: str | None = field(default=None, repr=False)
    credentials: ApiCredentials | None = None
    signature_type: int = 0
    funder: str | None = None
    chain_id: int = 137
    silence_timeout: float = 60.0
    resync_grace: float = 1.0
    http_attempts: int = 5
    http_timeout: float = 10.0
    max_markets: int | None = None
    # A ``delayed`` order (pmarb.domain.timing) is looked up again after its market's delay,
    # every ``delayed_poll`` seconds for up to ``delayed_grace`` more, before it is left working.
    delayed_grace: float = 3.0
    delayed_poll: float = 0.1


def _book_from_rest(payload: RestBook) -> OrderBook:
    book = OrderBook(payload.asset_id)
    book.bids.replace((micros(level.price), micros(level.size)) for level in payload.bids)
    book.asks.replace((micros(level.price), micros(level.size)) for level in payload.asks)
    book.valid = True
    return book


def _order_status(status: str, matched: Decimal, size: Decimal) -> OrderStatus:
    upper = status.upper()
    if upper.startswith("CANCEL") or upper == "UNMATCHED":
        return OrderStatus.CANCELLED
    if upper == "MATCHED" or (size > ZERO and matched >= size):
        return OrderStatus.FILLED
    if upper == _DELAYED:
        return OrderStatus.PENDING  # held by the venue's taker delay, not matched yet
    if upper == "LIVE":
        return OrderStatus.PARTIALLY_FILLED if matched > ZERO else OrderStatus.OPEN
    return OrderStatus.PENDING


class PolymarketVenue:
    """Implements :class:`pmarb.venues.base.Venue` for Polymarket."""

    def __init__(
        self,
        config: PolymarketConfig,
        *,
        store: BookStore | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.signer = (
            OrderSigner(
                config.private_key,
                chain_id=config.chain_id,
                signature_type=config.signature_type,
                funder=config.funder,
            )
            if config.private_key
            else None
        )
        self.auth = (
            L2Auth(self.signer.address, config.credentials)
            if self.signer is not None and config.credentials is not None
            else None
        )
        self.store = store or BookStore(VenueId.POLYMARKET, FeedHealth("polymarket"))
        self._client = client or httpx.AsyncClient(timeout=config.http_timeout)
        self._owns_client = client is None
        self._markets: dict[str, Market] = {}
        self._by_instrument: dict[str, Market] = {}
        self._orders: dict[str, tuple[str, OrderRequest]] = {}  # client id -> (hash, request)
        self._timestamps: dict[str, int] = {}
        self._feeds: list[WebSocketFeed] = []
        self._handlers: list[MarketChannelHandler] = []
        self._pending_resyncs: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def venue_id(self) -> VenueId:
        return VenueId.POLYMARKET

    @property
    def paper(self) -> bool:
        return False

    def remember(self, market: Market) -> None:
        self._markets[market.market_id] = market
        self._by_instrument[market.yes_instrument_id] = market
        self._by_instrument[market.no_instrument_id] = market

    def market_for(self, instrument_id: str) -> Market | None:
        return self._by_instrument.get(instrument_id)

    # ------------------------------------------------------------------------------ HTTP

    async def _request(
        self,
        method: str,
        base: str,
        path: str,
        *,
        auth: bool = False,
        body: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        headers: dict[str, str] = {}
        factory = None
        if content is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            l2 = self.auth
            if l2 is None:
                raise OrderRejectedError(
                    VenueId.POLYMARKET,
                    "no_credentials",
                    "Polymarket credentials are not configured",
                )

            def factory(_method: str, _url: str) -> dict[str, str]:
                return l2.headers(method, path, content)

        try:
            response = await request_with_retry(
                self._client,
                method,
                base.rstrip("/") + path,
                attempts=self.config.http_attempts,
                headers=headers,
                headers_factory=factory,
                params={k: v for k, v in (params or {}).items() if v is not None},
                content=content,
            )
        except TransientHTTPError as e:
            raise RetryableVenueError(
                VenueId.POLYMARKET, str(e.status or "network"), str(e)
            ) from None
        if response.status_code not in ok:
            message = response.text[:300]
            with contextlib.suppress(ValueError):
                payload = response.json()
                if isinstance(payload, dict):
                    message = str(payload.get("error") or payload.get("errorMsg") or payload)
            if response.status_code in (401, 403):
                raise VenueError(VenueId.POLYMARKET, str(response.status_code), message)
            raise OrderRejectedError(VenueId.POLYMARKET, str(response.status_code), message)
        return response

    # ------------------------------------------------------------------------------ markets

    async def discover_markets(self) -> list[Market]:
        payloads = await self._gamma_markets()
        markets: list[Market] = []
        for payload in payloads:
            try:
                market = to_market(payload)
            except ValueError as e:
                log.warning("gamma market %s skipped: %s", payload.id, e)
                continue
            if market is not None:
                self.remember(market)
                markets.append(market)
        return markets

    async def _gamma_markets(self) -> list[GammaMarket]:
        base = {"active": "true", "closed": "false", "limit": 100}
        limit = self.config.max_markets
        result: list[GammaMarket] = []
        cursor: str | None = None
        try:
            while limit is None or len(result) < limit:
                response = await self._request(
                    "GET",
                    self.config.gamma_url,
                    "/markets/keyset",
                    params={**base, "cursor": cursor},
                )
                page: Any = msgspec.json.decode(response.content)
                items = (
                    page.get("markets", page.get("data", [])) if isinstance(page, dict) else page
                )
                result.extend(msgspec.convert(items, list[GammaMarket]))
                cursor = page.get("next_cursor") if isinstance(page, dict) else None
                if not cursor or cursor in _END_CURSORS or not items:
                    return result[:limit]
        except OrderRejectedError as e:
            if result:
                raise
            log.info("gamma keyset pagination unavailable (%s); using limit/offset", e)
        offset = 0
        while limit is None or len(result) < limit:
            response = await self._request(
                "GET", self.config.gamma_url, "/markets", params={**base, "offset": offset}
            )
            items = msgspec.json.decode(response.content, type=list[GammaMarket])
            result.extend(items)
            if len(items) < 100:
                break
            offset += len(items)
        return result[:limit]

    async def rest_book(self, token_id: str) -> RestBook:
        response = await self._request(
            "GET", self.config.clob_url, "/book", params={"token_id": token_id}
        )
        return msgspec.json.decode(response.content, type=RestBook)

    async def get_book(self, instrument_id: str) -> BookSnapshot:
        payload = await self.rest_book(instrument_id)
        return _book_from_rest(payload).snapshot(VenueId.POLYMARKET, datetime.now(UTC))

    async def market_resolution(self, market_id: str) -> MarketResolution:
        """Resolved once Gamma shows the market closed with final outcome prices (1/0, or
        0.5 each for an "unknown" resolution)."""
        response = await self._request(
            "GET",
            self.config.gamma_url,
            "/markets",
            params={"condition_ids": market_id, "closed": "true"},
        )
        for payload in msgspec.json.decode(response.content, type=list[GammaMarket]):
            if payload.condition_id != market_id and str(payload.id) != market_id:
                continue
            prices = [Decimal(p) for p in json_list(payload.outcome_prices)]
            if payload.closed and len(prices) == 2 and prices[0] in _FINAL_PRICES:
                return MarketResolution(resolved=True, yes_payout=prices[0])
        return MarketResolution(resolved=False)

    # ------------------------------------------------------------------------------ orders

    def _timestamp_ms(self, order: OrderRequest) -> int:
        if order.created_at is not None:
            return int(order.created_at.timestamp() * 1000)
        return self._timestamps.setdefault(order.client_order_id, time.time_ns() // 1_000_000)

    def _market_of(self, order: OrderRequest) -> Market:
        market = self._markets.get(order.market_id) or self._by_instrument.get(order.instrument_id)
        if market is None:
            raise OrderRejectedError(
                VenueId.POLYMARKET,
                "unknown_market",
                f"{order.market_id} is not a discovered market (tick size and neg-risk unknown)",
            )
        return market

    def _tick(self, instrument_id: str, market: Market) -> Decimal:
        """The live tick (the feed follows ``tick_size_change``), else the discovered one."""
        book = self.store.book(instrument_id)
        if book is not None and book.tick_size:
            return to_decimal(book.tick_size)
        return market.tick_size

    async def _order_by_hash(self, order_hash: str) -> dict[str, Any] | None:
        response = await self._request(
            "GET", self.config.clob_url, f"/data/order/{order_hash}", auth=True, ok=(200, 404)
        )
        if response.status_code == 404 or not response.content.strip():
            return None
        payload: Any = response.json()
        return payload if isinstance(payload, dict) and payload.get("id") else None

    def _state(
        self, client_order_id: str, payload: dict[str, Any], request: OrderRequest
    ) -> OrderState:
        matched = Decimal(str(payload.get("size_matched") or "0"))
        size = Decimal(str(payload.get("original_size") or request.size))
        status = _order_status(str(payload.get("status", "")), matched, size)
        return OrderState(
            client_order_id=client_order_id,
            venue_order_id=str(payload.get("id")),
            status=status,
            requested_size=size,
            filled_size=matched,
            average_price=Decimal(str(payload["price"]))
            if matched > ZERO and payload.get("price")
            else None,
            reason=None if status is not OrderStatus.CANCELLED else str(payload.get("status")),
        )

    async def place_order(self, order: OrderRequest) -> OrderState:
        if self.signer is None or self.auth is None:
            raise OrderRejectedError(
                VenueId.POLYMARKET, "no_credentials", "no key or API credentials"
            )
        market = self._market_of(order)
        built = self.signer.build(
            order,
            tick=self._tick(order.instrument_id, market),
            neg_risk=market.neg_risk,
            timestamp_ms=self._timestamp_ms(order),
        )
        self._orders[order.client_order_id] = (built.order_hash, order)
        # No lookup before posting: a retry signs the identical order, the venue refuses a
        # repeated hash, and the refusal path below finds the existing order. A lookup first
        # would put a round trip in front of every order.
        body = built.body(self.auth.credentials.api_key, order_type(order), order.post_only)
        response = await self._request(
            "POST", self.config.clob_url, "/order", auth=True, body=body, ok=(200, 201, 400)
        )
        payload: Any = response.json()
        if response.status_code == 400 or not payload.get("success", False):
            message = str(payload.get("errorMsg") or payload.get("error") or payload)
            again = await self._order_by_hash(built.order_hash)
            if again is not None:  # a duplicate of an order that exists, or a killed FOK/FAK
                return self._state(order.client_order_id, again, order)
            if order.time_in_force in (TimeInForce.FOK, TimeInForce.FAK) and (
                "killed" in message.lower() or "no orders found" in message.lower()
            ):
                return OrderState(
                    order.client_order_id,
                    built.order_hash,
                    OrderStatus.CANCELLED,
                    built.size,
                    reason=message,
                )
            raise OrderRejectedError(VenueId.POLYMARKET, "rejected", message)
        status = str(payload.get("status", "live"))
        order_id = str(payload.get("orderID") or built.order_hash)
        if status.upper() == _DELAYED:
            current = await self._after_delay(order_id, market)
        else:
            current = await self._order_by_hash(order_id)
        if current is not None:
            return self._state(order.client_order_id, current, order)
        filled = ZERO
        if status.lower() == "matched":
            filled = built.size
        return OrderState(
            client_order_id=order.client_order_id,
            venue_order_id=order_id,
            status=_order_status(status, filled, built.size)
            if order.time_in_force not in (TimeInForce.FOK, TimeInForce.FAK)
            or status.lower() != "live"
            else OrderStatus.CANCELLED,
            requested_size=built.size,
            filled_size=filled,
            average_price=order.price if filled > ZERO else None,
        )

    async def _after_delay(self, order_hash: str, market: Market) -> dict[str, Any] | None:
        """The venue holds a marketable order on some markets before matching it (up/down,
        sports; :mod:`pmarb.domain.timing`) and answers ``delayed``: wait out the market's delay,
        then look the order up until it has matched or been killed. If it is still delayed
        after the grace period it is returned as it is (working), for the caller to look up
        later."""
        deadline = time.monotonic() + market.taker_delay_seconds + self.config.delayed_grace
        await asyncio.sleep(market.taker_delay_seconds)
        while True:
            current = await self._order_by_hash(order_hash)
            still_delayed = current is None or str(current.get("status", "")).upper() == _DELAYED
            if not still_delayed or time.monotonic() >= deadline:
                return current
            await asyncio.sleep(self.config.delayed_poll)

    def recall(self, order: OrderRequest) -> None:
        """Learn an order sent earlier, maybe by a process since restarted: with the request as
        first recorded (same ``created_at``) the signed order, hence its hash, is identical."""
        if order.client_order_id in self._orders or self.signer is None:
            return
        try:
            market = self._market_of(order)
        except OrderRejectedError:
            return
        built = self.signer.build(
            order,
            tick=self._tick(order.instrument_id, market),
            neg_risk=market.neg_risk,
            timestamp_ms=self._timestamp_ms(order),
        )
        self._orders[order.client_order_id] = (built.order_hash, order)

    async def get_order(self, client_order_id: str) -> OrderState | None:
        known = self._orders.get(client_order_id)
        if known is None:
            return None  # without the request the order hash cannot be derived
        order_hash, request = known
        payload = await self._order_by_hash(order_hash)
        return None if payload is None else self._state(client_order_id, payload, request)

    async def cancel_order(self, client_order_id: str) -> OrderState:
        known = self._orders.get(client_order_id)
        if known is None:
            return OrderState(
                client_order_id, None, OrderStatus.CANCELLED, ZERO, reason="unknown order"
            )
        order_hash, request = known
        with contextlib.suppress(OrderRejectedError):
            await self._request(
                "DELETE", self.config.clob_url, "/order", auth=True, body={"orderID": order_hash}
            )
        state = await self.get_order(client_order_id)
        return state or OrderState(client_order_id, order_hash, OrderStatus.CANCELLED, request.size)

    # ------------------------------------------------------------------------------ portfolio

    async def _paged(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(100):
            response = await self._request(
                "GET",
                self.config.clob_url,
                path,
                auth=True,
                params={**params, "next_cursor": cursor},
            )
            page: Any = response.json()
            data = page.get("data", []) if isinstance(page, dict) else page
            rows.extend(row for row in data if isinstance(row, dict))
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if not cursor or cursor in _END_CURSORS or not data:
                break
        return rows

    def _fee_schedule(self, asset_id: str, fee_rate_bps: Any) -> FeeSchedule:
        market = self._by_instrument.get(asset_id)
        if market is not None:
            return market.fees
        rate = Decimal(str(fee_rate_bps or 0)) / 10_000
        return polymarket_fees.schedule_from(rate)

    async def fills(self, *, since: datetime | None = None) -> Sequence[Fill]:
        """CONFIRMED trades only, ours as taker or as maker."""
        if self.auth is None or self.signer is None:
            raise OrderRejectedError(VenueId.POLYMARKET, "no_credentials", "no API credentials")
        params = {"after": int(since.timestamp()) if since else None}
        client_ids = {order_hash: cid for cid, (order_hash, _) in self._orders.items()}
        me = {self.auth.credentials.api_key}
        result: list[Fill] = []
        for trade in await self._paged("/data/trades", params):
            if str(trade.get("status", "")).upper() != "CONFIRMED":
                continue
            at = datetime.fromtimestamp(int(str(trade.get("match_time") or 0)), UTC)
            if trade.get("trader_side", "TAKER") == "TAKER" and trade.get("owner") in me:
                legs = [(trade, str(trade.get("taker_order_id", "")), True, str(trade["size"]))]
            else:
                legs = [
                    (maker, str(maker.get("order_id", "")), False, str(maker["matched_amount"]))
                    for maker in trade.get("maker_orders", [])
                    if maker.get("owner") in me or maker.get("maker_address") == self.signer.funder
                ]
            for leg, order_id, is_taker, size_text in legs:
                asset = str(leg.get("asset_id") or trade["asset_id"])
                price = Decimal(str(leg["price"]))
                size = Decimal(size_text)
                side = (
                    Side.BUY if str(leg.get("side", trade["side"])).upper() == "BUY" else Side.SELL
                )
                market = self._by_instrument.get(asset)
                outcome = (
                    Outcome.NO
                    if market is not None and asset == market.no_instrument_id
                    else Outcome.YES
                )
                fee = self._fee_schedule(asset, leg.get("fee_rate_bps")).fee(
                    price, size, maker=not is_taker
                )
                result.append(
                    Fill(
                        venue=VenueId.POLYMARKET,
                        fill_id=f"{trade['id']}:{order_id}",
                        venue_order_id=order_id,
                        client_order_id=client_ids.get(order_id),
                        instrument_id=asset,
                        outcome=outcome,
                        side=side,
                        price=price,
                        size=size,
                        fee=fee,
                        is_taker=is_taker,
                        filled_at=at,
                    )
                )
        return result

    async def positions(self) -> Sequence[Position]:
        """Holdings from the data API (``/positions?user=<funder>``).

        Without the data API or a key there is no way to know, which is not the same as
        holding nothing: that raises rather than answering an empty list."""
        if self.config.data_url is None or self.signer is None:
            raise VenueError(
                VenueId.POLYMARKET,
                "positions_unavailable",
                "positions need the data API URL and a wallet key",
            )
        response = await self._request(
            "GET", self.config.data_url, "/positions", params={"user": self.signer.funder}
        )
        rows: Any = response.json()
        result: list[Position] = []
        for row in rows if isinstance(rows, list) else []:
            size = Decimal(str(row.get("size", 0)))
            if size == ZERO:
                continue
            asset = str(row.get("asset", ""))
            market = self._by_instrument.get(asset)
            outcome = (
                Outcome.NO
                if market is not None and asset == market.no_instrument_id
                else Outcome.YES
            )
            result.append(
                Position(
                    venue=VenueId.POLYMARKET,
                    market_id=str(
                        row.get("conditionId") or (market.market_id if market else asset)
                    ),
                    outcome=outcome,
                    size=size,
                    average_price=Decimal(str(row.get("avgPrice", 0))),
                    realized_pnl=Decimal(str(row.get("realizedPnl", 0))),
                )
            )
        return result

    async def balance(self) -> Decimal:
        response = await self._request(
            "GET",
            self.config.clob_url,
            "/balance-allowance",
            auth=True,
            params={"asset_type": "COLLATERAL", "signature_type": self.config.signature_type},
        )
        payload: Any = response.json()
        return Decimal(str(payload.get("balance", "0"))) / 1_000_000

    # ------------------------------------------------------------------------------ streaming

    def stream(self, asset_ids: Sequence[str]) -> list[WebSocketFeed]:
        """Feeds (one per ≤200 assets) keeping the store's books for ``asset_ids`` live."""
        feeds: list[WebSocketFeed] = []
        for start in range(0, len(asset_ids), MAX_ASSETS_PER_CONNECTION):
            shard = list(asset_ids[start : start + MAX_ASSETS_PER_CONNECTION])
            health = FeedHealth(f"polymarket-books-{start // MAX_ASSETS_PER_CONNECTION}")
            for asset in shard:
                self.store.attach(asset, health)
            handler = MarketChannelHandler(self.store, health, on_resync=self._want_resync)
            feed = WebSocketFeed(
                WebSocketFeedConfig(
                    url=self.config.ws_url,
                    name=health.name,
                    app_ping_text="PING",
                    silence_timeout=self.config.silence_timeout,
                ),
                health,
                on_connect=self._subscriber(shard),
                on_message=handler.on_message,
            )
            feeds.append(feed)
            self._handlers.append(handler)
        self._feeds.extend(feeds)
        return feeds

    def _subscriber(self, shard: list[str]) -> Any:
        async def on_connect(connection: Any) -> None:
            self.store.invalidate_all(shard)
            for asset in shard:  # REST for any book the initial dump does not restore
                self._want_resync(asset, "reconnected")
            await connection.send(
                json.dumps(
                    {
                        "assets_ids": shard,
                        "type": "market",
                        "custom_feature_enabled": True,
                        "initial_dump": True,
                    }
                )
            )

        return on_connect

    def _want_resync(self, asset_id: str, reason: str) -> None:
        if asset_id in self._pending_resyncs:
            return
        self._pending_resyncs.add(asset_id)
        log.debug("polymarket: resync %s (%s)", asset_id, reason)
        task = asyncio.get_running_loop().create_task(self._resync(asset_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync(self, asset_id: str) -> None:
        try:
            await asyncio.sleep(self.config.resync_grace)
            book = self.store.book(asset_id)
            if book is not None and book.valid and not book.suspect:
                return  # the feed repaired it (a fresh book message, or agreement again)
            payload = await self.rest_book(asset_id)
            event = BookEvent(
                asset_id=payload.asset_id,
                market=payload.market,
                bids=payload.bids,
                asks=payload.asks,
                tick_size=payload.tick_size,
            )
            handler = next(
                (h for h in self._handlers if h.health is self.store.health_for(asset_id)), None
            )
            (handler or MarketChannelHandler(self.store)).apply(event)
        except (VenueError, httpx.HTTPError, msgspec.ValidationError, ValueError) as e:
            log.warning("polymarket: resync of %s failed: %s", asset_id, e)
        finally:
            self._pending_resyncs.discard(asset_id)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._owns_client:
            await self._client.aclose()
