"""MatchingWorkflow on the real Temporal dev server, a real database and a local model API."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
from temporalio.client import Client
from temporalio.worker import Worker

from pmarb.activities.matching import MatchingActivities
from pmarb.store import markets as market_store
from pmarb.store import matches as match_store
from pmarb.store.db import open_pool
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.matching import MatchingRequest, MatchingSummary, MatchingWorkflow
from tests.matching.fake_messages_api import contracts, verdict
from tests.matching.fixture_pairs import crypto_pairs
from tests.matching.model_support import TEST_KEY, served_model
from tests.matching.test_decisions import KALSHI_LAKERS, POLY_LAKERS_FIRST

Connection = psycopg.AsyncConnection[dict[str, Any]]


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    a, _ = contracts(body)
    return verdict("equivalent", 0.7 if "Lakers" in a["title"] else 0.2)


async def _cycle(
    client: Client, task_queue: str, activities: MatchingActivities
) -> MatchingSummary:
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[MatchingWorkflow],
        activities=[
            activities.find_candidates,
            activities.adjudicate_batch,
            activities.finish_run,
        ],
        workflow_runner=workflow_runner(),
    ):
        return await client.execute_workflow(
            MatchingWorkflow.run,
            MatchingRequest(batch_size=2, cycles=1),
            id=f"matching-{uuid.uuid4().hex}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=60),
        )


async def test_matching_cycles_store_decisions_and_honour_reviews(
    temporal_client: Client, task_queue: str, database_url: str, db: Connection
) -> None:
    crypto = crypto_pairs()[1]  # same 15-minute window: blocked together, parsed apart
    await market_store.upsert_markets(
        db, [KALSHI_LAKERS, POLY_LAKERS_FIRST, crypto.kalshi, crypto.polymarket]
    )
    await db.commit()
    pool = await open_pool(database_url, max_size=3)
    try:
        async with served_model(_answer) as (api, adjudicator):
            activities = MatchingActivities(pool, adjudicator.settings, adjudicator)
            first = await _cycle(temporal_client, task_queue, activities)
            assert (first.markets_a, first.markets_b) == (2, 2)
            assert first.candidates >= 2
            assert first.decided == first.candidates and first.pending_review == 1
            assert first.tradable == 0
            calls_after_first = len(api.requests)
            # The crypto pair differs on parsed fields: the model is never asked about it.
            assert all("BTC" not in contracts(body)[0]["title"] for body in api.requests)

            [pending] = await match_store.list_matches(db, review_status="pending")
            await match_store.reject_match(db, pending.id, "alice")
            await db.commit()
            second = await _cycle(temporal_client, task_queue, activities)
            assert second.decided == 0 and second.unchanged == second.candidates
            assert len(api.requests) == calls_after_first
            row = await match_store.get_match(db, pending.id)
            assert row is not None and row.review_status == "rejected"

            amended = replace(
                POLY_LAKERS_FIRST,
                rules="Resolves to the winner, overtime included.",
                rules_fingerprint="",
            )
            await market_store.upsert_markets(db, [amended])
            await db.commit()
            third = await _cycle(temporal_client, task_queue, activities)
            assert third.pending_review == 1 and third.model_calls == 1
            row = await match_store.get_match(db, pending.id)
            assert row is not None and row.review_status == "pending"
    finally:
        await pool.close()

    cursor = await db.execute(
        "select count(*) as n, sum(cost_usd) as cost, min(status) as status from llm_calls"
    )
    calls = await cursor.fetchone()
    assert calls is not None and calls["n"] == third.model_calls + first.model_calls
    assert calls["cost"] > 0 and calls["status"] == "ok"
    cursor = await db.execute("select count(*) as n from match_candidates")
    leftover = await cursor.fetchone()
    assert leftover is not None and leftover["n"] == 0
    # The key never lands in the database, in any table.
    cursor = await db.execute(
        "select string_agg(t::text, ' ') as dump from (select * from market_matches) t"
    )
    dump = await cursor.fetchone()
    assert dump is not None and TEST_KEY not in (dump["dump"] or "")
    cursor = await db.execute(
        "select string_agg(t::text, ' ') as dump from (select * from llm_calls) t"
    )
    dump = await cursor.fetchone()
    assert dump is not None and TEST_KEY not in (dump["dump"] or "")
