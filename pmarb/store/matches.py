"""``market_matches`` and the matcher's bookkeeping: verdict cache, model calls, candidates.

A pair is stored once, ordered by (venue, market_id). A human's confirm or reject is final for
the terms it was made on: nothing overwrites it until either market's terms hash changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from pmarb.domain.market import Market
from pmarb.matching.adjudicator import CallRecord
from pmarb.matching.decision import Decision, ModelVerdict, verdict_from_json, verdict_to_json
from pmarb.matching.fingerprint import terms_hash

PairKey = tuple[str, str, str, str]  # venue_a, market_a, venue_b, market_b


class ReviewError(Exception):
    """A review command that cannot apply (unknown id, or the pair is not pending)."""


def ordered(a: Market, b: Market) -> tuple[Market, Market]:
    return (a, b) if (a.venue.value, a.market_id) <= (b.venue.value, b.market_id) else (b, a)


@dataclass(frozen=True, slots=True)
class MatchRow:
    id: int
    venue_a: str
    market_a: str
    venue_b: str
    market_b: str
    relation: str
    confidence: Decimal
    evidence: dict[str, Any]
    rules_hash_a: str
    rules_hash_b: str
    terms_hash_a: str
    terms_hash_b: str
    decided_by: str
    tradable: bool
    review_status: str
    needs_model: bool
    model: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


_SELECT = (
    "select id, venue_a, market_a, venue_b, market_b, relation, confidence, evidence, "
    "rules_hash_a, rules_hash_b, terms_hash_a, terms_hash_b, decided_by, tradable, "
    "review_status, needs_model, model, reviewed_by, reviewed_at, created_at, updated_at "
    "from market_matches"
)


async def get_matches(
    conn: psycopg.AsyncConnection[Any], pairs: Iterable[PairKey]
) -> dict[PairKey, MatchRow]:
    wanted = list(set(pairs))
    if not wanted:
        return {}
    cursor = conn.cursor(row_factory=class_row(MatchRow))
    await cursor.execute(
        _SELECT + " join unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
        " as k(venue_a, market_a, venue_b, market_b) using (venue_a, market_a, venue_b, market_b)",
        tuple([key[i] for key in wanted] for i in range(4)),
    )
    return {
        (row.venue_a, row.market_a, row.venue_b, row.market_b): row
        for row in await cursor.fetchall()
    }


async def get_match(conn: psycopg.AsyncConnection[Any], match_id: int) -> MatchRow | None:
    cursor = conn.cursor(row_factory=class_row(MatchRow))
    await cursor.execute(_SELECT + " where id = %s", (match_id,))
    return await cursor.fetchone()


def needs_decision(
    existing: MatchRow | None, a: Market, b: Market, *, model_available: bool
) -> bool:
    """Whether a pair (already ordered) must be decided again."""
    if existing is None:
        return True
    if (existing.terms_hash_a, existing.terms_hash_b) != (terms_hash(a), terms_hash(b)):
        return True  # rule change: every earlier verdict, human or not, is void
    if existing.review_status in ("pending", "confirmed", "rejected"):
        return False
    return existing.needs_model and model_available


async def save_decision(
    conn: psycopg.AsyncConnection[Any], a: Market, b: Market, decision: Decision
) -> bool:
    """Store the decision for an ordered pair; False when a human verdict on these terms stands."""
    cursor = await conn.execute(
        """
        insert into market_matches (
            venue_a, market_a, venue_b, market_b, relation, confidence, evidence,
            rules_hash_a, rules_hash_b, terms_hash_a, terms_hash_b, decided_by, tradable,
            review_status, needs_model, model
        ) values (
            %(venue_a)s, %(market_a)s, %(venue_b)s, %(market_b)s, %(relation)s, %(confidence)s,
            %(evidence)s, %(rules_hash_a)s, %(rules_hash_b)s, %(terms_hash_a)s,
            %(terms_hash_b)s, %(decided_by)s, %(tradable)s, %(review_status)s,
            %(needs_model)s, %(model)s
        )
        on conflict (venue_a, market_a, venue_b, market_b) do update set
            relation = excluded.relation, confidence = excluded.confidence,
            evidence = excluded.evidence, rules_hash_a = excluded.rules_hash_a,
            rules_hash_b = excluded.rules_hash_b, terms_hash_a = excluded.terms_hash_a,
            terms_hash_b = excluded.terms_hash_b, decided_by = excluded.decided_by,
            tradable = excluded.tradable, review_status = excluded.review_status,
            needs_model = excluded.needs_model, model = excluded.model,
            reviewed_by = null, reviewed_at = null, updated_at = now()
        where market_matches.review_status not in ('confirmed', 'rejected')
            or market_matches.terms_hash_a <> excluded.terms_hash_a
            or market_matches.terms_hash_b <> excluded.terms_hash_b
        """,
        {
            "venue_a": a.venue.value,
            "market_a": a.market_id,
            "venue_b": b.venue.value,
            "market_b": b.market_id,
            "relation": decision.relation.value,
            "confidence": decision.confidence,
            "evidence": Jsonb(decision.evidence()),
            "rules_hash_a": a.rules_fingerprint,
            "rules_hash_b": b.rules_fingerprint,
            "terms_hash_a": terms_hash(a),
            "terms_hash_b": terms_hash(b),
            "decided_by": decision.decided_by,
            "tradable": decision.tradable,
            "review_status": decision.review_status,
            "needs_model": decision.needs_model,
            "model": decision.model,
        },
    )
    return cursor.rowcount == 1


async def list_matches(
    conn: psycopg.AsyncConnection[Any],
    *,
    review_status: str | None = None,
    tradable: bool | None = None,
    limit: int = 200,
) -> list[MatchRow]:
    clauses: list[str] = []
    params: list[Any] = []
    if review_status is not None:
        clauses.append("review_status = %s")
        params.append(review_status)
    if tradable is not None:
        clauses.append("tradable = %s")
        params.append(tradable)
    where = f" where {' and '.join(clauses)}" if clauses else ""
    cursor = conn.cursor(row_factory=class_row(MatchRow))
    await cursor.execute(_SELECT + where + " order by id limit %s", (*params, limit))
    return await cursor.fetchall()


async def _review(
    conn: psycopg.AsyncConnection[Any], match_id: int, *, confirm: bool, actor: str
) -> MatchRow:
    async with conn.transaction():
        row = await get_match(conn, match_id)
        if row is None:
            raise ReviewError(f"no match with id {match_id}")
        if row.review_status != "pending":
            raise ReviewError(
                f"match {match_id} is not awaiting review (review status {row.review_status!r})"
            )
        await conn.execute(
            """
            update market_matches set review_status = %s, tradable = %s, decided_by = 'human',
                reviewed_by = %s, reviewed_at = now(), updated_at = now()
            where id = %s
            """,
            ("confirmed" if confirm else "rejected", confirm, actor, match_id),
        )
    updated = await get_match(conn, match_id)
    assert updated is not None
    return updated


async def confirm_match(conn: psycopg.AsyncConnection[Any], match_id: int, actor: str) -> MatchRow:
    """A human says the pending pair is the same contract: it becomes tradable."""
    return await _review(conn, match_id, confirm=True, actor=actor)


async def reject_match(conn: psycopg.AsyncConnection[Any], match_id: int, actor: str) -> MatchRow:
    """A human says no: never tradable and never re-queued until either market's terms change."""
    return await _review(conn, match_id, confirm=False, actor=actor)


