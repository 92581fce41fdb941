"""Every risk rule rejects with its reason code, on a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import psycopg
import pytest

from pmarb.domain.risk import RiskLimits
from pmarb.store.db import connect
from pmarb.store.risk import (
    LegExposure,
    QuoteCheck,
    RiskCheckRequest,
    RiskReason,
    check_and_reserve,
    release_reservation,
    store_limits,
)
from pmarb.store.risk_state import set_halted

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LIMITS = RiskLimits()  # bankroll 500: market 50, venue 250, deployed 400, daily loss 50

Conn = psycopg.AsyncConnection[dict[str, Any]]


def request(
    workflow_id: str = "opp-1",
    capital: str = "20",
    legs: tuple[tuple[str, str, str], ...] = (("kalshi", "M1", "20"),),
    observed_at: datetime = NOW,
    quoted: str = "0.40",
    expected: str = "0.41",
    expires_at: datetime = NOW + timedelta(seconds=10),
    strategy: str = "atomic-arb",
) -> RiskCheckRequest:
    return RiskCheckRequest(
        workflow_id=workflow_id,
        opportunity_id=workflow_id,
        opportunity_kind="cross_venue",
        opportunity={
            "detected_at": NOW.isoformat(),
            "edge": "0.05",
            "size": "10",
            "legs": [],
            "quotes": [],
        },
        strategy=strategy,
        bid={"strategy": strategy},
        capital=D(capital),
        legs=tuple(LegExposure(v, m, D(a)) for v, m, a in legs),
        quotes=(QuoteCheck("I1", observed_at, D(quoted), D(expected)),),
        expires_at=expires_at,
    )


async def decide(db: Conn, req: RiskCheckRequest, now: datetime = NOW) -> RiskReason:
    return (await check_and_reserve(db, req, LIMITS, now)).reason


async def rejection_codes(db: Conn) -> list[str]:
    cursor = await db.execute("select reason_code from risk_events where kind = 'rejection'")
    return [row["reason_code"] for row in await cursor.fetchall()]


async def test_approval_reserves_and_is_recorded(db: Conn) -> None:
    assert await decide(db, request()) is RiskReason.APPROVED
    cursor = await db.execute("select risk_decision, risk_reason from trade_requests")
    assert await cursor.fetchall() == [{"risk_decision": "approved", "risk_reason": "APPROVED"}]
    cursor = await db.execute("select capital, status from exposure_reservations")
    assert await cursor.fetchall() == [{"capital": D("20"), "status": "active"}]


async def test_halt(db: Conn) -> None:
    await set_halted(db, halted=True, reason="panic", actor="test")
    assert await decide(db, request()) is RiskReason.HALTED
    assert await rejection_codes(db) == ["HALTED"]


async def test_per_market_limit(db: Conn) -> None:
    assert await decide(db, request("a", "40", (("kalshi", "M1", "40"),))) is RiskReason.APPROVED
    assert (
        await decide(db, request("b", "20", (("kalshi", "M1", "20"),))) is RiskReason.MARKET_LIMIT
    )
    assert await decide(db, request("c", "20", (("kalshi", "M2", "20"),))) is RiskReason.APPROVED


async def test_per_venue_limit(db: Conn) -> None:
    for n in range(5):
        req = request(f"w{n}", "50", (("kalshi", f"M{n}", "50"),))
        assert await decide(db, req) is RiskReason.APPROVED
    assert await decide(db, request("x", "10", (("kalshi", "M9", "10"),))) is RiskReason.VENUE_LIMIT


async def test_portfolio_limit(db: Conn) -> None:
    n = 0
    for venue in ("kalshi", "polymarket"):
        for market in range(4):
            req = request(f"w{n}", "50", ((venue, f"M{market}", "50"),))
            assert await decide(db, req) is RiskReason.APPROVED
            n += 1
    last = request("over", "10", (("polymarket", "M9", "10"),))
    assert await decide(db, last) is RiskReason.PORTFOLIO_LIMIT


async def test_daily_loss_pause_lasts_until_next_utc_midnight(db: Conn) -> None:
    await db.execute(
        """
        insert into trade_requests (workflow_id, strategy, bid) values ('old', 's', '{}');
        insert into trades (trade_request_id, strategy, status, realized_pnl, closed_at)
        select id, 's', 'settled', -60, %s from trade_requests where workflow_id = 'old';
        """.replace("%s", f"'{(NOW - timedelta(hours=1)).isoformat()}'")
    )
    assert await decide(db, request("a")) is RiskReason.DAILY_LOSS_PAUSE
    cursor = await db.execute("select paused_until from risk_state")
    row = await cursor.fetchone()
    assert row is not None and row["paused_until"] == datetime(2026, 11, 26, tzinfo=UTC)
    late = NOW + timedelta(hours=11)
    assert await decide(db, request("b", expires_at=late + timedelta(seconds=5)), late) is (
        RiskReason.DAILY_LOSS_PAUSE
    )
    tomorrow = datetime(2026, 11, 26, 0, 0, 1, tzinfo=UTC)
    fresh = request("c", observed_at=tomorrow, expires_at=tomorrow + timedelta(seconds=5))
    assert await decide(db, fresh, tomorrow) is RiskReason.APPROVED


async def test_stale_quote_and_slippage_and_expiry(db: Conn) -> None:
    stale = request("a", observed_at=NOW - timedelta(seconds=6))
    assert await decide(db, stale) is RiskReason.STALE_QUOTE
    assert await decide(db, request("b", expected="0.43")) is RiskReason.SLIPPAGE
    assert await decide(db, request("c", expires_at=NOW)) is RiskReason.EXPIRED
    assert sorted(await rejection_codes(db)) == ["EXPIRED", "SLIPPAGE", "STALE_QUOTE"]


async def test_strategy_budget_from_allocations(db: Conn) -> None:
    await db.execute(
        """insert into allocations (strategy, effective_date, fraction, capital, status, reason)
           values ('atomic-arb', '2026-11-25', 0.05, 25, 'active', 't'),
                  ('leg-and-hedge', '2026-11-25', 0, 0, 'paused', 't')"""
    )
    assert await decide(db, request("a", "20")) is RiskReason.APPROVED
    assert await decide(db, request("b", "10", (("kalshi", "M2", "10"),))) is (
        RiskReason.STRATEGY_BUDGET
    )
    paused = request("c", "1", (("kalshi", "M3", "1"),), strategy="leg-and-hedge")
    assert await decide(db, paused) is RiskReason.STRATEGY_BUDGET


async def test_a_retried_check_returns_the_first_decision_and_reserves_once(db: Conn) -> None:
    assert await decide(db, request()) is RiskReason.APPROVED
    assert (await check_and_reserve(db, request(), LIMITS, NOW)).detail == "decided earlier"
    cursor = await db.execute("select count(*) as n from exposure_reservations")
    assert await cursor.fetchone() == {"n": 1}


async def test_release_frees_exposure(db: Conn) -> None:
    assert await decide(db, request("a", "50", (("kalshi", "M1", "50"),))) is RiskReason.APPROVED
    assert await decide(db, request("b", "1", (("kalshi", "M1", "1"),))) is RiskReason.MARKET_LIMIT
    assert await release_reservation(db, "a")
    assert not await release_reservation(db, "a")
    assert await decide(db, request("c", "50", (("kalshi", "M1", "50"),))) is RiskReason.APPROVED


async def test_limits_set_at_runtime_apply(db: Conn) -> None:
    await store_limits(db, RiskLimits(per_market_limit_pct=D("0.01")))
    assert await decide(db, request("a", "20")) is RiskReason.MARKET_LIMIT


async def test_concurrent_checks_cannot_overspend_a_limit(database_url: str) -> None:
    async def one(n: int) -> RiskReason:
        async with await connect(database_url) as conn:
            return await decide(conn, request(f"c{n}", "30", (("kalshi", "M1", "30"),)))

    results = await asyncio.gather(*(one(n) for n in range(6)))
    assert results.count(RiskReason.APPROVED) == 1
    assert results.count(RiskReason.MARKET_LIMIT) == 5


@pytest.mark.parametrize("reason", list(RiskReason))
def test_reason_codes_are_stable_strings(reason: RiskReason) -> None:
    assert reason.value == reason.name
