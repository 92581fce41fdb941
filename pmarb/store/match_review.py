"""The human review queue over ``market_matches``, as the operator surfaces need it.

Interim: the matcher's branch owns ``pmarb.store.matches`` (with reviewer columns); once that is
on main, these three functions should delegate to it. Until then they use only the columns of
the initial schema, and the same rule: only a pending pair can be confirmed or rejected, and a
confirmation is what makes a pair tradable.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

Row = dict[str, Any]


class ReviewError(Exception):
    """The pair cannot be reviewed: unknown id, or not awaiting review."""


class UnknownMatchError(ReviewError):
    pass


_SELECT = """
    select mm.id, mm.venue_a, mm.market_a, ma.title as title_a, mm.venue_b, mm.market_b,
           mb.title as title_b, mm.relation, mm.confidence, mm.evidence, mm.decided_by,
           mm.tradable, mm.review_status, mm.created_at, mm.updated_at,
           ma.close_time as close_time_a, mb.close_time as close_time_b
    from market_matches mm
    left join markets ma on ma.venue = mm.venue_a and ma.market_id = mm.market_a
    left join markets mb on mb.venue = mm.venue_b and mm.market_b = mb.market_id
"""


async def list_matches(
    conn: psycopg.AsyncConnection[Any], review_status: str | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    where = "where mm.review_status = %(status)s" if review_status else ""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"{_SELECT} {where} order by mm.created_at, mm.id limit %(limit)s offset %(offset)s",
        {"status": review_status, "limit": limit, "offset": offset},
    )
    rows = list(await cursor.fetchall())
    await cursor.execute(
        f"select count(*) as n from market_matches mm {where}", {"status": review_status}
    )
    total = await cursor.fetchone()
    return rows, int(total["n"]) if total else 0


async def review(
    conn: psycopg.AsyncConnection[Any], match_id: int, *, confirm: bool, actor: str
) -> Row:
    async with conn.transaction():
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "select review_status from market_matches where id = %s for update", (match_id,)
        )
        row = await cursor.fetchone()
        if row is None:
            raise UnknownMatchError(f"no match with id {match_id}")
        if row["review_status"] != "pending":
            raise ReviewError(
                f"match {match_id} is not awaiting review (status {row['review_status']!r})"
            )
        await cursor.execute(
            """
            update market_matches set review_status = %s, tradable = %s, decided_by = 'human',
                evidence = evidence || jsonb_build_object('reviewed_by', %s::text),
                updated_at = now()
            where id = %s
            """,
            ("confirmed" if confirm else "rejected", confirm, actor, match_id),
        )
        await cursor.execute(f"{_SELECT} where mm.id = %s", (match_id,))
        updated = await cursor.fetchone()
    assert updated is not None
    return updated
