"""Matcher activities: all the I/O of a MatchingWorkflow cycle (store, parsers, the model).

Market data stays here. The workflow sees a run id, counts and sequence numbers, never a
market: candidates go to ``match_candidates`` and decisions to ``market_matches``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool
from temporalio import activity

from pmarb.config import Settings
from pmarb.domain.market import Market
from pmarb.matching.adjudicator import ModelAdjudicator
from pmarb.matching.blocking import candidate_pairs
from pmarb.matching.extract import extract
from pmarb.matching.matcher import Matcher, MatchOutcome
from pmarb.matching.settings import MatchingSettings
from pmarb.store import markets as market_store
from pmarb.store import matches as match_store


@dataclass(frozen=True)
class CandidateRequest:
    run_id: str
    venue_a: str
    venue_b: str


@dataclass(frozen=True)
class CandidateSummary:
    run_id: str
    markets_a: int
    markets_b: int
    candidates: int


@dataclass(frozen=True)
class BatchRequest:
    run_id: str
    after_seq: int
    limit: int


@dataclass(frozen=True)
class BatchSummary:
    next_seq: int | None  # None when the run has no candidates left
    decided: int = 0
    unchanged: int = 0
    tradable: int = 0
    pending_review: int = 0
    model_calls: int = 0
    cost_usd: Decimal = Decimal(0)


class MatchingActivities:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        settings: MatchingSettings,
        adjudicator: ModelAdjudicator | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._matcher = Matcher(settings, adjudicator)

    @classmethod
    def from_settings(
        cls, pool: AsyncConnectionPool[Any], settings: Settings
    ) -> MatchingActivities:
        key = settings.anthropic_api_key
        adjudicator = (
            ModelAdjudicator(key.get_secret_value(), settings.matching) if key is not None else None
        )
        return cls(pool, settings.matching, adjudicator)

    @activity.defn(name="matching.find_candidates")
    async def find_candidates(self, request: CandidateRequest) -> CandidateSummary:
        async with self._pool.connection() as conn:
            left = await market_store.list_markets(conn, venue=request.venue_a)
            right = await market_store.list_markets(conn, venue=request.venue_b)
        left_propositions = [extract(market) for market in left]
        right_propositions = [extract(market) for market in right]
        pairs = candidate_pairs(left, right, left_propositions, right_propositions)
        keys = []
        for i, j in pairs:
            a, b = match_store.ordered(left[i], right[j])
            keys.append((a.venue.value, a.market_id, b.venue.value, b.market_id))
        async with self._pool.connection() as conn:
            count = await match_store.save_candidates(conn, request.run_id, keys)
        activity.logger.info(
            "run %s: %d x %d markets -> %d candidate pairs",
            request.run_id,
            len(left),
            len(right),
            count,
        )
        return CandidateSummary(request.run_id, len(left), len(right), count)

    @activity.defn(name="matching.adjudicate_batch")
    async def adjudicate_batch(self, request: BatchRequest) -> BatchSummary:
        model_available = self._matcher.adjudicator is not None
        async with self._pool.connection() as conn:
            batch = await match_store.candidate_batch(
                conn, request.run_id, request.after_seq, request.limit
            )
            if not batch:
                return BatchSummary(next_seq=None)
            keys = [key for _, key in batch]
            found = await market_store.get_markets(
                conn, [(k[0], k[1]) for k in keys] + [(k[2], k[3]) for k in keys]
            )
            existing = await match_store.get_matches(conn, keys)
            work: list[tuple[Market, Market]] = []
            unchanged = 0
            for key in keys:
                a, b = found.get((key[0], key[1])), found.get((key[2], key[3]))
                if a is None or b is None:
                    unchanged += 1
                    continue
                if match_store.needs_decision(
                    existing.get(key), a, b, model_available=model_available
                ):
                    work.append((a, b))
                else:
                    unchanged += 1
            cached = {}
            if self._matcher.adjudicator is not None:
                adjudicator_key = self._matcher.adjudicator.cache_key
                for a, b in work:
                    verdict = await match_store.cached_verdict(conn, a, b, adjudicator_key)
                    if verdict is not None:
                        cached[(a.venue.value, a.market_id, b.venue.value, b.market_id)] = verdict
            await conn.commit()

        outcomes = await asyncio.gather(
            *(
                self._matcher.match(
                    a,
                    b,
                    cached_verdict=cached.get(
                        (a.venue.value, a.market_id, b.venue.value, b.market_id)
                    ),
                )
                for a, b in work
            )
        )
        summary = await self._store(work, outcomes)
        return BatchSummary(
            next_seq=batch[-1][0],
            decided=summary.decided,
            unchanged=unchanged,
            tradable=summary.tradable,
            pending_review=summary.pending_review,
            model_calls=summary.model_calls,
            cost_usd=summary.cost_usd,
        )

    async def _store(
        self, work: list[tuple[Market, Market]], outcomes: list[MatchOutcome]
    ) -> BatchSummary:
        decided = tradable = pending = calls = 0
        cost = Decimal(0)
        async with self._pool.connection() as conn:
            for (a, b), outcome in zip(work, outcomes, strict=True):
                async with conn.transaction():
                    if outcome.call is not None:
                        calls += 1
                        cost += outcome.call.cost_usd
                        await match_store.record_call(
                            conn, outcome.call, purpose="adjudication", a=a, b=b
                        )
                        if outcome.verdict is not None and outcome.call.status == "ok":
                            adjudicator = self._matcher.adjudicator
                            assert adjudicator is not None
                            await match_store.store_verdict(
                                conn, a, b, adjudicator.cache_key, outcome.verdict
                            )
                    if await match_store.save_decision(conn, a, b, outcome.decision):
                        decided += 1
                        tradable += outcome.decision.tradable
                        pending += outcome.decision.review_status == "pending"
        return BatchSummary(None, decided, 0, tradable, pending, calls, cost)

    @activity.defn(name="matching.finish_run")
    async def finish_run(self, run_id: str) -> None:
        async with self._pool.connection() as conn:
            await match_store.drop_candidates(conn, run_id)