async def cached_verdict(
    conn: psycopg.AsyncConnection[Any], a: Market, b: Market, adjudicator: str
) -> ModelVerdict | None:
    cursor = await conn.execute(
        "select verdict from match_verdicts"
        " where terms_hash_a = %s and terms_hash_b = %s and adjudicator = %s",
        (terms_hash(a), terms_hash(b), adjudicator),
    )
    row = await cursor.fetchone()
    return verdict_from_json(row["verdict"]) if row else None


async def store_verdict(
    conn: psycopg.AsyncConnection[Any],
    a: Market,
    b: Market,
    adjudicator: str,
    verdict: ModelVerdict,
) -> None:
    await conn.execute(
        """
        insert into match_verdicts (terms_hash_a, terms_hash_b, adjudicator, verdict)
        values (%s, %s, %s, %s)
        on conflict (terms_hash_a, terms_hash_b, adjudicator)
        do update set verdict = excluded.verdict, created_at = now()
        """,
        (terms_hash(a), terms_hash(b), adjudicator, Jsonb(verdict_to_json(verdict))),
    )


async def record_call(
    conn: psycopg.AsyncConnection[Any],
    call: CallRecord,
    *,
    purpose: str,
    a: Market | None = None,
    b: Market | None = None,
) -> None:
    await conn.execute(
        """
        insert into llm_calls (
            purpose, model, status, venue_a, market_a, venue_b, market_b, input_tokens,
            output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd,
            latency_ms, request_id, error
        ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            purpose,
            call.model,
            call.status,
            a.venue.value if a else None,
            a.market_id if a else None,
            b.venue.value if b else None,
            b.market_id if b else None,
            call.input_tokens,
            call.output_tokens,
            call.cache_creation_input_tokens,
            call.cache_read_input_tokens,
            call.cost_usd,
            call.latency_ms,
            call.request_id,
            call.error,
        ),
    )


async def save_candidates(
    conn: psycopg.AsyncConnection[Any], run_id: str, pairs: Iterable[PairKey]
) -> int:
    rows = [(run_id, seq, *pair) for seq, pair in enumerate(pairs)]
    async with conn.cursor() as cursor:
        await cursor.execute("delete from match_candidates where run_id = %s", (run_id,))
        if rows:
            await cursor.executemany(
                "insert into match_candidates (run_id, seq, venue_a, market_a, venue_b, market_b)"
                " values (%s, %s, %s, %s, %s, %s)",
                rows,
            )
    return len(rows)


async def candidate_batch(
    conn: psycopg.AsyncConnection[Any], run_id: str, after_seq: int, limit: int
) -> list[tuple[int, PairKey]]:
    cursor = await conn.execute(
        "select seq, venue_a, market_a, venue_b, market_b from match_candidates"
        " where run_id = %s and seq > %s order by seq limit %s",
        (run_id, after_seq, limit),
    )
    return [
        (row["seq"], (row["venue_a"], row["market_a"], row["venue_b"], row["market_b"]))
        for row in await cursor.fetchall()
    ]


async def drop_candidates(conn: psycopg.AsyncConnection[Any], run_id: str) -> None:
    await conn.execute("delete from match_candidates where run_id = %s", (run_id,))
