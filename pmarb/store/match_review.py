"""The human review queue as the operator surfaces show it: pairs with both markets' titles and
close times. Verdicts go through the matcher's own store (``pmarb.store.matches``), so a review
from the API, the dashboard or the CLI follows exactly the matcher's rules."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from pmarb.store import matches

Row = dict[str, Any]
ReviewError = matches.ReviewError


class UnknownMatchError(matches.ReviewError):
    pass


_SELECT = """
    select mm.id, mm.venue_a, mm.market_a, ma.title as title_a, mm.venue_b, mm.market_b,
           mb.title as title_b, mm.relation, mm.confidence, mm.evidence, mm.decided_by,
           mm.tradable, mm.review_status, mm.reviewed_by, mm.reviewed_at, mm.created_at,
           mm.updated_at, ma.close_time as close_time_a, mb.close_time as close_time_b
    from market_matches mm
    left join markets ma on ma.venue = mm.venue_a and ma.market_id = mm.market_a
    left join markets mb on mb.venue = mm.venue_b and mb.market_id = mm.market_b
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
    if await matches.get_match(conn, match_id) is None:
        raise UnknownMatchError(f"no match with id {match_id}")
    if confirm:
        await matches.confirm_match(conn, match_id, actor)
    else:
        await matches.reject_match(conn, match_id, actor)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(f"{_SELECT} where mm.id = %s", (match_id,))
    row = await cursor.fetchone()
    assert row is not None
    return row
