"""Kalshi as the simulator serves it: REST v2 under ``/trade-api/v2`` and the WS at
``/trade-api/ws/v2``, both with RSA-PSS request signing.

Shapes follow ``shared/fixtures/venues/kalshi`` and research/venues.md PART B: fixed-point
strings (``*_dollars`` 4 places, ``*_fp`` 2 places); order books hold bids only, ascending, best
LAST; V2 orders with ``side`` bid|ask on the YES leg and ``client_order_id`` dedupe (409); the
WS numbers orderbook messages per sid (``seq`` + 1 across every market of the sid) and reports
NO levels at NO-leg prices unless ``use_yes_price`` is true.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from pmarb.domain.market import VenueId
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.orders import OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.sim.exchange import (
    ARRIVAL,
    Exchange,
    MarketUpdate,
    OrderError,
    ReceivedOrder,
    SelfTrade,
    SimFill,
    SimMarket,
    SimOrder,
    Ticket,
)
from pmarb.sim.faults import Faults
from pmarb.sim.http import JSON, FaultMiddleware, dumps
from pmarb.sim.scenario import Scenario, iso
from pmarb.sim.units import ONE_PRICE, fixed, price_decimal, size_decimal
from pmarb.sim.wsserver import Client, SocketServer

PREFIX = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"
_TIF = {
    "fill_or_kill": TimeInForce.FOK,
    "immediate_or_cancel": TimeInForce.FAK,
    "good_till_canceled": TimeInForce.GTC,
}
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
CHANNELS = ("orderbook_delta", "ticker", "trade", "fill")


def dollars(value: Decimal) -> str:
    return fixed(value, 4)


def count(value: Decimal) -> str:
    return fixed(value, 2)


def error(status: int, code: str, message: str, details: str | None = None) -> JSON:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSON({"error": body}, status_code=status)


@dataclass(frozen=True)
class KalshiAuth:
    """The public key requests must be signed with; ``key_id`` pins the access key when set.
    Without a key, the three headers must still be present (any key id is its own account)."""

    public_key_pem: bytes | None = None
    key_id: str | None = None
    max_skew_seconds: float = 300.0

    def verify(self, headers: Any, method: str, path: str) -> str | None:
        """The access key if the signature holds, else None."""
        key_id = headers.get("KALSHI-ACCESS-KEY")
        timestamp = headers.get("KALSHI-ACCESS-TIMESTAMP")
        signature = headers.get("KALSHI-ACCESS-SIGNATURE")
        if not key_id or not timestamp or not signature or not timestamp.isdigit():
            return None
        if self.key_id is not None and key_id != self.key_id:
            return None
        if abs(int(timestamp) / 1000 - time.time()) > self.max_skew_seconds:
            return None
        if self.public_key_pem is None:
            return str(key_id)
        public_key = serialization.load_pem_public_key(self.public_key_pem)
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("the Kalshi public key must be RSA")
        try:
            public_key.verify(
                base64.b64decode(signature, validate=True),
                f"{timestamp}{method.upper()}{path}".encode(),
                _PSS,
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return None
        return str(key_id)


class KalshiVenue:
    def __init__(self, exchange: Exchange, scenario: Scenario, faults: Faults, auth: KalshiAuth):
        self.exchange = exchange
        self.scenario = scenario
        self.faults = faults
        self.auth = auth
        self.socket = KalshiSocket(self, faults)
        exchange.add_listener(self.socket.on_update)

    @property
    def markets(self) -> list[SimMarket]:
        return [m for m in self.exchange.markets.values() if m.venue is VenueId.KALSHI]

    def market(self, ticker: str) -> SimMarket | None:
        market = self.exchange.find_market(VenueId.KALSHI, ticker)
        return market if market is not None and market.market_id == ticker else None

    # ------------------------------------------------------------------ objects

    def ladders(self, market: SimMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(YES bids, NO bids) ascending, in their own leg's prices."""
        book = self.exchange.books[market.key]
        yes = sorted(book.bid_sizes.items())
        no = sorted((ONE_PRICE - p, s) for p, s in book.ask_sizes.items())
        return yes, no

    def market_object(self, market: SimMarket) -> dict[str, Any]:
        book = self.exchange.books[market.key]
        bid, ask = book.best_bid(), book.best_ask()
        bid_price = price_decimal(bid) if bid is not None else ZERO
        ask_price = price_decimal(ask) if ask is not None else ONE
        last = price_decimal(market.last_trade_price) if market.last_trade_price else ZERO
        ticker = market.market_id
        meta = market.meta
        payload: dict[str, Any] = {
            "can_close_early": True,
            "close_time": iso(market.close_time_ms),
            "created_time": iso(market.open_time_ms),
            "early_close_condition": "",
            "event_ticker": market.event_key.split(":", 1)[1],
            "expected_expiration_time": iso(market.close_time_ms + 3_600_000),
            "expiration_time": iso(market.close_time_ms + 7 * 86_400_000),
            "expiration_value": "",
            "last_price_dollars": dollars(last),
            "latest_expiration_time": iso(market.close_time_ms + 7 * 86_400_000),
            "liquidity_dollars": "0.0000",
            "market_type": "binary",
            "no_ask_dollars": dollars(ONE - bid_price),
            "no_bid_dollars": dollars(ONE - ask_price),
            "no_sub_title": market.title,
            "notional_value_dollars": "1.0000",
            "occurrence_datetime": iso(market.close_time_ms),
            "open_interest_fp": count(ZERO),
            "open_time": iso(market.open_time_ms),
            "previous_price_dollars": "0.0000",
            "previous_yes_ask_dollars": "0.0000",
            "previous_yes_bid_dollars": "0.0000",
            "price_level_structure": "linear_cent",
            "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": dollars(market.tick)}],
            "result": market.result.value if market.result is not None else "",
            "rules_primary": market.rules,
            "rules_secondary": "",
            "settlement_timer_seconds": 3600,
            "status": _MARKET_STATUS.get(market.status, "active"),
            "strike_type": meta.get("strike_type", "custom"),
            "ticker": ticker,
            "title": market.title,
            "subtitle": "",
            "updated_time": iso(self.exchange.clock_ms()),
            "volume_24h_fp": count(size_decimal(market.volume)),
            "volume_fp": count(size_decimal(market.volume)),
            "yes_ask_dollars": dollars(ask_price),
            "yes_ask_size_fp": count(size_decimal(book.ask_sizes.get(ask, 0) if ask else 0)),
            "yes_bid_dollars": dollars(bid_price),
            "yes_bid_size_fp": count(size_decimal(book.bid_sizes.get(bid, 0) if bid else 0)),
            "yes_sub_title": market.title,
            "exchange_index": 2 if market.series.startswith("KXBTC") else 0,
            "is_provisional": False,
        }
        if "floor_strike" in meta:
            payload["floor_strike"] = meta["floor_strike"]
        return payload

    def event_object(self, event_key: str, *, nested: bool) -> dict[str, Any]:
        event = self.scenario.events[event_key]
        first = self.exchange.markets[event.markets[0]]
        payload: dict[str, Any] = {
            "event_ticker": event_key.split(":", 1)[1],
            "series_ticker": first.series,
            "title": event.title,
            "sub_title": "",
            "category": self.scenario.series[first.series]["category"],
            "mutually_exclusive": False,
            "collateral_return_type": "",
            "strike_date": iso(first.close_time_ms),
            "available_on_brokers": True,
            "exchange_index": 2 if first.series.startswith("KXBTC") else 0,
            "product_metadata": {
                "cadence": self.scenario.series[first.series]["frequency"],
            },
        }
        if nested:
            payload["markets"] = [
                self.market_object(self.exchange.markets[key]) for key in event.markets
            ]
        return payload

    def order_object(self, order: SimOrder) -> dict[str, Any]:
        market = self.exchange.markets[order.market_key]
        taker_fees = sum((f.fee for f in order.fills if f.is_taker), ZERO)
        maker_fees = sum((f.fee for f in order.fills if not f.is_taker), ZERO)
        taker_cost = sum((f.yes_price * f.size for f in order.fills if f.is_taker), ZERO)
        maker_cost = sum((f.yes_price * f.size for f in order.fills if not f.is_taker), ZERO)
        if order.is_open:
            status = "resting"
        elif order.status is OrderStatus.FILLED:
            status = "executed"
        else:
            status = "canceled"
        yes_price = price_decimal(order.yes_price)
        bid = order.yes_side is Side.BUY
        return {
            "order_id": order.order_id,
            "user_id": order.account,
            "client_order_id": order.client_order_id or "",
            "ticker": market.market_id,
            "side": "yes" if bid else "no",
            "action": "buy",
            "outcome_side": "yes" if bid else "no",
            "book_side": "bid" if bid else "ask",
            "type": "limit",
            "status": status,
            "yes_price_dollars": dollars(yes_price),
            "no_price_dollars": dollars(ONE - yes_price),
            "fill_count_fp": count(size_decimal(order.filled)),
            "remaining_count_fp": count(size_decimal(order.resting_size)),
            "initial_count_fp": count(size_decimal(order.size)),
            "taker_fees_dollars": dollars(taker_fees),
            "maker_fees_dollars": dollars(maker_fees),
            "taker_fill_cost_dollars": dollars(taker_cost),
            "maker_fill_cost_dollars": dollars(maker_cost),
            "expiration_time": iso(order.expires_at_ms) if order.expires_at_ms else None,
            "created_time": iso(order.created_ms),
            "last_update_time": iso(order.updated_ms),
            "self_trade_prevention_type": order.extra.get("stp", SelfTrade.CANCEL_TAKER),
            "order_group_id": None,
            "cancel_order_on_pause": False,
            "subaccount_number": 0,
            "exchange_index": 0,
        }

    def fill_object(self, fill: SimFill) -> dict[str, Any]:
        market = self.exchange.markets[fill.market_key]
        bid = fill.yes_side is Side.BUY
        return {
            "fill_id": fill.fill_id,
            "trade_id": fill.trade_id,
            "order_id": fill.order_id,
            "ticker": market.market_id,
            "market_ticker": market.market_id,
            "outcome_side": "yes" if bid else "no",
            "book_side": "bid" if bid else "ask",
            "side": "yes" if bid else "no",
            "action": "buy",
            "count_fp": count(fill.size),
            "yes_price_dollars": dollars(fill.yes_price),
            "no_price_dollars": dollars(ONE - fill.yes_price),
            "is_taker": fill.is_taker,
            "fee_cost": dollars(fill.fee),
            "created_time": iso(fill.ts_ms),
            "ts": fill.ts_ms // 1000,
            "exchange_index": 0,
            "subaccount_number": 0,
        }

    # ------------------------------------------------------------------ public REST

    async def get_markets(self, request: Request) -> JSON:
        params = request.query_params
        markets = self.markets
        status = params.get("status")
        if status == "open":
            markets = [m for m in markets if m.is_open]
        elif status in ("closed", "settled"):
            markets = [m for m in markets if m.status == status]
        elif status:
            markets = []
        if "series_ticker" in params:
            markets = [m for m in markets if m.series == params["series_ticker"]]
        if "event_ticker" in params:
            wanted = set(params["event_ticker"].split(","))
            markets = [m for m in markets if m.event_key.split(":", 1)[1] in wanted]
        if "tickers" in params:
            wanted = set(params["tickers"].split(","))
            markets = [m for m in markets if m.market_id in wanted]
        limit = min(max(_int(params.get("limit"), 100), 1), 1000)
        start = _int(params.get("cursor"), 0) if params.get("cursor") else 0
        page = markets[start : start + limit]
        cursor = str(start + limit) if start + limit < len(markets) else ""
        return JSON({"markets": [self.market_object(m) for m in page], "cursor": cursor})

    async def get_market(self, request: Request) -> JSON:
        market = self.market(request.path_params["ticker"])
        if market is None:
            return error(404, "not_found", "market not found")
        return JSON({"market": self.market_object(market)})

    async def get_orderbook(self, request: Request) -> JSON:
        market = self.market(request.path_params["ticker"])
        if market is None:
            return error(404, "not_found", "market not found")
        depth = _int(request.query_params.get("depth"), 0)
        yes, no = self.ladders(market)
        if depth > 0:
            yes, no = yes[-depth:], no[-depth:]
        return JSON(
            {
                "orderbook_fp": {
                    "yes_dollars": [
                        [dollars(price_decimal(p)), count(size_decimal(s))] for p, s in yes
                    ],
                    "no_dollars": [
                        [dollars(price_decimal(p)), count(size_decimal(s))] for p, s in no
                    ],
                }
            }
        )

    async def get_events(self, request: Request) -> JSON:
        params = request.query_params
        nested = params.get("with_nested_markets") == "true"
        keys = [k for k, e in self.scenario.events.items() if e.venue is VenueId.KALSHI]
        if "series_ticker" in params:
            keys = [
                k
                for k in keys
                if self.scenario.events[k].meta.get("series") == params["series_ticker"]
            ]
        if params.get("status") == "open":  # an event is open while any of its markets is
            keys = [
                k
                for k in keys
                if any(self.exchange.markets[m].is_open for m in self.scenario.events[k].markets)
            ]
        limit = min(max(_int(params.get("limit"), 200), 1), 200)
        start = _int(params.get("cursor"), 0) if params.get("cursor") else 0
        page = keys[start : start + limit]
        cursor = str(start + limit) if start + limit < len(keys) else ""
        return JSON(
            {"events": [self.event_object(k, nested=nested) for k in page], "cursor": cursor}
        )

    async def get_event(self, request: Request) -> JSON:
        key = f"kalshi:{request.path_params['event_ticker']}"
        if key not in self.scenario.events:
            return error(404, "not_found", "event not found")
        payload = self.event_object(key, nested=False)
        markets = [
            self.market_object(self.exchange.markets[k]) for k in self.scenario.events[key].markets
        ]
        return JSON({"event": payload, "markets": markets})

    async def get_series(self, request: Request) -> JSON:
        info = self.scenario.series.get(request.path_params["ticker"])
        if info is None:
            return error(404, "not_found", "series not found")
        return JSON(
            {
                "series": {
                    "ticker": info["ticker"],
                    "title": info["title"],
                    "category": info["category"],
                    "frequency": info["frequency"],
                    "fee_type": info["fee_type"],
                    "fee_multiplier": info["fee_multiplier"],
                    "settlement_sources": [],
                    "tags": [],
                    "contract_url": "",
                    "exchange_index": 2 if info["ticker"].startswith("KXBTC") else 0,
                }
            }
        )

    # ------------------------------------------------------------------ portfolio

    def _auth(self, request: Request) -> str | JSON:
        key = self.auth.verify(request.headers, request.method, request.url.path)
        if key is None:
            return error(401, "unauthorized", "authentication failed")
        return key

    async def create_order(self, request: Request) -> JSON:
        ARRIVAL.set(time.time())
        account = self._auth(request)
        if isinstance(account, JSON):
            return account
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
        except ValueError as e:
            return JSON({"code": "bad_request", "message": "bad request", "details": str(e)}, 400)
        client_order_id = body.get("client_order_id")
        ticker = body.get("ticker")
        if not ticker:
            self._received(account, client_order_id, None, "rejected", "missing ticker")
            return error(400, "missing_parameters", "missing parameters", "ticker is required")
        if client_order_id and any(
            o.client_order_id == client_order_id
            and o.account == account
            and o.venue is VenueId.KALSHI
            for o in self.exchange.orders.values()
        ):
            self._received(account, client_order_id, None, "duplicate", "client_order_id exists")
            return error(409, "order_already_exists", "order already exists", client_order_id)
        market = self.market(str(ticker))
        if market is None:
            self._received(account, client_order_id, None, "rejected", "market not found")
            return error(404, "market_not_found", "market not found")
        try:
            ticket = self._ticket(account, market, body)
        except (ValueError, KeyError, InvalidOperation, TypeError) as e:
            self._received(account, client_order_id, None, "rejected", str(e))
            return error(400, "invalid_order", "invalid order", str(e))
        try:
            order = self.exchange.submit(ticket)
        except OrderError as e:
            self._received(account, client_order_id, None, "rejected", e.code)
            code = "insufficient_balance" if e.code == "insufficient_balance" else "invalid_order"
            details = "post only cross" if e.code == "post_only_cross" else e.message
            return error(400, code, code.replace("_", " "), details)
        order.extra["stp"] = ticket.self_trade
        self._received(account, client_order_id, order.order_id, "accepted", None)
        response: dict[str, Any] = {
            "order_id": order.order_id,
            "client_order_id": client_order_id or "",
            "fill_count": count(size_decimal(order.filled)),
            "remaining_count": count(size_decimal(order.resting_size)),
            "ts_ms": self.exchange.clock_ms(),
        }
        if order.filled:
            response["average_fill_price"] = dollars(
                sum((f.yes_price * f.size for f in order.fills), ZERO) / size_decimal(order.filled)
            )
            response["average_fee_paid"] = dollars(order.fees / size_decimal(order.filled))
        return JSON(response, status_code=201)

    def _ticket(self, account: str, market: SimMarket, body: dict[str, Any]) -> Ticket:
        side = body.get("side")
        if side not in ("bid", "ask"):
            raise ValueError(f"side must be bid or ask, got {side!r}")
        if not isinstance(body.get("count"), str) or not isinstance(body.get("price"), str):
            raise ValueError("count and price are decimal strings")
        size = Decimal(body["count"])
        price = Decimal(body["price"])
        if size <= 0 or size != size.quantize(Decimal("0.01")):
            raise ValueError(f"invalid count {body['count']}")
        tif_name = body.get("time_in_force")
        if tif_name not in _TIF:
            raise ValueError(f"invalid time_in_force {tif_name!r}")
        tif = _TIF[tif_name]
        expires = body.get("expiration_time")
        expires_at_ms = None
        if expires is not None:
            if tif is not TimeInForce.GTC:
                raise ValueError("expiration_time needs good_till_canceled")
            tif = TimeInForce.GTD
            expires_at_ms = int(expires) * 1000
        stp = body.get("self_trade_prevention_type", SelfTrade.CANCEL_TAKER)
        if stp not in (SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_MAKER):
            raise ValueError(f"invalid self_trade_prevention_type {stp!r}")
        return Ticket(
            venue=VenueId.KALSHI,
            account=account,
            market_key=market.key,
            outcome=Outcome.YES,
            side=Side.BUY if side == "bid" else Side.SELL,
            price=price,
            size=size,
            time_in_force=tif,
            post_only=bool(body.get("post_only", False)),
            expires_at_ms=expires_at_ms,
            client_order_id=body.get("client_order_id") or None,
            self_trade=stp,
        )

    def _received(
        self,
        account: str,
        client_order_id: Any,
        order_id: str | None,
        result: str,
        reason: str | None,
    ) -> None:
        self.exchange.record_received(
            ReceivedOrder(
                VenueId.KALSHI,
                self.exchange.clock_ms(),
                str(client_order_id) if client_order_id else None,
                order_id,
                result,
                reason,
                account,
                None,
            )
        )

    async def cancel_order(self, request: Request) -> JSON:
        account = self._auth(request)
        if isinstance(account, JSON):
            return account
        order = self.exchange.orders.get(request.path_params["order_id"])
        if order is None or order.account != account or order.venue is not VenueId.KALSHI:
            return error(404, "not_found", "order not found")
        if not order.is_open:
            return error(400, "order_not_open", "order is not resting")
        reduced = order.resting_size
        self.exchange.cancel(order.order_id)
        return JSON(
            {
                "order_id": order.order_id,
                "client_order_id": order.client_order_id or "",
                "reduced_by": count(size_decimal(reduced)),
            }
        )

    def _own_orders(self, account: str) -> list[SimOrder]:
        return [
            o
            for o in self.exchange.orders.values()
            if o.venue is VenueId.KALSHI and o.account == account
        ]

    async def get_orders(self, request: Request) -> JSON:
        account = self._auth(request)
        if isinstance(account, JSON):
            return account
        params = request.query_params
        orders = [self.order_object(o) for o in self._own_orders(account)]
        if "ticker" in params:
            orders = [o for o in orders if o["ticker"] == params["ticker"]]
        if "status" in params:
            orders = [o for o in orders if o["status"] == params["status"]]
        if "client_order_id" in params:
            orders = [o for o in orders if o["client_order_id"] == params["client_order_id"]]
        return JSON({"orders": orders, "cursor": ""})

    async def get_order(self, request: Request) -> JSON:
        account = self._auth(request)
        if isinstance(account, JSON):
            return account
        order = self.exchange.orders.get(request.path_params["order_id"])
        if order is None or order.account != account or order.venue is not VenueId.KALSHI:
            return error(404, "not_found", "order not found")
        return JSON({"order": self.order_object(order)})

    async def get_fills(self, request: Request) -> JSON:
        account = self._auth(request)
        if isinstance(account, JSON):
            return account
        params = request.query_params
        fills = [
            self.fill_object(f)
            for f in self.exchange.fills
            if f.account == account and self.exchange.markets[f.market_key].venue is VenueId.KALSHI
        ]
        if "ticker" in params:
            fills = [f for f in fills if f["ticker"] == params["ticker"]]
        if "order_id" in params:
            fills = [f for f in fills if f["order_id"] == params["order_id"]]
        if "min_ts" in params:
            fills = [f for f in fills if f["ts"] >= _int(params["min_ts"], 0)]
        if "max_ts" in params:
            fills = [f for f in fills if f["ts"] <= _int(params["max_ts"], 0)]
        return JSON({"fills": fills, "cursor": ""})

    async def get_positions(self, request: Request) -> JSON:
        account_id = self._auth(request)
        if isinstance(account_id, JSON):
            return account_id
        account = self.exchange.account(VenueId.KALSHI, account_id)
        positions = []
        events: dict[str, dict[str, Decimal]] = {}
        for ticker, position in account.positions.items():
            if "ticker" in request.query_params and request.query_params["ticker"] != ticker:
                continue
            market = self.market(ticker)
            assert market is not None
            positions.append(
                {
                    "ticker": ticker,
                    "exchange_index": 0,
                    "total_traded_dollars": dollars(position.traded),
                    "position_fp": count(position.position),
                    "market_exposure_dollars": dollars(position.cost),
                    "realized_pnl_dollars": dollars(position.realized_pnl),
                    "fees_paid_dollars": dollars(position.fees_paid),
                    "last_updated_ts": iso(position.updated_ms),
                }
            )
            event = events.setdefault(
                market.event_key.split(":", 1)[1],
                {"cost": ZERO, "shares": ZERO, "pnl": ZERO, "fees": ZERO},
            )
            event["cost"] += position.cost
            event["shares"] += abs(position.position)
            event["pnl"] += position.realized_pnl
            event["fees"] += position.fees_paid
        return JSON(
            {
                "cursor": "",
                "market_positions": positions,
                "event_positions": [
                    {
                        "event_ticker": ticker,
                        "total_cost_dollars": dollars(v["cost"]),
                        "total_cost_shares_fp": count(v["shares"]),
                        "event_exposure_dollars": dollars(v["cost"]),
                        "realized_pnl_dollars": dollars(v["pnl"]),
                        "fees_paid_dollars": dollars(v["fees"]),
                    }
                    for ticker, v in events.items()
                ],
            }
        )

    async def get_balance(self, request: Request) -> JSON:
        account_id = self._auth(request)
        if isinstance(account_id, JSON):
            return account_id
        account = self.exchange.account(VenueId.KALSHI, account_id)
        exposure = sum((p.cost for p in account.positions.values()), ZERO)
        return JSON(
            {
                "balance": int(account.cash * 100),
                "balance_dollars": dollars(account.cash),
                "portfolio_value": int(exposure * 100),
                "updated_ts": self.exchange.clock_ms() // 1000,
                "balance_breakdown": [{"exchange_index": 0, "balance": dollars(account.cash)}],
            }
        )

    def app(self) -> Any:
        p = PREFIX
        app = Starlette(
            routes=[
                Route(f"{p}/markets", self.get_markets),
                Route(f"{p}/markets/{{ticker}}", self.get_market),
                Route(f"{p}/markets/{{ticker}}/orderbook", self.get_orderbook),
                Route(f"{p}/events", self.get_events),
                Route(f"{p}/events/{{event_ticker}}", self.get_event),
                Route(f"{p}/series/{{ticker}}", self.get_series),
                Route(f"{p}/portfolio/events/orders", self.create_order, methods=["POST"]),
                Route(
                    f"{p}/portfolio/events/orders/{{order_id}}",
                    self.cancel_order,
                    methods=["DELETE"],
                ),
                Route(f"{p}/portfolio/orders", self.get_orders),
                Route(f"{p}/portfolio/orders/{{order_id}}", self.get_order),
                Route(f"{p}/portfolio/fills", self.get_fills),
                Route(f"{p}/portfolio/positions", self.get_positions),
                Route(f"{p}/portfolio/balance", self.get_balance),
            ]
        )
        return FaultMiddleware(app, self.faults, "kalshi")


