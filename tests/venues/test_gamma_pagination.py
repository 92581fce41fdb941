"""Gamma discovery paging, over a local HTTP server speaking Gamma's two list APIs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pmarb.venues.polymarket.adapter import PolymarketConfig, PolymarketVenue
from tests.support import ServedApp
from tests.venues.conftest import load_fixture


def recorded_markets(count: int) -> list[dict[str, Any]]:
    base = load_fixture("polymarket", "gamma_market.json")
    markets = []
    for n in range(count):
        market = dict(base)
        market["id"] = str(1000 + n)
        market["conditionId"] = f"0x{n:064x}"
        market["clobTokenIds"] = json.dumps([str(2 * n + 1), str(2 * n + 2)])
        markets.append(market)
    return markets


def gamma_app(markets: list[dict[str, Any]], *, keyset: bool, seen: list[str]) -> Starlette:
    async def listing(request: Request) -> JSONResponse:
        seen.append(str(request.url.query))
        limit = min(int(request.query_params.get("limit", 100)), 100)  # Gamma caps at 100
        offset = int(request.query_params.get("offset", 0))
        return JSONResponse(markets[offset : offset + limit])

    async def keyset_listing(request: Request) -> JSONResponse:
        seen.append(str(request.url.query))
        if not keyset:
            return JSONResponse({"error": "not found"}, status_code=404)
        if "offset" in request.query_params:
            return JSONResponse({"error": "offset is not supported"}, status_code=400)
        start = int(request.query_params.get("cursor") or 0)
        body: dict[str, Any] = {"markets": markets[start : start + 100]}
        if start + 100 < len(markets):
            body["next_cursor"] = str(start + 100)
        return JSONResponse(body)

    return Starlette(routes=[Route("/markets", listing), Route("/markets/keyset", keyset_listing)])


async def test_keyset_pages_follow_next_cursor() -> None:
    seen: list[str] = []
    async with ServedApp(gamma_app(recorded_markets(250), keyset=True, seen=seen)) as app:
        venue = PolymarketVenue(PolymarketConfig(gamma_url=app.url, http_attempts=1))
        markets = await venue.discover_markets()
        await venue.aclose()
    assert len(markets) == 250 and len({m.market_id for m in markets}) == 250
    assert [q for q in seen if "cursor=" in q][-1].endswith("cursor=200") or "cursor=200" in seen[
        -1
    ]
    assert len(seen) == 3 and not any("offset" in q for q in seen)


async def test_falls_back_to_limit_offset_where_keyset_is_not_served() -> None:
    seen: list[str] = []
    async with ServedApp(gamma_app(recorded_markets(230), keyset=False, seen=seen)) as app:
        venue = PolymarketVenue(PolymarketConfig(gamma_url=app.url, http_attempts=1))
        markets = await venue.discover_markets()
        await venue.aclose()
    assert len(markets) == 230
    assert [q.split("offset=")[1].split("&")[0] for q in seen if "offset=" in q] == [
        "0",
        "100",
        "200",
    ]
    assert all(m.fees.taker_rate == Decimal("0.04") for m in markets)
