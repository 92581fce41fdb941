"""Daily high/low and hourly temperature markets (Kalshi KXHIGH*/KXLOWT*, Polymarket weather)."""

from __future__ import annotations

import re
from decimal import Decimal

from pmarb.domain.market import Market
from pmarb.matching import text as t
from pmarb.matching.families.common import (
    MarketText,
    fallback_clauses,
    instants,
    parse_condition,
    settlement_source,
    structured_condition,
)
from pmarb.matching.proposition import Family, Proposition, YesCondition

# Station names as the rule texts write them → (ICAO id, city).
STATIONS: tuple[tuple[str, str, str], ...] = (
    (r"central park", "KNYC", "New York City"),
    (r"laguardia", "KLGA", "New York City"),
    (r"\bjfk\b|kennedy", "KJFK", "New York City"),
    (r"newark", "KEWR", "Newark"),
    (r"midway", "KMDW", "Chicago"),
    (r"o'?hare", "KORD", "Chicago"),
    (r"miami international|miami intl", "KMIA", "Miami"),
    (r"los angeles international|los angeles intl|\blax\b", "KLAX", "Los Angeles"),
    (r"austin[- ]bergstrom", "KAUS", "Austin"),
    (r"\bhobby\b", "KHOU", "Houston"),
    (r"bush intercontinental", "KIAH", "Houston"),
    (r"denver international|denver intl", "KDEN", "Denver"),
    (r"buckley", "KBKF", "Denver"),
    (r"\blogan\b", "KBOS", "Boston"),
    (r"sky harbor", "KPHX", "Phoenix"),
    (r"love field", "KDAL", "Dallas"),
    (r"dallas[/ -]fort worth|\bdfw\b", "KDFW", "Dallas"),
    (r"hartsfield", "KATL", "Atlanta"),
    (r"seattle[- ]tacoma|sea-tac", "KSEA", "Seattle"),
    (r"san francisco international|san francisco intl", "KSFO", "San Francisco"),
    (r"philadelphia international|philadelphia intl", "KPHL", "Philadelphia"),
    (r"reagan national|national airport", "KDCA", "Washington"),
    (r"msp|minneapolis[- ]st\.? paul", "KMSP", "Minneapolis"),
    (r"mccarran|harry reid", "KLAS", "Las Vegas"),
)
_STATION_PATTERNS = tuple(
    (
        re.compile(pattern),
        # A literal piece of each alternative: a cheap "in" test before any regex runs.
        tuple(re.sub(r"\\b|[^a-z' -]", "", part)[:5] for part in pattern.split("|")),
        icao,
        city,
    )
    for pattern, icao, city in STATIONS
)
# A CLI product code names the station: CLINYC → KNYC, CLIMDW → KMDW.
_CLI_CODE = re.compile(r"\bcli([a-z]{3})\b")
# ICAO ids appear in URLs and parentheses, never as bare words (too many English words fit).
_ICAO = re.compile(r"(?:/|\(|coordinates |station )(k[a-z]{3})(?=[)/\s.,]|$)")
CITIES: dict[str, str] = {
    "new york": "New York City",
    "nyc": "New York City",
    "chicago": "Chicago",
    "miami": "Miami",
    "los angeles": "Los Angeles",
    "austin": "Austin",
    "houston": "Houston",
    "denver": "Denver",
    "boston": "Boston",
    "phoenix": "Phoenix",
    "dallas": "Dallas",
    "atlanta": "Atlanta",
    "seattle": "Seattle",
    "san francisco": "San Francisco",
    "philadelphia": "Philadelphia",
    "washington": "Washington",
    "las vegas": "Las Vegas",
    "minneapolis": "Minneapolis",
    "new orleans": "New Orleans",
    "san antonio": "San Antonio",
    "oklahoma city": "Oklahoma City",
}
_CITY = re.compile(r"\b(" + "|".join(sorted(CITIES, key=len, reverse=True)) + r")\b")
_HIGH = re.compile(r"highest|maximum|\bhigh(?:est)? temp|\bhigh of\b|daily high")
_LOW = re.compile(r"lowest|minimum|\blow(?:est)? temp|\blow of\b|daily low")
WHOLE_DEGREE = Decimal(1)


