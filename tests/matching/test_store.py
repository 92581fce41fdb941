"""Markets and match decisions in a real PostgreSQL database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, MarketStatus
from pmarb.domain.parity import Outcome
from pmarb.matching.matcher import Matcher
from pmarb.matching.settings import MatchingSettings
from pmarb.store import markets as market_store
from pmarb.store import matches as match_store
from tests.matching.fake_messages_api import verdict
from tests.matching.fixture_markets import MATCHING, gamma_market, kalshi_market, load
from tests.matching.model_support import served_model
from tests.matching.test_decisions import KALSHI_LAKERS, POLY_LAKERS_FIRST

Connection = psycopg.AsyncConnection[dict[str, Any]]
RAW = load(MATCHING / "crypto_15m_1h_real_market_pairs_2026-02.json")["raw"]


async def test_markets_round_trip_with_every_field(db: Connection) -> None:
    kalshi = replace(
        kalshi_market(RAW["kalshi_market"]),
        fees=FeeSchedule(Decimal("0.07"), Decimal("0.0175"), 1, Decimal("0.01")),
        observation_time=datetime(2026, 2, 21, 2, 15, tzinfo=UTC),
        settled_outcome=Outcome.NO,
        category="crypto",
    )
    polymarket = gamma_market(RAW["polymarket_market"])
    written = await market_store.upsert_markets(
        db, [kalshi, polymarket], raw={("kalshi", kalshi.market_id): RAW["kalshi_market"]}
    )
    await db.commit()
    assert written == 2
    stored = {m.market_id: m for m in await market_store.list_markets(db)}
    assert stored[kalshi.market_id] == kalshi
    assert stored[polymarket.market_id] == polymarket
    assert stored[kalshi.market_id].floor_strike == Decimal("67948.03")

    changed = replace(
        polymarket,
        status=MarketStatus.CLOSED,
        rules=polymarket.rules + " Amended.",
        rules_fingerprint="",
    )
    await market_store.upsert_markets(db, [changed])
    open_only = await market_store.list_markets(db, venue="polymarket")
    assert open_only == []
    everything = await market_store.list_markets(db, venue="polymarket", statuses=None)
    assert (
        everything[0].rules_fingerprint == changed.rules_fingerprint != polymarket.rules_fingerprint
    )


async def _decide_and_save(
    db: Connection,
    confidence: float,
    *,
    a: Market = KALSHI_LAKERS,
    b: Market = POLY_LAKERS_FIRST,
) -> bool:
    first, second = match_store.ordered(a, b)
    async with served_model(lambda body: verdict("equivalent", confidence)) as (_, adjudicator):
        outcome = await Matcher(MatchingSettings(), adjudicator).match(first, second)
    saved = await match_store.save_decision(db, first, second, outcome.decision)
    await db.commit()
    return saved


async def test_review_queue_confirm_makes_a_pair_tradable(db: Connection) -> None:
    await market_store.upsert_markets(db, [KALSHI_LAKERS, POLY_LAKERS_FIRST])
    assert await _decide_and_save(db, 0.7)
    [pending] = await match_store.list_matches(db, review_status="pending")
    assert not pending.tradable and pending.decided_by == "model"
    confirmed = await match_store.confirm_match(db, pending.id, "alice")
    await db.commit()
    assert (confirmed.tradable, confirmed.review_status, confirmed.decided_by) == (
        True,
        "confirmed",
        "human",
    )
    assert confirmed.reviewed_by == "alice"
    assert [row.id for row in await match_store.list_matches(db, tradable=True)] == [pending.id]
    with pytest.raises(match_store.ReviewError, match="not awaiting review"):
        await match_store.reject_match(db, pending.id, "bob")
    with pytest.raises(match_store.ReviewError, match="no match with id"):
        await match_store.confirm_match(db, 999_999, "bob")


async def test_a_rejected_pair_is_not_reflagged_until_its_rules_change(db: Connection) -> None:
    await market_store.upsert_markets(db, [KALSHI_LAKERS, POLY_LAKERS_FIRST])
    assert await _decide_and_save(db, 0.7)
    [pending] = await match_store.list_matches(db, review_status="pending")
    await match_store.reject_match(db, pending.id, "alice")
    await db.commit()

    first, second = match_store.ordered(KALSHI_LAKERS, POLY_LAKERS_FIRST)
    existing = await match_store.get_matches(
        db, [(first.venue.value, first.market_id, second.venue.value, second.market_id)]
    )
    row = next(iter(existing.values()))
    assert not match_store.needs_decision(row, first, second, model_available=True)
    # Even a direct attempt to store a new verdict on the same terms leaves the rejection.
    assert not await _decide_and_save(db, 0.7)
    row_after = await match_store.get_match(db, pending.id)
    assert (
        row_after is not None and row_after.review_status == "rejected" and not row_after.tradable
    )

    amended = replace(
        KALSHI_LAKERS,
        rules="Resolves Yes if the Lakers win; overtime counts.",
        rules_fingerprint="",
    )
    await market_store.upsert_markets(db, [amended])
    first, second = match_store.ordered(amended, POLY_LAKERS_FIRST)
    assert match_store.needs_decision(row_after, first, second, model_available=True)
    assert await _decide_and_save(db, 0.7, a=amended)
    reopened = await match_store.get_match(db, pending.id)
    assert reopened is not None and reopened.review_status == "pending"
    assert (
        reopened.rules_hash_a == first.rules_fingerprint
        or reopened.rules_hash_b == second.rules_fingerprint
    )


async def test_stored_evidence_is_field_by_field(db: Connection) -> None:
    await market_store.upsert_markets(db, [KALSHI_LAKERS, POLY_LAKERS_FIRST])
    await _decide_and_save(db, 0.95)
    [row] = await match_store.list_matches(db)
    assert set(row.evidence["fields"]) >= {"source", "observation", "yes_condition", "fallback"}
    assert row.evidence["fields"]["yes_condition"]["agreement"] == "agree"
    assert row.tradable and row.relation == "equivalent"


async def test_model_verdicts_are_cached_by_both_terms_hashes(db: Connection) -> None:
    first, second = match_store.ordered(KALSHI_LAKERS, POLY_LAKERS_FIRST)
    async with served_model(lambda body: verdict("inverted", 0.8)) as (api, adjudicator):
        outcome = await Matcher(MatchingSettings(), adjudicator).match(first, second)
        assert outcome.verdict is not None
        await match_store.store_verdict(db, first, second, adjudicator.cache_key, outcome.verdict)
        cached = await match_store.cached_verdict(db, first, second, adjudicator.cache_key)
        assert cached == outcome.verdict
        again = await Matcher(MatchingSettings(), adjudicator).match(
            first, second, cached_verdict=cached
        )
        assert again.call is None and len(api.requests) == 1
        assert again.decision == outcome.decision
        amended = replace(first, rules="New rules.", rules_fingerprint="")
        assert await match_store.cached_verdict(db, amended, second, adjudicator.cache_key) is None
        other_model = adjudicator.cache_key.replace(adjudicator.model, "another-model")
        assert await match_store.cached_verdict(db, first, second, other_model) is None
