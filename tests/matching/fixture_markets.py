"""Recorded venue objects from shared/fixtures turned into domain markets for the tests.

This is deliberately minimal (the venue adapters own real parsing): it maps only the fields
the matcher reads, the way an adapter would.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pmarb.domain.market import Market, VenueId
from tests.support import FIXTURES

MATCHING = FIXTURES / "matching"
ORACLES = FIXTURES / "oracles"


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def kalshi_market(raw: dict[str, Any], *, title: str | None = None) -> Market:
    rules = "\n".join(
        part for part in (raw.get("rules_primary"), raw.get("rules_secondary")) if part
    )
    sources = raw.get("settlement_sources") or []
    ticker = raw["ticker"]
    return Market(
        venue=VenueId.KALSHI,
        market_id=ticker,
        title=title or raw.get("title") or "",
        subtitle=raw.get("yes_sub_title") or "",
        rules=rules,
        yes_instrument_id=f"{ticker}:yes",
        no_instrument_id=f"{ticker}:no",
        close_time=_time(raw.get("close_time")),
        event_id=raw.get("event_ticker"),
        series_id=raw.get("series_ticker"),
        settlement_source="; ".join(f"{s['name']} {s['url']}" for s in sources) or None,
        strike_type=raw.get("strike_type"),
        floor_strike=_decimal(raw.get("floor_strike")),
        cap_strike=_decimal(raw.get("cap_strike")),
    )


def gamma_market(raw: dict[str, Any]) -> Market:
    outcomes = json.loads(raw.get("outcomes") or '["Yes", "No"]')
    tokens = json.loads(raw.get("clobTokenIds") or '["", ""]')
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=str(raw.get("id") or raw["slug"]),
        title=raw["question"],
        rules=raw.get("description") or "",
        outcome_names=(outcomes[0], outcomes[1]),
        yes_instrument_id=tokens[0],
        no_instrument_id=tokens[1],
        close_time=_time(raw.get("endDate")),
        settlement_source=raw.get("resolutionSource") or None,
        event_id=raw.get("slug"),
    )


def polymarket_text_market(
    market_id: str, title: str, rules: str, *, close_time: datetime | None = None
) -> Market:
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=market_id,
        title=title,
        rules=rules,
        yes_instrument_id=f"{market_id}-yes",
        no_instrument_id=f"{market_id}-no",
        close_time=close_time,
    )
