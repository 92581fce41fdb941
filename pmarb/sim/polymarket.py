"""Polymarket as the simulator serves it: Gamma, CLOB REST (L2 HMAC auth) and the market WS.

Shapes follow the recordings in ``shared/fixtures/venues/polymarket`` and research/venues.md
PART A: Gamma's ``clobTokenIds``/``outcomes``/``outcomePrices`` are JSON-encoded strings; books
list bids ascending and asks descending (best level LAST); prices and sizes are decimal
strings, timestamps ms strings; ``price_change`` carries absolute level sizes, each YES change
mirrored as the NO token's change at 1 − p; a trade is followed by a ``book`` for the traded
asset and a ``last_trade_price``. An order's id is its EIP-712 hash, so re-posting the same
signed order is answered as a duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from pmarb.domain.market import VenueId
from pmarb.domain.money import ONE, ZERO
from pmarb.domain.orders import OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.domain.timing import (
    DELAYED_CANCEL_REFUSED,
    GTD_TOO_SOON,
    POLYMARKET_GTD_MIN_AHEAD,
    POLYMARKET_GTD_SECURITY_THRESHOLD,
)
from pmarb.sim.eip712 import EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, OrderHashError, order_hash
from pmarb.sim.exchange import (
    ARRIVAL,
    Exchange,
    MarketUpdate,
    OrderError,
    ReceivedOrder,
    SimFill,
    SimMarket,
    SimOrder,
    Ticket,
)
from pmarb.sim.faults import Faults
from pmarb.sim.http import JSON, FaultMiddleware, dumps
from pmarb.sim.scenario import Scenario, iso
from pmarb.sim.units import ONE_PRICE, plain, price_decimal, size_decimal
from pmarb.sim.wsserver import Client, SocketServer

_BASE = Decimal(1_000_000)
_ORDER_TYPES = {
    "GTC": TimeInForce.GTC,
    "GTD": TimeInForce.GTD,
    "FOK": TimeInForce.FOK,
    "FAK": TimeInForce.FAK,
}
_ERRORS = {
    "invalid_tick": "INVALID_ORDER_MIN_TICK_SIZE",
    "invalid_price": "INVALID_ORDER_MIN_TICK_SIZE",
    "min_size": "INVALID_ORDER_MIN_SIZE",
    "invalid_size": "INVALID_ORDER_MIN_SIZE",
    "invalid_price_or_size": "INVALID_ORDER_ERROR",
    "not_enough_balance": "INVALID_ORDER_NOT_ENOUGH_BALANCE",
    "insufficient_balance": "INVALID_ORDER_NOT_ENOUGH_BALANCE",
    "invalid_expiration": "INVALID_ORDER_EXPIRATION",
    "post_only_cross": "INVALID_POST_ONLY_ORDER",
    "invalid_post_only": "INVALID_POST_ONLY_ORDER_TYPE",
}
_KILLED = frozenset({"fok_not_filled", "unfilled_remainder_cancelled"})
FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_KILLED = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed if no "
    "match is found."
)
_L2_HEADERS = (
    "POLY_ADDRESS",
    "POLY_SIGNATURE",
    "POLY_TIMESTAMP",
    "POLY_API_KEY",
    "POLY_PASSPHRASE",
)


@dataclass(frozen=True)
class PolymarketCredentials:
    """L2 API credentials the simulated CLOB accepts. Without a secret, headers are only
    checked for presence (any key is its own account)."""

    api_key: str | None = None
    secret: str | None = None
    passphrase: str | None = None


def l2_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    key = base64.urlsafe_b64decode(secret)
    digest = hmac.new(key, f"{timestamp}{method}{path}{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


# --------------------------------------------------------------------------- books


YesLevels = tuple[dict[int, int], dict[int, int]]  # YES-leg (bids, asks): price -> size


@dataclass(frozen=True)
class TokenBook:
    """One token's book in Polymarket terms (best first), derived from the YES-leg book."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class PolymarketVenue:
    def __init__(
        self,
        exchange: Exchange,
        scenario: Scenario,
        faults: Faults,
        credentials: PolymarketCredentials,
        *,
        confirm_seconds: float = 0.0,
    ) -> None:
        self.exchange = exchange
        self.scenario = scenario
        self.faults = faults
        self.credentials = credentials
        self.confirm_ms = int(confirm_seconds * 1000)
        self.socket = PolymarketSocket(self, faults)
        # The data API looks holdings up by wallet address; orders tell which account owns one.
        self._account_of_address: dict[str, str] = {}
        exchange.add_listener(self._on_update)

    # ------------------------------------------------------------------ helpers

    @property
    def markets(self) -> list[SimMarket]:
        return [m for m in self.exchange.markets.values() if m.venue is VenueId.POLYMARKET]

    def token_market(self, token_id: str) -> SimMarket | None:
        market = self.exchange.find_market(VenueId.POLYMARKET, token_id)
        return market if market is not None and market.market_id != token_id else None

    def token_book(
        self, market: SimMarket, token_id: str, state: YesLevels | None = None
    ) -> TokenBook:
        if state is None:
            book = self.exchange.books[market.key]
            state = (book.bid_sizes, book.ask_sizes)
        bids = sorted(state[0].items(), reverse=True)
        asks = sorted(state[1].items())
        if token_id == market.yes_id:
            return TokenBook(bids, asks)
        return TokenBook(
            [(ONE_PRICE - p, s) for p, s in asks], [(ONE_PRICE - p, s) for p, s in bids]
        )

    def book_summary(
        self, market: SimMarket, token_id: str, timestamp: int, state: YesLevels | None = None
    ) -> dict[str, Any]:
        """The REST ``/book`` object, hashed as the official client does."""
        token = self.token_book(market, token_id, state)
        last = market.last_trade_price
        if last is not None and token_id == market.no_id:
            last = ONE_PRICE - last
        summary: dict[str, Any] = {
            "market": market.market_id,
            "asset_id": token_id,
            "timestamp": str(timestamp),
            "hash": "",
            "bids": [_level(p, s) for p, s in reversed(token.bids)],
            "asks": [_level(p, s) for p, s in reversed(token.asks)],
            "min_order_size": plain(market.min_size),
            "tick_size": plain(market.tick),
            "neg_risk": market.neg_risk,
            "last_trade_price": plain(price_decimal(last)) if last is not None else "",
        }
        summary["hash"] = hashlib.sha1(
            json.dumps(summary, separators=(",", ":")).encode()
        ).hexdigest()
        return summary

    def best(
        self, market: SimMarket, token_id: str, state: YesLevels | None = None
    ) -> tuple[str, str]:
        token = self.token_book(market, token_id, state)
        bid = plain(price_decimal(token.bids[0][0])) if token.bids else "0"
        ask = plain(price_decimal(token.asks[0][0])) if token.asks else "1"
        return bid, ask

    # ------------------------------------------------------------------ WS publishing

    def book_message(
        self, market: SimMarket, token_id: str, ts: int, *, full: bool
    ) -> dict[str, Any]:
        summary = self.book_summary(market, token_id, ts)
        message = {
            "market": market.market_id,
            "asset_id": token_id,
            "timestamp": str(ts),
            "hash": summary["hash"],
            "bids": summary["bids"],
            "asks": summary["asks"],
            "event_type": "book",
        }
        if full:
            message["tick_size"] = summary["tick_size"]
            message["last_trade_price"] = summary["last_trade_price"] or "0.5"
        return message

    def _on_update(self, update: MarketUpdate) -> None:
        market = update.market
        if market.venue is not VenueId.POLYMARKET:
            return
        ts = update.ts_ms
        messages: list[tuple[str, dict[str, Any]]] = []  # (asset filter, message)
        if update.changes:
            # One message per level change, as the venue sends them: each entry carries the
            # asset's hash and best bid/ask right after that change.
            book = self.exchange.books[market.key]
            bids, asks = dict(book.bid_sizes), dict(book.ask_sizes)
            for change in reversed(update.changes):  # rewind to the state before the update
                _set_level(bids if change.side is Side.BUY else asks, change.price, change.before)
            for change in update.changes:
                _set_level(bids if change.side is Side.BUY else asks, change.price, change.after)
                state = (bids, asks)
                price = price_decimal(change.price)
                size = plain(size_decimal(change.after))
                yes_side = "BUY" if change.side is Side.BUY else "SELL"
                no_side = "SELL" if change.side is Side.BUY else "BUY"
                entries = []
                for token, side, level_price in (
                    (market.yes_id, yes_side, price),
                    (market.no_id, no_side, ONE - price),
                ):
                    best_bid, best_ask = self.best(market, token, state)
                    entries.append(
                        {
                            "asset_id": token,
                            "price": plain(level_price),
                            "size": size,
                            "side": side,
                            "hash": self.book_summary(market, token, ts, state)["hash"],
                            "best_bid": best_bid,
                            "best_ask": best_ask,
                        }
                    )
                messages.append(
                    (
                        "*price_change",
                        {
                            "market": market.market_id,
                            "price_changes": entries,
                            "timestamp": str(ts),
                            "event_type": "price_change",
                        },
                    )
                )
        traded_assets: list[str] = []
        for execution in update.executions:
            taker = execution.taker
            token = market.instrument(taker.outcome)
            if token not in traded_assets:
                traded_assets.append(token)
            fill = execution.taker_fill
            messages.append(
                (
                    token,
                    {
                        "asset_id": token,
                        "event_type": "last_trade_price",
                        "fee_rate_bps": str(int(market.fees.taker_rate * 10_000)),
                        "market": market.market_id,
                        "price": plain(fill.price),
                        "side": "BUY" if taker.side is Side.BUY else "SELL",
                        "size": plain(fill.size),
                        "timestamp": str(ts),
                    },
                )
            )
        book_messages = [
            (token, self.book_message(market, token, ts, full=False)) for token in traded_assets
        ]
        # Consumed levels first, then the fresh book of the traded asset, then the trade prints.
        ordered = [m for m in messages if m[0] == "*price_change"] + book_messages
        ordered += [m for m in messages if m[0] != "*price_change"]
        if update.changes:
            for token in (market.yes_id, market.no_id):
                bid, ask = self.best(market, token)
                ordered.append(
                    (
                        "*custom:" + token,
                        {
                            "event_type": "best_bid_ask",
                            "market": market.market_id,
                            "asset_id": token,
                            "best_bid": bid,
                            "best_ask": ask,
                            "spread": plain(Decimal(ask) - Decimal(bid)),
                            "timestamp": str(ts),
                        },
                    )
                )
        self.socket.publish(market, ordered)

    def tick_size_change(self, market: SimMarket, new_tick: Decimal) -> None:
        old = market.tick
        market.tick = new_tick
        ts = self.exchange.clock_ms()
        messages = [
            (
                token,
                {
                    "asset_id": token,
                    "event_type": "tick_size_change",
                    "market": market.market_id,
                    "new_tick_size": plain(new_tick),
                    "old_tick_size": plain(old),
                    "timestamp": str(ts),
                },
            )
            for token in (market.yes_id, market.no_id)
        ]
        self.socket.publish(market, messages)

    # ------------------------------------------------------------------ Gamma

    def gamma_market(self, market: SimMarket) -> dict[str, Any]:
        meta = market.meta
        yes_bid, yes_ask = self.best(market, market.yes_id)
        bid, ask = Decimal(yes_bid), Decimal(yes_ask)
        mid = (bid + ask) / 2 if bid > 0 and ask < 1 else Decimal("0.5")
        mid = mid.quantize(market.tick)
        last = price_decimal(market.last_trade_price) if market.last_trade_price else mid
        event = self.scenario.events[market.event_key]
        event_slug = market.event_key.split(":", 1)[1]
        start = iso(market.open_time_ms)
        end = iso(market.close_time_ms)
        fee_rate = Decimal(meta["fee_rate"])
        gamma = {
            "id": meta["id"],
            "question": market.title,
            "conditionId": market.market_id,
            "slug": meta["slug"],
            "resolutionSource": meta.get("resolutionSource", ""),
            "endDate": end,
            "liquidity": "0",
            "startDate": start,
            "image": "",
            "icon": "",
            "description": market.rules,
            "outcomes": json.dumps(list(market.outcomes)),
            "outcomePrices": json.dumps(_outcome_prices(market, mid)),
            "volume": plain(size_decimal(market.volume)),
            "active": market.is_open,
            "closed": not market.is_open,
            "marketMakerAddress": "",
            "createdAt": start,
            "updatedAt": iso(self.exchange.clock_ms()),
            "new": False,
            "featured": False,
            "submitted_by": "0x0000000000000000000000000000000000000000",
            "archived": False,
            "resolvedBy": "0x0000000000000000000000000000000000000000",
            "restricted": True,
            "groupItemTitle": meta.get("groupItemTitle", ""),
            "groupItemThreshold": "0",
            "questionID": meta["question_id"],
            "enableOrderBook": True,
            "orderPriceMinTickSize": market.tick,
            "orderMinSize": int(market.min_size),
            "volumeNum": Decimal(market.volume) / 1_000_000 + Decimal("0.0"),
            "liquidityNum": Decimal("0.0"),
            "endDateIso": end[:10],
            "startDateIso": start[:10],
            "hasReviewedDates": True,
            "volume24hr": Decimal("0.0"),
            "volume1wk": Decimal("0.0"),
            "volume1mo": Decimal("0.0"),
            "volume1yr": Decimal("0.0"),
            "clobTokenIds": json.dumps([market.yes_id, market.no_id]),
            "umaBond": "750",
            "umaReward": "5",
            "volume24hrClob": Decimal("0.0"),
            "volume1wkClob": Decimal("0.0"),
            "volume1moClob": Decimal("0.0"),
            "volume1yrClob": Decimal("0.0"),
            "volumeClob": Decimal("0.0"),
            "liquidityClob": Decimal("0.0"),
            "makerBaseFee": 1000,
            "takerBaseFee": 1000,
            "customLiveness": 0,
            "acceptingOrders": True,
            "negRisk": market.neg_risk,
            "negRiskMarketID": meta.get("neg_risk_market_id", ""),
            "negRiskRequestID": meta["question_id"] if market.neg_risk else "",
            "ready": False,
            "funded": False,
            "acceptingOrdersTimestamp": start,
            "cyom": False,
            "competitive": Decimal("0.9"),
            "pagerDutyNotificationEnabled": False,
            "approved": True,
            "clobRewards": [],
            "rewardsMinSize": 0,
            "rewardsMaxSpread": 0,
            "spread": ask - bid + Decimal("0.000"),
            "oneWeekPriceChange": Decimal("0.0"),
            "oneMonthPriceChange": Decimal("0.0"),
            "lastTradePrice": last + Decimal("0.000"),
            "bestBid": bid + Decimal("0.000"),
            "bestAsk": ask + Decimal("0.000"),
            "automaticallyActive": True,
            "clearBookOnStart": True,
            "seriesColor": "",
            "showGmpSeries": False,
            "showGmpOutcome": False,
            "manualActivation": False,
            "negRiskOther": False,
            "umaResolutionStatuses": "[]",
            "pendingDeployment": False,
            "deploying": False,
            "deployingTimestamp": start,
            "rfqEnabled": False,
            "holdingRewardsEnabled": False,
            "feesEnabled": fee_rate > 0,
            "requiresTranslation": False,
            "feeType": meta["fee_type"],
            "feeSchedule": {
                "exponent": market.fees.exponent,
                "rate": fee_rate,
                "takerOnly": True,
                "rebateRate": Decimal("0.2") if fee_rate > 0 else Decimal("0.0"),
            },
            "version": "v1",
            "events": [self.gamma_event(event_slug, event.title, nested=False)],
        }
        for key in ("eventStartTime", "cryptoMarketConfig"):
            if key in meta:
                gamma[key] = meta[key]
        return gamma

    def gamma_event(self, slug: str, title: str, *, nested: bool) -> dict[str, Any]:
        event = self.scenario.events[f"polymarket:{slug}"]
        first = self.exchange.markets[event.markets[0]]
        start, end = iso(first.open_time_ms), iso(first.close_time_ms)
        payload: dict[str, Any] = {
            "id": str(30_000 + int(hashlib.sha256(slug.encode()).hexdigest()[:4], 16) % 9_999),
            "ticker": slug,
            "slug": slug,
            "title": title,
            "description": first.rules,
            "resolutionSource": "",
            "startDate": start,
            "creationDate": start,
            "endDate": end,
            "image": "",
            "icon": "",
            "active": True,
            "closed": False,
            "archived": False,
            "new": False,
            "featured": False,
            "restricted": True,
            "liquidity": Decimal("0.0"),
            "volume": Decimal("0.0"),
            "openInterest": Decimal("0.0"),
            "sortBy": "price",
            "createdAt": start,
            "updatedAt": iso(self.exchange.clock_ms()),
            "competitive": Decimal("0.9"),
            "volume24hr": Decimal("0.0"),
            "volume1wk": Decimal("0.0"),
            "volume1mo": Decimal("0.0"),
            "volume1yr": Decimal("0.0"),
            "enableOrderBook": True,
            "liquidityClob": Decimal("0.0"),
            "negRisk": event.neg_risk,
            "negRiskMarketID": first.meta.get("neg_risk_market_id", ""),
            "commentCount": 0,
            "cyom": False,
            "showAllOutcomes": True,
            "showMarketImages": True,
            "enableNegRisk": event.neg_risk,
            "automaticallyActive": True,
            "startTime": end,
            "gmpChartMode": "default",
            "negRiskAugmented": False,
            "countryName": "",
            "electionType": "",
            "estimateValue": False,
            "cumulativeMarkets": False,
            "pendingDeployment": False,
            "deploying": False,
            "deployingTimestamp": start,
            "requiresTranslation": False,
            "eventMetadata": {
                "context_description": f"Simulated event: {title}.",
                "context_requires_regen": False,
                "context_updated_at": start,
            },
        }
        if nested:
            payload["markets"] = [
                self.gamma_market(self.exchange.markets[key]) for key in event.markets
            ]
        return payload

    def _filtered_markets(self, request: Request) -> list[SimMarket]:
        params = request.query_params
        markets = self.markets
        # Gamma's filters: closed=true lists only closed (and resolved) markets, closed=false and
        # active=true only open ones.
        if params.get("closed") == "true" or params.get("active") == "false":
            markets = [m for m in markets if not m.is_open]
        elif params.get("closed") == "false" or params.get("active") == "true":
            markets = [m for m in markets if m.is_open]
        if "slug" in params:
            slugs = set(params.getlist("slug"))
            markets = [m for m in markets if m.meta["slug"] in slugs]
        if "id" in params:
            ids = set(params.getlist("id"))
            markets = [m for m in markets if m.meta["id"] in ids]
        if "condition_ids" in params:
            wanted = {c for v in params.getlist("condition_ids") for c in v.split(",")}
            markets = [m for m in markets if m.market_id in wanted]
        if "clob_token_ids" in params:
            wanted = {c for v in params.getlist("clob_token_ids") for c in v.split(",")}
            markets = [m for m in markets if m.yes_id in wanted or m.no_id in wanted]
        return markets

    async def gamma_markets(self, request: Request) -> JSON:
        markets = self._filtered_markets(request)
        limit, offset = _int_param(request, "limit", 100, 100), _int_param(request, "offset", 0)
        return JSON([self.gamma_market(m) for m in markets[offset : offset + limit]])

    async def gamma_markets_keyset(self, request: Request) -> JSON:
        if "offset" in request.query_params:
            return JSON({"error": "offset is not supported; use cursor"}, status_code=400)
        markets = self._filtered_markets(request)
        limit = _int_param(request, "limit", 100, 100)
        start = _cursor(request.query_params.get("cursor"))
        if start is None:
            return JSON({"error": "invalid cursor"}, status_code=400)
        page = markets[start : start + limit]
        body: dict[str, Any] = {"markets": [self.gamma_market(m) for m in page]}
        if start + limit < len(markets):
            body["next_cursor"] = _encode_cursor(start + limit)
        return JSON(body)

    async def gamma_market_by_id(self, request: Request) -> JSON:
        wanted = request.path_params["id"]
        for market in self.markets:
            if wanted in (market.meta["id"], market.market_id):
                return JSON(self.gamma_market(market))
        return JSON({"error": "market not found"}, status_code=404)

    def _event_slugs(self) -> list[tuple[str, str]]:
        return [
            (key.split(":", 1)[1], event.title)
            for key, event in self.scenario.events.items()
            if event.venue is VenueId.POLYMARKET
        ]

    async def gamma_events(self, request: Request) -> JSON:
        events = self._event_slugs()
        if "slug" in request.query_params:
            wanted = set(request.query_params.getlist("slug"))
            events = [e for e in events if e[0] in wanted]
        if request.query_params.get("closed") == "true":
            events = []
        limit, offset = _int_param(request, "limit", 100, 500), _int_param(request, "offset", 0)
        page = events[offset : offset + limit]
        return JSON([self.gamma_event(slug, title, nested=True) for slug, title in page])

    async def gamma_events_keyset(self, request: Request) -> JSON:
        if "offset" in request.query_params:
            return JSON({"error": "offset is not supported; use cursor"}, status_code=400)
        events = self._event_slugs()
        limit = _int_param(request, "limit", 500, 500)
        start = _cursor(request.query_params.get("cursor"))
        if start is None:
            return JSON({"error": "invalid cursor"}, status_code=400)
        page = events[start : start + limit]
        body: dict[str, Any] = {
            "events": [self.gamma_event(slug, title, nested=True) for slug, title in page]
        }
        if start + limit < len(events):
            body["next_cursor"] = _encode_cursor(start + limit)
        return JSON(body)

    async def gamma_event_by_id(self, request: Request) -> JSON:
        wanted = request.path_params["id"]
        for slug, title in self._event_slugs():
            payload = self.gamma_event(slug, title, nested=True)
            if wanted in (payload["id"], slug):
                return JSON(payload)
        return JSON({"error": "event not found"}, status_code=404)

    async def data_positions(self, request: Request) -> JSON:
        """Data API ``/positions?user=<wallet>``: what the wallet holds, per token."""
        user = (request.query_params.get("user") or "").lower()
        if not user:
            return JSON({"error": "user is required"}, status_code=400)
        account_id = self._account_of_address.get(user)
        if account_id is None:
            return JSON([])
        account = self.exchange.account(VenueId.POLYMARKET, account_id)
        rows = []
        for token, size in sorted(account.holdings.items()):
            market = self.token_market(token)
            if size == 0 or market is None:
                continue
            rows.append(
                {
                    "proxyWallet": user,
                    "asset": token,
                    "conditionId": market.market_id,
                    "size": size,
                    "outcome": "Yes" if token == market.instrument(Outcome.YES) else "No",
                }
            )
        return JSON(rows)

    def gamma_app(self) -> Any:
        app = Starlette(
            routes=[
                Route("/markets", self.gamma_markets),
                Route("/markets/keyset", self.gamma_markets_keyset),
                Route("/markets/{id}", self.gamma_market_by_id),
                Route("/events", self.gamma_events),
                Route("/events/keyset", self.gamma_events_keyset),
                Route("/events/{id}", self.gamma_event_by_id),
                # The data API (data-api.polymarket.com) is served here too.
                Route("/positions", self.data_positions),
            ]
        )
        return FaultMiddleware(app, self.faults, "gamma")

    # ------------------------------------------------------------------ CLOB market data

    def _token_or_error(self, token_id: str | None) -> tuple[SimMarket | None, JSON | None]:
        if not token_id:
            return None, JSON({"error": "Invalid token id"}, status_code=400)
        market = self.token_market(token_id)
        if market is None:
            return None, JSON(
                {"error": "No orderbook exists for the requested token id"}, status_code=404
            )
        return market, None

    async def clob_book(self, request: Request) -> JSON:
        token = request.query_params.get("token_id")
        market, error = self._token_or_error(token)
        if error is not None or market is None or token is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        return JSON(self.book_summary(market, token, self.exchange.clock_ms()))

    async def clob_books(self, request: Request) -> JSON:
        try:
            body = json.loads(await request.body())
            tokens = [str(item["token_id"]) for item in body]
        except (ValueError, TypeError, KeyError):
            return JSON({"error": "Invalid payload"}, status_code=400)
        if len(tokens) > 500:
            return JSON({"error": "Payload exceeds the limit"}, status_code=400)
        now = self.exchange.clock_ms()
        books = []
        for token in tokens:
            market = self.token_market(token)
            if market is not None:
                books.append(self.book_summary(market, token, now))
        return JSON(books)

    async def clob_tick_size(self, request: Request) -> JSON:
        market, error = self._token_or_error(request.query_params.get("token_id"))
        if market is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        return JSON({"minimum_tick_size": market.tick})

    async def clob_neg_risk(self, request: Request) -> JSON:
        market, error = self._token_or_error(request.query_params.get("token_id"))
        if market is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        return JSON({"neg_risk": market.neg_risk})

    async def clob_fee_rate(self, request: Request) -> JSON:
        token = request.query_params.get("token_id") or request.path_params.get("token_id")
        market, error = self._token_or_error(token)
        if market is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        return JSON({"base_fee": int(market.fees.taker_rate * 10_000)})

    async def clob_midpoint(self, request: Request) -> JSON:
        token = request.query_params.get("token_id")
        market, error = self._token_or_error(token)
        if market is None or token is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        bid, ask = self.best(market, token)
        return JSON({"mid": plain((Decimal(bid) + Decimal(ask)) / 2)})

    async def clob_price(self, request: Request) -> JSON:
        token = request.query_params.get("token_id")
        side = request.query_params.get("side", "")
        market, error = self._token_or_error(token)
        if market is None or token is None:
            return error or JSON({"error": "Invalid token id"}, status_code=400)
        if side not in ("BUY", "SELL"):
            return JSON({"error": "Invalid side"}, status_code=400)
        bid, ask = self.best(market, token)
        return JSON({"price": bid if side == "BUY" else ask})

    async def clob_time(self, request: Request) -> JSON:
        return JSON(self.exchange.clock_ms() // 1000)

    # ------------------------------------------------------------------ CLOB auth

    async def _authenticate(self, request: Request, body: bytes) -> str | JSON:
        headers = request.headers
        missing = [name for name in _L2_HEADERS if not headers.get(name)]
        if missing:
            return JSON({"error": "Unauthorized/Invalid api key"}, status_code=401)
        creds = self.credentials
        api_key = headers["POLY_API_KEY"]
        if creds.api_key is not None and api_key != creds.api_key:
            return JSON({"error": "Unauthorized/Invalid api key"}, status_code=401)
        if creds.passphrase is not None and headers["POLY_PASSPHRASE"] != creds.passphrase:
            return JSON({"error": "Unauthorized/Invalid api key"}, status_code=401)
        if creds.secret is not None:
            timestamp = headers["POLY_TIMESTAMP"]
            text = body.decode(errors="replace")
            method = request.method.upper()
            paths = {request.url.path}
            if request.url.query:
                paths.add(f"{request.url.path}?{request.url.query}")
            try:
                expected = [l2_signature(creds.secret, timestamp, method, p, text) for p in paths]
            except ValueError:
                return JSON({"error": "Unauthorized/Invalid api key"}, status_code=401)
            given = headers["POLY_SIGNATURE"]
            if not any(hmac.compare_digest(given, e) for e in expected):
                return JSON({"error": "Unauthorized/Invalid api key"}, status_code=401)
        return api_key

    # ------------------------------------------------------------------ CLOB orders

    async def post_order(self, request: Request) -> JSON:
        ARRIVAL.set(time.time())
        body = await request.body()
        account = await self._authenticate(request, body)
        if isinstance(account, JSON):
            return account
        try:
            payload = json.loads(body)
            order = payload["order"]
            token_id = str(order["tokenId"])
            order_type = str(payload.get("orderType", "GTC")).upper()
        except (ValueError, TypeError, KeyError):
            self._received(account, None, None, "rejected", "invalid payload")
            return JSON({"error": "Invalid order payload"}, status_code=400)
        market = self.token_market(token_id)
        if market is None:
            self._received(account, None, None, "rejected", "unknown token")
            return JSON({"error": f"market not found for token {token_id}"}, status_code=400)
        try:
            order_id = order_hash(order, neg_risk=market.neg_risk)
        except OrderHashError as e:
            self._received(account, None, market.market_id, "rejected", str(e))
            return JSON({"error": f"Invalid order payload: {e}"}, status_code=400)
        if order_id in self.exchange.orders:
            self._received(account, order_id, market.market_id, "duplicate", "duplicated")
            return JSON(
                {"error": f"order {order_id} is invalid. Duplicated.", "orderID": order_id},
                status_code=400,
            )
        self._account_of_address[str(order.get("maker", "")).lower()] = account
        owner = payload.get("owner")
        if owner is not None and owner != account:
            self._received(account, order_id, market.market_id, "rejected", "owner mismatch")
            return JSON({"error": "the order owner has to be the owner of the API KEY"}, 400)
        try:
            ticket = self._ticket(account, market, order, order_type, payload)
        except (OrderError, ValueError, KeyError, InvalidOperation) as e:
            reason = e.message if isinstance(e, OrderError) else str(e)
            self._received(account, order_id, market.market_id, "rejected", reason)
            return JSON({"error": f"order {order_id} is invalid. {reason}"}, status_code=400)
        try:
            placed = self.exchange.submit(ticket, order_id)
        except OrderError as e:
            self._received(account, order_id, market.market_id, "rejected", e.code)
            code = _ERRORS.get(e.code, "INVALID_ORDER_ERROR")
            return JSON({"error": f"{code}: {e.message}", "orderID": order_id}, status_code=400)
        placed.extra.update(
            maker=order.get("maker"),
            signer=order.get("signer"),
            order_type=order_type,
            expiration=str(order.get("expiration", "0")),
            owner=account,
        )
        self._received(account, order_id, market.market_id, "accepted", None)
        if placed.is_held:
            placed.extra["delayed"] = True
            # Accepted but not matched yet: no amounts, trades or hashes until the delay passes.
            return JSON(
                {
                    "success": True,
                    "errorMsg": "",
                    "orderID": order_id,
                    "status": "delayed",
                    "makingAmount": "",
                    "takingAmount": "",
                    "transactionsHashes": [],
                    "tradeIDs": [],
                }
            )
        if placed.status is OrderStatus.CANCELLED and not placed.filled:
            killed = FOK_KILLED if ticket.time_in_force is TimeInForce.FOK else FAK_KILLED
            if placed.reason == "self_trade":
                killed = "order crosses your own resting order"
            placed.extra["status_text"] = f"CANCELED_{killed}"
            return JSON({"error": killed, "orderID": order_id, "success": False}, status_code=400)
        making, taking = _making_taking(placed)
        status = "matched" if placed.filled else "live"
        if placed.is_open and placed.filled:
            status = "live"
        if placed.status is OrderStatus.CANCELLED and placed.filled:
            status = "matched"
        return JSON(
            {
                "success": True,
                "errorMsg": "",
                "orderID": order_id,
                "status": status,
                "makingAmount": plain(making),
                "takingAmount": plain(taking),
                "transactionsHashes": [
                    "0x" + hashlib.sha256(f.trade_id.encode()).hexdigest() for f in placed.fills
                ],
                "tradeIDs": sorted({f.trade_id for f in placed.fills}),
            }
        )

    def _ticket(
        self,
        account: str,
        market: SimMarket,
        order: dict[str, Any],
        order_type: str,
        payload: dict[str, Any],
    ) -> Ticket:
        side = str(order["side"]).upper()
        if side in ("0", "1"):
            side = "BUY" if side == "0" else "SELL"
        if side not in ("BUY", "SELL"):
            raise ValueError(f"invalid side {order['side']!r}")
        tif = _ORDER_TYPES.get(order_type)
        if tif is None:
            raise ValueError(f"invalid order type {order_type!r}")
        maker_amount = Decimal(str(order["makerAmount"])) / _BASE
        taker_amount = Decimal(str(order["takerAmount"])) / _BASE
        if maker_amount <= 0 or taker_amount <= 0:
            raise ValueError("amounts must be positive")
        if side == "BUY":
            size, price = taker_amount, maker_amount / taker_amount
        else:
            size, price = maker_amount, taker_amount / maker_amount
        market_order = tif in (TimeInForce.FOK, TimeInForce.FAK)
        exact = price.quantize(Decimal("0.0001"))
        if exact != price and not market_order:
            raise OrderError(
                "invalid_tick", f"Price ({price}), breaks minimum tick size rule: {market.tick}"
            )
        expires_at_ms = None
        if tif is TimeInForce.GTD:
            # docs.polymarket.com/trading/place-orders: the expiration must be at least 3
            # minutes ahead, and the order stops working one minute before it.
            expiration_ms = int(str(order.get("expiration", "0"))) * 1000
            ahead = POLYMARKET_GTD_MIN_AHEAD.total_seconds() * 1000
            if expiration_ms < self.exchange.clock_ms() + ahead:
                raise OrderError("invalid_expiration", GTD_TOO_SOON)
            expires_at_ms = expiration_ms - int(
                POLYMARKET_GTD_SECURITY_THRESHOLD.total_seconds() * 1000
            )
        post_only = bool(payload.get("postOnly", False))
        return Ticket(
            venue=VenueId.POLYMARKET,
            account=account,
            market_key=market.key,
            outcome=market.outcome_of(str(order["tokenId"])),
            side=Side.BUY if side == "BUY" else Side.SELL,
            price=exact,
            size=size,
            time_in_force=tif,
            post_only=post_only,
            expires_at_ms=expires_at_ms,
            allow_off_tick=market_order,
            api=True,
        )

    def _received(
        self,
        account: str,
        order_id: str | None,
        market_id: str | None,
        result: str,
        reason: str | None,
    ) -> None:
        self.exchange.record_received(
            ReceivedOrder(
                VenueId.POLYMARKET,
                self.exchange.clock_ms(),
                order_id,
                order_id,
                result,
                reason,
                account,
                market_id,
            )
        )

    def open_order(self, order: SimOrder) -> dict[str, Any]:
        market = self.exchange.markets[order.market_key]
        if order.is_held:
            status = "DELAYED"
        elif order.is_open:
            status = "LIVE"
        elif order.status is OrderStatus.FILLED:
            status = "MATCHED"
        elif order.extra.get("delayed") and not order.filled and order.reason in _KILLED:
            status = "UNMATCHED"  # the venue's word for a delayed order that found no match
        else:
            status = order.extra.get("status_text", "CANCELED")
        return {
            "id": order.order_id,
            "status": status,
            "owner": order.account,
            "maker_address": order.extra.get("maker") or "",
            "market": market.market_id,
            "asset_id": market.instrument(order.outcome),
            "side": "BUY" if order.side is Side.BUY else "SELL",
            "original_size": plain(size_decimal(order.size)),
            "size_matched": plain(size_decimal(order.filled)),
            "price": plain(order.price),
            "outcome": market.outcomes[0 if order.outcome is Outcome.YES else 1],
            "expiration": order.extra.get("expiration", "0"),
            "order_type": order.extra.get("order_type", "GTC"),
            "associate_trades": sorted({f.trade_id for f in order.fills}),
            "created_at": order.created_ms // 1000,
        }

    def _own_orders(self, account: str) -> Iterable[SimOrder]:
        for order in self.exchange.orders.values():
            if order.venue is VenueId.POLYMARKET and order.account == account:
                yield order

    async def get_order(self, request: Request) -> JSON:
        account = await self._authenticate(request, b"")
        if isinstance(account, JSON):
            return account
        order = self.exchange.orders.get(request.path_params["order_id"])
        if order is None or order.account != account or order.venue is not VenueId.POLYMARKET:
            return JSON({"error": "order not found"}, status_code=404)
        return JSON(self.open_order(order))

    async def get_orders(self, request: Request) -> JSON:
        account = await self._authenticate(request, b"")
        if isinstance(account, JSON):
            return account
        params = request.query_params
        orders = [o for o in self._own_orders(account) if not o.finished]
        if "id" in params:
            orders = [o for o in orders if o.order_id == params["id"]]
        result = [self.open_order(o) for o in orders]
        if "market" in params:
            result = [o for o in result if o["market"] == params["market"]]
        if "asset_id" in params:
            result = [o for o in result if o["asset_id"] == params["asset_id"]]
        return JSON({"data": result, "next_cursor": "LTE=", "limit": 500, "count": len(result)})

    def trade(self, fill: SimFill, account: str) -> dict[str, Any]:
        market = self.exchange.markets[fill.market_key]
        taker_fill = fill
        if not fill.is_taker:
            taker_fill = next(
                f
                for f in self.exchange.orders[fill.counterparty_order_id].fills
                if f.trade_id == fill.trade_id
            )
        taker = self.exchange.orders[taker_fill.order_id]
        makers = [f for f in self.exchange.fills if f.trade_id == fill.trade_id and not f.is_taker]
        now = self.exchange.clock_ms()
        status = "CONFIRMED" if now - fill.ts_ms >= self.confirm_ms else "MATCHED"
        return {
            "id": fill.trade_id,
            "taker_order_id": taker.order_id,
            "market": market.market_id,
            "asset_id": market.instrument(taker_fill.outcome),
            "side": "BUY" if taker_fill.side is Side.BUY else "SELL",
            "size": plain(taker_fill.size),
            "fee_rate_bps": str(int(market.fees.taker_rate * 10_000)),
            "price": plain(taker_fill.price),
            "status": status,
            "match_time": str(fill.ts_ms // 1000),
            "last_update": str(now // 1000),
            "outcome": market.outcomes[0 if taker_fill.outcome is Outcome.YES else 1],
            "bucket_index": 0,
            "owner": taker.account,
            "maker_address": taker.extra.get("maker") or "",
            "transaction_hash": "0x" + hashlib.sha256(fill.trade_id.encode()).hexdigest(),
            "trader_side": "TAKER" if fill.is_taker else "MAKER",
            "fee": plain(fill.fee),
            "maker_orders": [
                {
                    "order_id": m.order_id,
                    "owner": self.exchange.orders[m.order_id].account,
                    "maker_address": self.exchange.orders[m.order_id].extra.get("maker") or "",
                    "matched_amount": plain(m.size),
                    "price": plain(m.price),
                    "fee_rate_bps": "0",
                    "asset_id": market.instrument(m.outcome),
                    "outcome": market.outcomes[0 if m.outcome is Outcome.YES else 1],
                    "side": "BUY" if m.side is Side.BUY else "SELL",
                }
                for m in makers
                if fill.is_taker or m.account == account
            ],
        }

    async def get_trades(self, request: Request) -> JSON:
        account = await self._authenticate(request, b"")
        if isinstance(account, JSON):
            return account
        params = request.query_params
        fills = [
            f
            for f in self.exchange.fills
            if f.account == account
            and self.exchange.markets[f.market_key].venue is VenueId.POLYMARKET
        ]
        trades = []
        seen: set[str] = set()
        for fill in fills:
            if fill.trade_id in seen:
                continue
            seen.add(fill.trade_id)
            trades.append(self.trade(fill, account))
        for key in ("id", "market", "asset_id"):
            if key in params:
                trades = [t for t in trades if t[key] == params[key]]
        if "after" in params:
            trades = [t for t in trades if int(t["match_time"]) >= int(params["after"])]
        if "before" in params:
            trades = [t for t in trades if int(t["match_time"]) <= int(params["before"])]
        return JSON({"data": trades, "next_cursor": "LTE=", "limit": 500, "count": len(trades)})

    async def cancel_order(self, request: Request) -> JSON:
        body = await request.body()
        account = await self._authenticate(request, body)
        if isinstance(account, JSON):
            return account
        try:
            payload = json.loads(body)
            ids = (
                [str(payload["orderID"])]
                if isinstance(payload, dict)
                else [str(i) for i in payload]
            )
        except (ValueError, TypeError, KeyError):
            return JSON({"error": "Invalid payload"}, status_code=400)
        return JSON(self._cancel_ids(account, ids))

    async def cancel_all(self, request: Request) -> JSON:
        body = await request.body()
        account = await self._authenticate(request, body)
        if isinstance(account, JSON):
            return account
        ids = [o.order_id for o in self._own_orders(account) if o.is_open]
        return JSON(self._cancel_ids(account, ids))

    def _cancel_ids(self, account: str, ids: list[str]) -> dict[str, Any]:
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in ids:
            order = self.exchange.orders.get(order_id)
            if order is None or order.account != account:
                not_canceled[order_id] = "order not found"
            elif order.is_held:
                not_canceled[order_id] = DELAYED_CANCEL_REFUSED
            elif not order.is_open:
                not_canceled[order_id] = "order can't be found - already canceled or matched"
            else:
                self.exchange.cancel(order_id)
                canceled.append(order_id)
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def balance_allowance(self, request: Request) -> JSON:
        account_id = await self._authenticate(request, b"")
        if isinstance(account_id, JSON):
            return account_id
        account = self.exchange.account(VenueId.POLYMARKET, account_id)
        asset_type = request.query_params.get("asset_type", "COLLATERAL").upper()
        if asset_type == "COLLATERAL":
            balance = account.cash
        elif asset_type in ("CONDITIONAL", "CONDITIONAL-V2"):
            token = request.query_params.get("token_id", "")
            balance = account.holdings.get(token, ZERO)
        else:
            return JSON({"error": "invalid asset_type"}, status_code=400)
        units = int((balance * _BASE).to_integral_value())
        allowance = str(2**256 - 1)
        return JSON(
            {
                "balance": str(units),
                "allowances": {EXCHANGE_V2: allowance, NEG_RISK_EXCHANGE_V2: allowance},
            }
        )

    def clob_app(self) -> Any:
        app = Starlette(
            routes=[
                Route("/book", self.clob_book),
                Route("/books", self.clob_books, methods=["POST"]),
                Route("/tick-size", self.clob_tick_size),
                Route("/neg-risk", self.clob_neg_risk),
                Route("/fee-rate", self.clob_fee_rate),
                Route("/fee-rate/{token_id}", self.clob_fee_rate),
                Route("/midpoint", self.clob_midpoint),
                Route("/price", self.clob_price),
                Route("/time", self.clob_time),
                Route("/order", self.post_order, methods=["POST"]),
                Route("/order", self.cancel_order, methods=["DELETE"]),
                Route("/orders", self.cancel_order, methods=["DELETE"]),
                Route("/cancel-all", self.cancel_all, methods=["DELETE"]),
                Route("/data/order/{order_id}", self.get_order),
                Route("/data/orders", self.get_orders),
                Route("/data/trades", self.get_trades),
                Route("/balance-allowance", self.balance_allowance),
                Route("/balance-allowance/update", self.balance_allowance),
            ]
        )
        return FaultMiddleware(app, self.faults, "clob")


class PolymarketSocket(SocketServer):
    """The market channel at ``/ws/market``."""

    name = "polymarket_ws"
    malformed_frame = '[{"event_type": "book", "asset_id": '
    ping_interval = 20.0

    def __init__(self, venue: PolymarketVenue, faults: Faults) -> None:
        super().__init__(faults)
        self.venue = venue

    def accepts_path(self, path: str) -> bool:
        return path.split("?", 1)[0].rstrip("/") in ("/ws/market", "/ws")

    def on_open(self, client: Client) -> None:
        client.state["assets"] = set()
        client.state["custom"] = False

    def on_text(self, client: Client, text: str) -> None:
        if text.strip().upper() == "PING":
            client.send("\x00PONG")  # heartbeat replies are sent even while silenced
            return
        try:
            message = json.loads(text)
            assets = [str(a) for a in message.get("assets_ids") or message.get("asset_ids") or []]
        except (ValueError, AttributeError):
            client.send("\x00INVALID OPERATION")
            return
        if "custom_feature_enabled" in message:
            client.state["custom"] = bool(message["custom_feature_enabled"])
        operation = str(message.get("operation", "subscribe")).lower()
        subscribed: set[str] = client.state["assets"]
        if operation == "unsubscribe":
            subscribed.difference_update(assets)
            return
        new = [a for a in assets if a not in subscribed and self.venue.token_market(a) is not None]
        subscribed.update(new)
        if new:
            now = self.venue.exchange.clock_ms()
            dump = []
            for asset in new:
                market = self.venue.token_market(asset)
                assert market is not None
                dump.append(self.venue.book_message(market, asset, now, full=True))
            client.send(dumps(dump))

    def publish(self, market: SimMarket, messages: list[tuple[str, dict[str, Any]]]) -> None:
        tokens = {market.yes_id, market.no_id}
        for client in self.clients:
            assets: set[str] = client.state.get("assets", set())
            if not assets & tokens:
                continue
            for target, message in messages:
                if target == "*price_change":
                    entries = [e for e in message["price_changes"] if e["asset_id"] in assets]
                    if entries:
                        client.send(dumps({**message, "price_changes": entries}))
                elif target.startswith("*custom:"):
                    if client.state.get("custom") and target[8:] in assets:
                        client.send(dumps(message))
                elif target in assets:
                    client.send(dumps(message))


def _set_level(levels: dict[int, int], price: int, size: int) -> None:
    if size:
        levels[price] = size
    else:
        levels.pop(price, None)


def _level(price: int, size: int) -> dict[str, str]:
    return {"price": plain(price_decimal(price)), "size": plain(size_decimal(size))}


def _making_taking(order: SimOrder) -> tuple[Decimal, Decimal]:
    shares = size_decimal(order.filled)
    if order.side is Side.BUY:
        return order.notional, shares
    return shares, order.notional


def _int_param(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        value = default
    value = max(0, value)
    return min(value, maximum) if maximum is not None else value


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()


def _cursor(raw: str | None) -> int | None:
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw.encode()).decode()
        if text.startswith("pos:"):
            return int(text[4:])
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _outcome_prices(market: SimMarket, mid: Decimal) -> list[str]:
    """Mid prices while trading; "1"/"0" once the market has resolved (Gamma's final prices)."""
    if market.result is Outcome.YES:
        return ["1", "0"]
    if market.result is Outcome.NO:
        return ["0", "1"]
    return [plain(mid), plain(ONE - mid)]