def applies(text: MarketText) -> bool:
    scope = f"{text.heading} {text.rules}"
    return "temperature" in scope and "anomaly" not in scope and "global" not in text.heading


def _stations(text: MarketText) -> set[tuple[str, str]]:
    body = f"{text.rules} {text.source_hint} {text.heading}"
    found = {
        (icao, city)
        for pattern, needles, icao, city in _STATION_PATTERNS
        if any(needle in body for needle in needles) and pattern.search(body)
    }
    by_icao = {icao: city for _, icao, city in STATIONS}
    for code in _CLI_CODE.findall(body):
        icao = "K" + code.upper()
        found.add((icao, by_icao.get(icao, "")))
    for code in _ICAO.findall(body):
        icao = code.upper()
        found.add((icao, by_icao.get(icao, "")))
    return found


def parse(market: Market, text: MarketText) -> Proposition:
    scope = f"{text.heading} {text.rules}"
    source = settlement_source(
        text,
        frozenset({"nws_cli", "the_weather_company", "wunderground", "accuweather", "nws"}),
    )
    stations = _stations(text)
    station = next(iter(stations))[0] if len({icao for icao, _ in stations}) == 1 else None
    city_match = _CITY.search(text.heading) or _CITY.search(text.rules)
    city = CITIES[city_match.group(1)] if city_match else None
    if city is None and station is not None:
        city = next(c for icao, c in stations if icao == station) or None

    hourly = False
    if _HIGH.search(scope) and not _LOW.search(scope):
        quantity: str | None = "daily maximum temperature"
    elif _LOW.search(scope) and not _HIGH.search(scope):
        quantity = "daily minimum temperature"
    elif instants(text.rules, text.anchor):
        quantity, hourly = "temperature reading at a clock time", True
    else:
        quantity = None

    whole = "whole degree" in text.rules or source == "nws_cli"
    step = WHOLE_DEGREE if whole else None
    condition = (
        structured_condition(market)
        or parse_condition(text.rules)
        or parse_condition(text.subtitle)
        or parse_condition(text.title)
    )
    fahrenheit = re.search(r"°\s*f|fahrenheit", scope) is not None
    celsius_only = re.search(r"°\s*c\b|celsius", scope) is not None and not fahrenheit
    if fahrenheit or (source == "nws_cli" and not celsius_only):
        unit: str | None = "°F"
    elif celsius_only:
        unit = "°C"
    else:
        unit = None
    if unit is not None and whole:
        unit += ", whole degrees"

    day = t.first_date(text.rules, text.anchor) or t.first_date(text.heading, text.anchor)
    observation: str | None = None
    observed_at = market.observation_time or market.close_time
    if hourly:
        moments = instants(text.rules, text.anchor)
        if moments:
            observation = f"reading at {t.iso(moments[0])}"
            observed_at = moments[0]
    elif day is not None:
        if source == "nws_cli" or "climatological" in text.rules or _CLI_CODE.search(text.rules):
            # The NWS climate day runs midnight to midnight local *standard* time.
            observation = f"{day.isoformat()} climate day (local standard time)"
        elif source == "wunderground" and "all times on this day" in text.rules:
            observation = f"{day.isoformat()} calendar day (local time)"
    notes: tuple[str, ...] = ()
    if len(stations) > 1:
        notes = ("several stations named: " + ", ".join(sorted(icao for icao, _ in stations)),)
    return Proposition(
        family=Family.TEMPERATURE,
        subject=city,
        quantity=quantity,
        source=source,
        instrument=station,
        functional="daily extreme"
        if quantity and not hourly
        else ("point reading" if hourly else None),
        observation=observation,
        yes_condition=YesCondition(interval=condition.quantized(step), step=step)
        if condition
        else None,
        unit=unit,
        fallback=fallback_clauses(text),
        observed_at=observed_at,
        notes=notes,
    )