@dataclass
class Subscription:
    sid: int
    channel: str
    tickers: set[str] | None  # None: every market
    use_yes_price: bool
    seq: int = 0
    skip_next: bool = False


class KalshiSocket(SocketServer):
    name = "kalshi_ws"
    malformed_frame = '{"type": "orderbook_delta", "sid": '
    ping_interval = 10.0
    heartbeat_payload = b"heartbeat"

    def __init__(self, venue: KalshiVenue, faults: Faults) -> None:
        super().__init__(faults)
        self.venue = venue
        faults.register_seq_gap_hook(self.skip_next_seq)

    def accepts_path(self, path: str) -> bool:
        return path.split("?", 1)[0].rstrip("/") == WS_PATH

    def authorize(self, request: WsRequest) -> WsResponse | None:
        key = self.venue.auth.verify(request.headers, "GET", WS_PATH)
        if key is None:
            return WsResponse(401, "Unauthorized", _ws_headers(), b"authentication failed\n")
        return None

    def on_open(self, client: Client) -> None:
        client.state["subs"] = {}
        client.state["next_sid"] = 1
        client.state["key"] = client.headers.get("KALSHI-ACCESS-KEY")

    def skip_next_seq(self) -> int:
        affected = 0
        for client in self.clients:
            for sub in client.state.get("subs", {}).values():
                if sub.channel == "orderbook_delta":
                    sub.skip_next = True
                    affected += 1
        return affected

    # ------------------------------------------------------------------ commands

    def on_text(self, client: Client, text: str) -> None:
        try:
            command = json.loads(text)
            if not isinstance(command, dict):
                raise ValueError
        except ValueError:
            client.send(
                dumps(
                    {
                        "id": None,
                        "type": "error",
                        "msg": {"code": 1, "msg": "Unable to parse message"},
                    }
                )
            )
            return
        request_id = command.get("id")
        name = command.get("cmd")
        params = command.get("params")
        handlers = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "update_subscription": self._update,
            "list_subscriptions": self._list,
        }
        handler = handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            self._error(client, request_id, 5, "Unknown command")
            return
        if name != "list_subscriptions" and not isinstance(params, dict):
            self._error(client, request_id, 2, "Params required")
            return
        handler(client, request_id, params or {})

    def _error(self, client: Client, request_id: Any, code: int, message: str) -> None:
        client.send(
            dumps({"id": request_id, "type": "error", "msg": {"code": code, "msg": message}})
        )

    def _tickers(self, client: Client, request_id: Any, params: dict[str, Any]) -> list[str] | None:
        tickers = params.get("market_tickers")
        if tickers is None and params.get("market_ticker"):
            tickers = [params["market_ticker"]]
        if tickers is None:
            return []
        unknown = [t for t in tickers if self.venue.market(str(t)) is None]
        if unknown:
            self._error(client, request_id, 16, f"Market not found: {unknown[0]}")
            return None
        return [str(t) for t in tickers]

    def _subscribe(self, client: Client, request_id: Any, params: dict[str, Any]) -> None:
        channels = params.get("channels")
        if not channels:
            self._error(client, request_id, 3, "Channels required")
            return
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            self._error(client, request_id, 8, f"Unknown channel name: {unknown[0]}")
            return
        tickers = self._tickers(client, request_id, params)
        if tickers is None:
            return
        if "orderbook_delta" in channels and not tickers:
            self._error(client, request_id, 14, "Market ticker required")
            return
        subs: dict[int, Subscription] = client.state["subs"]
        for channel in channels:
            if any(
                s.channel == channel and s.tickers == (set(tickers) or None) for s in subs.values()
            ):
                self._error(client, request_id, 6, "Already subscribed")
                continue
            sid = client.state["next_sid"]
            client.state["next_sid"] = sid + 1
            sub = Subscription(
                sid, channel, set(tickers) or None, bool(params.get("use_yes_price", False))
            )
            subs[sid] = sub
            client.send(
                dumps(
                    {
                        "id": request_id,
                        "type": "subscribed",
                        "msg": {"channel": channel, "sid": sid},
                    }
                )
            )
            if channel == "orderbook_delta":
                for ticker in tickers:
                    self._snapshot(client, sub, ticker)

    def _unsubscribe(self, client: Client, request_id: Any, params: dict[str, Any]) -> None:
        subs: dict[int, Subscription] = client.state["subs"]
        for sid in params.get("sids") or []:
            if subs.pop(sid, None) is not None:
                client.send(dumps({"id": request_id, "type": "unsubscribed", "sid": sid}))
            else:
                self._error(client, request_id, 7, "Subscription not found")

    def _update(self, client: Client, request_id: Any, params: dict[str, Any]) -> None:
        subs: dict[int, Subscription] = client.state["subs"]
        sids = params.get("sids") or ([params["sid"]] if "sid" in params else [])
        if len(sids) != 1 or sids[0] not in subs:
            self._error(client, request_id, 2, "Params required: exactly one existing sid")
            return
        sub = subs[sids[0]]
        tickers = self._tickers(client, request_id, params)
        if tickers is None:
            return
        action = params.get("action")
        if action == "get_snapshot":
            client.send(
                dumps(
                    {
                        "id": request_id,
                        "type": "ok",
                        "sid": sub.sid,
                        "msg": {"market_tickers": tickers},
                    }
                )
            )
            if sub.channel == "orderbook_delta":
                for ticker in tickers:
                    self._snapshot(client, sub, ticker)
        elif action == "add_markets":
            sub.tickers = (sub.tickers or set()) | set(tickers)
            client.send(
                dumps(
                    {
                        "id": request_id,
                        "type": "ok",
                        "sid": sub.sid,
                        "seq": sub.seq,
                        "msg": {"market_tickers": sorted(sub.tickers)},
                    }
                )
            )
            if sub.channel == "orderbook_delta":
                for ticker in tickers:
                    self._snapshot(client, sub, ticker)
        elif action == "delete_markets":
            if sub.tickers is not None:
                sub.tickers -= set(tickers)
            client.send(
                dumps(
                    {
                        "id": request_id,
                        "type": "ok",
                        "sid": sub.sid,
                        "seq": sub.seq,
                        "msg": {"market_tickers": sorted(sub.tickers or [])},
                    }
                )
            )
        else:
            self._error(client, request_id, 2, f"Unknown action {action!r}")

    def _list(self, client: Client, request_id: Any, params: dict[str, Any]) -> None:
        subs: dict[int, Subscription] = client.state["subs"]
        listing = [{"channel": s.channel, "sid": s.sid} for s in subs.values()]
        client.send(dumps({"id": request_id, "type": "ok", "msg": listing}))

    # ------------------------------------------------------------------ publishing

    def _next_seq(self, sub: Subscription) -> int | None:
        """The seq for the next orderbook message, or None if a fault swallows it."""
        sub.seq += 1
        if sub.skip_next:
            sub.skip_next = False
            return None
        return sub.seq

    def _snapshot(self, client: Client, sub: Subscription, ticker: str) -> None:
        market = self.venue.market(ticker)
        assert market is not None
        yes, no = self.venue.ladders(market)
        if sub.use_yes_price:
            no = sorted((ONE_PRICE - p, s) for p, s in no)
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": market.meta["market_uuid"]}
        if yes:
            msg["yes_dollars_fp"] = [
                [dollars(price_decimal(p)), count(size_decimal(s))] for p, s in yes
            ]
        if no:
            msg["no_dollars_fp"] = [
                [dollars(price_decimal(p)), count(size_decimal(s))] for p, s in no
            ]
        sub.seq += 1  # a snapshot is never swallowed: it is how a client recovers
        client.send(
            dumps({"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.seq, "msg": msg})
        )

    def on_update(self, update: MarketUpdate) -> None:
        market = update.market
        if market.venue is not VenueId.KALSHI or not self.clients:
            return
        ticker = market.market_id
        ts = update.ts_ms
        deltas = []
        for change in update.changes:
            delta = size_decimal(change.after - change.before)
            if change.side is Side.BUY:
                deltas.append(("yes", change.price, change.price, delta))
            else:
                deltas.append(("no", ONE_PRICE - change.price, change.price, delta))
        causes = {o.order_id: o for o in update.orders}
        trades = [
            {
                "trade_id": e.trade_id,
                "market_ticker": ticker,
                "yes_price_dollars": dollars(price_decimal(e.yes_price)),
                "no_price_dollars": dollars(ONE - price_decimal(e.yes_price)),
                "count_fp": count(size_decimal(e.size)),
                "taker_side": "yes" if e.taker.yes_side is Side.BUY else "no",
                "taker_outcome_side": "yes" if e.taker.yes_side is Side.BUY else "no",
                "taker_book_side": "bid" if e.taker.yes_side is Side.BUY else "ask",
                "is_block_trade": False,
                "ts": ts // 1000,
                "ts_ms": ts,
            }
            for e in update.executions
        ]
        ticker_msg = self._ticker_msg(market, ts) if (update.changes or trades) else None
        for client in list(self.clients):
            for sub in client.state.get("subs", {}).values():
                if sub.tickers is not None and ticker not in sub.tickers:
                    continue
                if sub.channel == "orderbook_delta":
                    for side, no_leg_price, yes_price, delta in deltas:
                        seq = self._next_seq(sub)
                        if seq is None:
                            continue
                        price = yes_price if (side == "no" and sub.use_yes_price) else no_leg_price
                        msg: dict[str, Any] = {
                            "market_ticker": ticker,
                            "market_id": market.meta["market_uuid"],
                            "price_dollars": dollars(price_decimal(price)),
                            "delta_fp": count(delta),
                            "side": side,
                            "ts": iso(ts),
                            "ts_ms": ts,
                        }
                        own = [
                            o
                            for o in causes.values()
                            if o.account == client.state.get("key")
                            and o.client_order_id
                            and o.yes_price == yes_price
                        ]
                        if own:
                            msg["client_order_id"] = own[0].client_order_id
                        client.send(
                            dumps(
                                {"type": "orderbook_delta", "sid": sub.sid, "seq": seq, "msg": msg}
                            )
                        )
                elif sub.channel == "trade":
                    for trade in trades:
                        client.send(dumps({"type": "trade", "sid": sub.sid, "msg": trade}))
                elif sub.channel == "ticker" and ticker_msg is not None:
                    client.send(
                        dumps(
                            {
                                "type": "ticker",
                                "sid": sub.sid,
                                "sending_ts_ms": ts,
                                "msg": ticker_msg,
                            }
                        )
                    )
                elif sub.channel == "fill":
                    for execution in update.executions:
                        for fill in (execution.taker_fill, execution.maker_fill):
                            if fill.account == client.state.get("key"):
                                client.send(
                                    dumps(
                                        {
                                            "type": "fill",
                                            "sid": sub.sid,
                                            "sending_ts_ms": ts,
                                            "msg": self._fill_msg(fill),
                                        }
                                    )
                                )

    def _ticker_msg(self, market: SimMarket, ts: int) -> dict[str, Any]:
        book = self.venue.exchange.books[market.key]
        bid, ask = book.best_bid(), book.best_ask()
        last = market.last_trade_price
        volume = size_decimal(market.volume)
        return {
            "market_id": market.meta["market_uuid"],
            "market_ticker": market.market_id,
            "price_dollars": dollars(price_decimal(last) if last else ZERO),
            "yes_bid_dollars": dollars(price_decimal(bid) if bid is not None else ZERO),
            "yes_ask_dollars": dollars(price_decimal(ask) if ask is not None else ONE),
            "volume_fp": count(volume),
            "open_interest_fp": count(ZERO),
            "dollar_volume": int(volume),
            "dollar_open_interest": 0,
            "yes_bid_size_fp": count(size_decimal(book.bid_sizes.get(bid, 0) if bid else 0)),
            "yes_ask_size_fp": count(size_decimal(book.ask_sizes.get(ask, 0) if ask else 0)),
            "last_trade_size_fp": count(ZERO),
            "ts": ts // 1000,
            "ts_ms": ts,
            "time": iso(ts),
        }

    def _fill_msg(self, fill: SimFill) -> dict[str, Any]:
        market = self.venue.exchange.markets[fill.market_key]
        account = self.venue.exchange.account(VenueId.KALSHI, fill.account)
        position = account.positions.get(market.market_id)
        order = self.venue.exchange.orders[fill.order_id]
        bid = fill.yes_side is Side.BUY
        msg: dict[str, Any] = {
            "trade_id": fill.trade_id,
            "order_id": fill.order_id,
            "market_ticker": market.market_id,
            "exchange_index": 0,
            "is_taker": fill.is_taker,
            "side": "yes" if bid else "no",
            "yes_price_dollars": dollars(fill.yes_price),
            "count_fp": count(fill.size),
            "fee_cost": fixed(fill.fee, 6),
            "action": "buy",
            "ts": fill.ts_ms // 1000,
            "ts_ms": fill.ts_ms,
            "post_position_fp": count(position.position if position else ZERO),
            "purchased_side": "yes" if bid else "no",
            "outcome_side": "yes" if bid else "no",
            "book_side": "bid" if bid else "ask",
            "subaccount": 0,
        }
        if order.client_order_id:
            msg["client_order_id"] = order.client_order_id
        return msg


def _ws_headers() -> Any:
    from websockets.datastructures import Headers

    return Headers([("Content-Type", "text/plain")])


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


# The simulator's market states as Kalshi names them (a settled market is "finalized").
_MARKET_STATUS = {"open": "active", "closed": "closed", "settled": "finalized"}
