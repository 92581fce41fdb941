"""Cross-venue pairs built from shared/fixtures/matching (and the recorded venue objects).

Where a fixture records a pair by its rule template and times rather than whole objects, the
market is rebuilt from the recorded rule text of the same family with that pair's times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pmarb.domain.market import Market, VenueId
from tests.matching.fixture_markets import (
    MATCHING,
    ORACLES,
    gamma_market,
    kalshi_market,
    load,
)


@dataclass(frozen=True)
class Pair:
    name: str
    kalshi: Market
    polymarket: Market
    label: str


def _polymarket(market_id: str, title: str, rules: str, **extra: object) -> Market:
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=market_id,
        title=title,
        rules=rules,
        yes_instrument_id=f"{market_id}-yes",
        no_instrument_id=f"{market_id}-no",
        **extra,  # type: ignore[arg-type]
    )


def _kalshi(market_id: str, title: str, rules: str, **extra: object) -> Market:
    return Market(
        venue=VenueId.KALSHI,
        market_id=market_id,
        title=title,
        rules=rules,
        yes_instrument_id=f"{market_id}:yes",
        no_instrument_id=f"{market_id}:no",
        **extra,  # type: ignore[arg-type]
    )


def casebook_pairs() -> list[Pair]:
    document = load(MATCHING / "representation_casebook_cross_venue.json")
    pairs = []
    for index, case in enumerate(document["cases"]):
        pairs.append(
            Pair(
                f"casebook: {case['case']}",
                _kalshi(f"casebook-k{index}", case["case"], case["kalshi"]["rules"]),
                _polymarket(f"casebook-p{index}", case["case"], case["polymarket"]["rules"]),
                case["label"],
            )
        )
    return pairs


def crypto_pairs() -> list[Pair]:
    document = load(MATCHING / "crypto_15m_1h_real_market_pairs_2026-02.json")
    raw_kalshi = document["raw"]["kalshi_market"]
    raw_poly = document["raw"]["polymarket_market"]
    by_id = {pair["pair_id"]: pair for pair in document["pairs"]}
    adjacent = Pair(
        "crypto: btc15m adjacent windows (recorded objects)",
        kalshi_market(raw_kalshi),
        gamma_market(raw_poly),
        by_id["btc15m-adjacent-window"]["label"],
    )

    same = by_id["btc15m-same-window"]
    kalshi_rules = (
        raw_kalshi["rules_primary"]
        .replace("9:15 PM EST", "10:00 PM EST")
        .replace("9:00 PM EST", "9:45 PM EST")
    )
    same_window = Pair(
        "crypto: btc15m same window",
        _kalshi(
            same["kalshi"]["ticker"],
            same["kalshi"]["title"],
            kalshi_rules + "\n" + raw_kalshi["rules_secondary"],
            close_time=datetime(2026, 2, 21, 3, 0, tzinfo=UTC),
            strike_type="greater_or_equal",
            floor_strike=Decimal(str(same["kalshi"]["floor_strike"])),
        ),
        _polymarket(
            same["polymarket"]["slug"],
            "Bitcoin Up or Down - February 20, 9:45PM-10:00PM ET",
            raw_poly["description"],
            outcome_names=("Up", "Down"),
            close_time=datetime(2026, 2, 21, 3, 0, tzinfo=UTC),
            settlement_source=raw_poly["resolutionSource"],
        ),
        same["label"],
    )

    hourly_poly = gamma_market(
        load(
            ORACLES
            / "polymarket_gamma"
            / "market_bitcoin-up-or-down-february-20-9pm-et_captured_2026-02-21.json"
        )
    )
    kxbtcd = load(ORACLES / "kalshi" / "rules_examples_partial_market_objects.json")[0]
    hourly_rules = (
        kxbtcd["rules_primary"]
        .replace("5 PM EDT", "9 PM EST")
        .replace("Sep 21, 2025", "Feb 20, 2026")
        .replace("115749.99", "67999.99")
    )
    hourly = Pair(
        "crypto: polymarket hourly candle vs kalshi KXBTCD same hour",
        _kalshi(
            "KXBTCD-26FEB2021-T67999.99",
            "Bitcoin price on Feb 20, 2026?",
            hourly_rules + "\n" + kxbtcd["rules_secondary"],
            subtitle="$68,000 or above",
            close_time=datetime(2026, 2, 21, 2, 0, tzinfo=UTC),
        ),
        hourly_poly,
        by_id["btc1h-vs-kxbtcd-same-hour"]["label"],
    )
    return [adjacent, same_window, hourly]


def weather_pairs() -> list[Pair]:
    """Every city whose two stations the table names, daily high "greater than 90°"."""
    document = load(MATCHING / "weather_settlement_stations_kalshi_vs_polymarket.json")
    poly_template = document["polymarket_rule_text_example"]
    pairs = []
    for city in document["cities"]:
        kalshi_station, poly_station = city["kalshi_station"], city["polymarket_station"]
        if "unverified" in (kalshi_station, poly_station):
            continue
        kalshi_rules = (
            f"If the highest temperature recorded at {kalshi_station} for August 12, 2026 as "
            "reported by the National Weather Service's Climatological Report (Daily), is "
            "greater than 90°, then the market resolves to Yes."
        )
        poly_rules = poly_template.replace("LaGuardia Airport Station", f"{poly_station} Station")
        poly_rules = poly_rules.replace("11 Jun '26", "12 Aug '26").replace("/KLGA", "")
        pairs.append(
            Pair(
                f"weather: {city['city']}",
                _kalshi(
                    f"KXHIGH-{city['city']}",
                    f"Highest temperature in {city['city']}?",
                    kalshi_rules,
                ),
                _polymarket(
                    f"poly-high-{city['city']}",
                    f"Will the highest temperature in {city['city']} be 91°F or higher on Aug 12?",
                    poly_rules,
                    close_time=datetime(2026, 8, 13, 12, 0, tzinfo=UTC),
                ),
                "NOT_EQUIVALENT"
                if not city["same_station"]
                else "NEAR_EQUIVALENT_DIFFERENT_SOURCE",
            )
        )
    return pairs


def weather_rule_examples() -> list[Market]:
    return [
        kalshi_market(raw)
        for raw in load(ORACLES / "kalshi" / "rules_examples_partial_market_objects.json")
        if raw["ticker"].startswith("KXHIGH")
    ]


def as_jsonl_line(pair: Pair) -> str:
    def document(market: Market) -> dict[str, object]:
        return {
            "venue": market.venue.value,
            "id": market.market_id,
            "title": market.title,
            "subtitle": market.subtitle,
            "rules": market.rules,
            "close_time": market.close_time.isoformat() if market.close_time else None,
            "outcomes": list(market.outcome_names),
            "settlement_source": market.settlement_source,
        }

    return json.dumps(
        {"a": document(pair.kalshi), "b": document(pair.polymarket), "label": pair.label}
    )
