"""The ``markets`` table: discovery upserts markets here; the matcher reads them back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, MarketStatus, VenueId
from pmarb.domain.parity import Outcome
from pmarb.matching.fingerprint import terms_hash

_COLUMNS = (
    "venue, market_id, event_id, series_id, title, subtitle, rules, rules_hash, outcomes, "
    "close_time, observation_time, settlement_source, category, status, neg_risk, tick_size, "
    "min_size, fee_schedule, raw, strike_type, floor_strike, cap_strike, settled_outcome, "
    "terms_hash"
)


def _fees_document(fees: FeeSchedule) -> dict[str, Any]:
    return {
        "taker_rate": str(fees.taker_rate),
        "maker_rate": str(fees.maker_rate),
        "exponent": fees.exponent,
        "rounding_step": str(fees.rounding_step) if fees.rounding_step is not None else None,
    }


def _fees(document: dict[str, Any] | None) -> FeeSchedule:
    if not document:
        return FeeSchedule(taker_rate=Decimal(0))
    step = document.get("rounding_step")
    return FeeSchedule(
        taker_rate=Decimal(document["taker_rate"]),
        maker_rate=Decimal(document["maker_rate"]),
        exponent=int(document["exponent"]),
        rounding_step=Decimal(step) if step is not None else None,
    )


def _row(market: Market, raw: dict[str, Any] | None) -> tuple[Any, ...]:
    outcomes = [
        {"name": market.outcome_names[0], "instrument_id": market.yes_instrument_id},
        {"name": market.outcome_names[1], "instrument_id": market.no_instrument_id},
    ]
    return (
        market.venue.value,
        market.market_id,
        market.event_id,
        market.series_id,
        market.title,
        market.subtitle,
        market.rules,
        market.rules_fingerprint,
        Jsonb(outcomes),
        market.close_time,
        market.observation_time,
        market.settlement_source,
        market.category,
        market.status.value,
        market.neg_risk,
        market.tick_size,
        market.min_size,
        Jsonb(_fees_document(market.fees)),
        Jsonb(raw) if raw is not None else None,
        market.strike_type,
        market.floor_strike,
        market.cap_strike,
        market.settled_outcome.value if market.settled_outcome else None,
        terms_hash(market),
    )


async def upsert_markets(
    conn: psycopg.AsyncConnection[Any],
    markets: Iterable[Market],
    *,
    raw: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> int:
    """Insert or update markets by (venue, market_id); return how many rows were written.

    ``raw`` optionally maps (venue, market_id) to the venue payload, kept for audit.
    """
    rows = [_row(m, (raw or {}).get((m.venue.value, m.market_id))) for m in markets]
    if not rows:
        return 0
    placeholders = ", ".join(["%s"] * len(rows[0]))
    updates = ", ".join(
        f"{column} = excluded.{column}"
        for column in (c.strip() for c in _COLUMNS.split(","))
        if column not in ("venue", "market_id")
    )
    async with conn.cursor() as cursor:
        await cursor.executemany(
            f"insert into markets ({_COLUMNS}) values ({placeholders}) "
            f"on conflict (venue, market_id) do update set {updates}, updated_at = now()",
            rows,
        )
    return len(rows)


def market_from_row(row: dict[str, Any]) -> Market:
    outcomes = row["outcomes"]
    settled = row.get("settled_outcome")
    return Market(
        venue=VenueId(row["venue"]),
        market_id=row["market_id"],
        title=row["title"],
        yes_instrument_id=outcomes[0]["instrument_id"],
        no_instrument_id=outcomes[1]["instrument_id"],
        status=MarketStatus(row["status"]),
        subtitle=row["subtitle"],
        rules=row["rules"],
        outcome_names=(outcomes[0]["name"], outcomes[1]["name"]),
        close_time=row["close_time"],
        observation_time=row["observation_time"],
        event_id=row["event_id"],
        series_id=row["series_id"],
        settlement_source=row["settlement_source"],
        category=row["category"],
        tick_size=row["tick_size"] if row["tick_size"] is not None else Decimal("0.01"),
        min_size=row["min_size"] if row["min_size"] is not None else Decimal(1),
        neg_risk=row["neg_risk"],
        fees=_fees(row["fee_schedule"]),
        rules_fingerprint=row["rules_hash"],
        strike_type=row["strike_type"],
        floor_strike=row["floor_strike"],
        cap_strike=row["cap_strike"],
        settled_outcome=Outcome(settled) if settled else None,
    )


async def list_markets(
    conn: psycopg.AsyncConnection[Any],
    *,
    venue: str | None = None,
    statuses: Sequence[MarketStatus] | None = (MarketStatus.OPEN,),
) -> list[Market]:
    """Markets of one venue (or all), by default only open ones, in a stable order."""
    clauses: list[str] = []
    params: list[Any] = []
    if venue is not None:
        clauses.append("venue = %s")
        params.append(venue)
    if statuses is not None:
        clauses.append("status = any(%s)")
        params.append([s.value for s in statuses])
    where = f"where {' and '.join(clauses)}" if clauses else ""
    async with conn.cursor() as cursor:
        await cursor.execute(f"select * from markets {where} order by venue, market_id", params)
        return [market_from_row(row) for row in await cursor.fetchall()]


async def get_markets(
    conn: psycopg.AsyncConnection[Any], keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Market]:
    """The markets with these (venue, market_id) keys; missing keys are simply absent."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    async with conn.cursor() as cursor:
        await cursor.execute(
            "select m.* from markets m join unnest(%s::text[], %s::text[]) as k(venue, market_id)"
            " using (venue, market_id)",
            ([k[0] for k in wanted], [k[1] for k in wanted]),
        )
        rows = await cursor.fetchall()
    return {(row["venue"], row["market_id"]): market_from_row(row) for row in rows}
