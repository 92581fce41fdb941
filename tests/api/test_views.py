"""The read views over a seeded database, through real HTTP with the bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from tests.api.fixtures import api_settings
from tests.api.seed import seed
from tests.support import ServedApp


@pytest.fixture
async def http(
    database_url: str, db: psycopg.AsyncConnection[dict[str, Any]], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(db)
    settings = api_settings(database_url, tmp_path / "data")
    async with ServedApp(create_app(settings), lifespan="on") as served:
        token = token_path(settings.data_dir).read_text()
        async with httpx.AsyncClient(
            base_url=served.url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            yield client


async def test_portfolio_is_the_ledger_at_its_marks_with_the_snapshot_ratchet(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/portfolio")).json()
    # Cash from the cash flows, positions at the kept mark (or at cost): see tests/api/seed.py.
    assert D(body["cash"]) == D("493.15") and D(body["positions_value"]) == D("7.30")
    assert D(body["value"]) == D("500.45") and D(body["starting_balance"]) == D("500")
    assert D(body["pnl"]) == D("0.45")
    assert (D(body["unrealized_pnl"]), D(body["realized_pnl"])) == (D("0.50"), D("-0.05"))
    lines = {(p["venue"], p["mark_source"]): D(p["value"]) for p in body["positions"]}
    assert lines == {("kalshi", "cost"): D("2.80"), ("polymarket", "mid"): D("4.50")}
    assert D(body["deployed"]) == D("40")
    # The guardian is unreachable: the ratchet comes from the newest snapshot.
    assert body["ratchet_source"] == "snapshot" and D(body["high_water_mark"]) == D("540")
    assert D(body["floor"]) == D("432") and D(body["headroom"]) == D("68.45")
    assert D(body["realized_pnl_today"]) == D("1.25")
    assert [D(p["value"]) for p in body["series"]] == [D("500"), D("540"), D("520")]
    assert body["halted"] is False
    recent = (await http.get("/api/portfolio", params={"hours": 2})).json()
    assert len(recent["series"]) == 1


async def test_positions_are_marked_as_the_portfolio_marks_them(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/positions")).json()
    by_market = {p["market_id"]: p for p in body["items"]}
    marked = by_market["pm-btc-100k"]
    assert D(marked["mark"]) == D("0.45") and marked["mark_source"] == "mid"
    assert D(marked["value"]) == D("4.50") and D(marked["unrealized_pnl"]) == D("0.50")
    assert marked["title"].startswith("Will BTC") and marked["marked_at"] is not None
    at_cost = by_market["KXRAIN-NYC"]
    assert (D(at_cost["mark"]), at_cost["mark_source"]) == (D("0.70"), "cost")
    assert D(at_cost["unrealized_pnl"]) == 0 and at_cost["marked_at"] is None
    assert D(body["unrealized_pnl"]) == D("0.50") and body["unmarked"] == 1
    portfolio = (await http.get("/api/portfolio")).json()
    assert D(body["value"]) == D(portfolio["positions_value"]) == D("7.30")


async def test_strategy_leaderboard_orders_by_allocation(http: httpx.AsyncClient) -> None:
    rows = (await http.get("/api/strategies")).json()
    assert [r["strategy"] for r in rows] == ["atomic-arb", "oracle-sniper"]
    assert D(rows[0]["fraction"]) == D("0.35") and D(rows[0]["capital"]) == D("175")
    assert D(rows[0]["realized_pnl_all_time"]) == D("1.25")
    assert rows[1]["status"] == "paused"


async def test_opportunities_filter_and_paginate(http: httpx.AsyncClient) -> None:
    everything = (await http.get("/api/opportunities")).json()
    assert everything["total"] == 2 and [o["id"] for o in everything["items"]] == ["opp-1", "opp-2"]
    assert everything["items"][0]["temporal_url"] == (
        "http://127.0.0.1:8233/namespaces/default/workflows/opp-1"
    )
    first = (await http.get("/api/opportunities", params={"limit": 1})).json()
    assert first["next_offset"] == 1 and len(first["items"]) == 1
    second = (await http.get("/api/opportunities", params={"limit": 1, "offset": 1})).json()
    assert second["items"][0]["id"] == "opp-2" and second["next_offset"] is None
    lag = (await http.get("/api/opportunities", params={"kind": "oracle_lag"})).json()
    assert [o["id"] for o in lag["items"]] == ["opp-2"]
    by_strategy = (await http.get("/api/opportunities", params={"strategy": "atomic-arb"})).json()
    assert [o["id"] for o in by_strategy["items"]] == ["opp-1"]
    bad = await http.get("/api/opportunities", params={"kind": "nonsense"})
    assert bad.status_code == 422


async def test_feed_health_flags_a_dead_feed(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/feeds")).json()
    assert body["healthy"] is False
    nws = next(f for f in body["feeds"] if f["feed"] == "nws")
    assert not nws["connected"] and nws["stale"] and nws["last_error"].startswith("HTTP 503")
    assert [k["key"] for k in body["keys"]] == ["BTCUSDT"]


async def test_risk_utilisation_and_rejections(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/risk")).json()
    assert body["limits_source"] == "settings"
    deployed = body["deployed"]
    assert D(deployed["used"]) == D("40") and D(deployed["limit"]) == D("400")
    assert D(deployed["fraction"]) == D("0.1")
    market = body["markets"][0]
    assert market["name"] == "polymarket/pm-btc-100k" and D(market["fraction"]) == D("0.8")
    strategies = {s["name"]: s for s in body["strategies"]}
    assert D(strategies["atomic-arb"]["limit"]) == D("175")
    assert D(strategies["oracle-sniper"]["limit"]) == D("0")
    assert body["recent_rejections"][0]["reason_code"] == "STALE_QUOTE"
    assert body["rejections_24h"] == [{"reason_code": "STALE_QUOTE", "count": 1}]


async def test_audit_search(http: httpx.AsyncClient) -> None:
    everything = (await http.get("/api/audit")).json()
    assert everything["total"] == 2
    approved = everything["items"][0]
    assert approved["workflow_id"] == "opp-1" and approved["orders"][0]["client_order_id"] == (
        "opp-1:a"
    )
    assert approved["temporal_url"].endswith("/workflows/opp-1")
    for params, expected in (
        ({"decision": "rejected"}, ["opp-2"]),
        ({"venue": "polymarket"}, ["opp-1"]),
        ({"venue": "kalshi"}, ["opp-2"]),  # no order: found through the opportunity's legs
        ({"market": "KXRAIN-NYC"}, ["opp-2"]),
        ({"strategy": "atomic-arb"}, ["opp-1"]),
        ({"q": "stale"}, ["opp-2"]),
        ({"since": "2999-01-01T00:00:00Z"}, []),
    ):
        found = (await http.get("/api/audit", params=params)).json()
        assert [i["workflow_id"] for i in found["items"]] == expected, params


async def test_alerts_list_and_acknowledge(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/api/alerts", params={"open": "true"})).json()
    assert listed["total"] == 2
    critical = next(a for a in listed["items"] if a["tier"] == "critical")
    acked = await http.post(
        f"/api/alerts/{critical['id']}/ack", headers={"User-Agent": "pmarb-cli/0.1"}
    )
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["newly_acknowledged"] and body["alert"]["acknowledged_by"] == "cli"
    assert body["alert"]["time_to_acknowledge_seconds"] >= 20 * 60 - 5
    again = (await http.post(f"/api/alerts/{critical['id']}/ack")).json()
    assert not again["newly_acknowledged"] and again["alert"]["acknowledged_by"] == "cli"
    assert (await http.get("/api/alerts", params={"open": "true"})).json()["total"] == 1
    missing = await http.post("/api/alerts/999999/ack")
    assert missing.status_code == 404 and "no alert" in missing.json()["detail"]


async def test_match_review_queue(http: httpx.AsyncClient) -> None:
    pending = (await http.get("/api/matches")).json()
    assert pending["total"] == 1
    match = pending["items"][0]
    assert match["title_a"] == "Bitcoin above 100,000 at year end"
    confirmed = await http.post(f"/api/matches/{match['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["review_status"] == "confirmed" and confirmed.json()["tradable"]
    twice = await http.post(f"/api/matches/{match['id']}/reject")
    assert twice.status_code == 409 and "not awaiting review" in twice.json()["detail"]
    assert (await http.post("/api/matches/424242/confirm")).status_code == 404
    assert (await http.get("/api/matches")).json()["total"] == 0


async def test_config_read_and_update_without_the_guardian(http: httpx.AsyncClient) -> None:
    config = (await http.get("/api/config")).json()
    assert config["paper"] is True and config["limits_source"] == "settings"
    assert config["alerts"]["channels"] == {"push": 0, "sms": 0, "email": 0}
    refused = await http.put("/api/config/risk", json={**config["limits"], "bankroll": "-1"})
    assert refused.status_code == 422
    unreachable = await http.put("/api/config/risk", json=config["limits"])
    assert unreachable.status_code == 503 and "not changed" in unreachable.json()["detail"]


async def test_metrics(http: httpx.AsyncClient) -> None:
    response = await http.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'pmarb_trades_total{status="closed",strategy="atomic-arb"} 1.0' in text
    assert 'pmarb_risk_rejections_total{reason="STALE_QUOTE"} 1.0' in text
    assert 'pmarb_feed_age_seconds{feed="nws",key=""} 95.0' in text
    assert 'pmarb_feed_connected{feed="nws"} 0.0' in text
    # Latencies 0.04 s and 0.2 s: one under 0.05, both under 0.25.
    assert 'pmarb_decision_latency_seconds_bucket{le="0.05"} 1.0' in text
    assert 'pmarb_decision_latency_seconds_bucket{le="0.25"} 2.0' in text
    assert "pmarb_decision_latency_seconds_count 2.0" in text
    assert "pmarb_halted 0.0" in text
    assert 'pmarb_alerts_open{tier="critical"} 1.0' in text
    assert "pmarb_portfolio_value 500.45" in text
    assert "pmarb_portfolio_cash 493.15" in text
    assert "pmarb_portfolio_positions_value 7.3" in text


async def test_status_matches_the_cli_document(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/status")).json()
    assert set(body) >= {"healthy", "temporal", "database", "halted", "paper"}
    assert body["database"]["ok"] is True and body["halted"] is False
    assert body["temporal"]["ok"] is False
