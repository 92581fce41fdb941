"""What every family parser reads: folded text, sources, conditions and fallback clauses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from pmarb.domain.market import Market
from pmarb.matching import text as t
from pmarb.matching.proposition import Interval


@dataclass(frozen=True, slots=True)
class MarketText:
    """The parts of a market the parsers read, folded once."""

    title: str
    subtitle: str
    rules: str
    source_hint: str
    outcomes: tuple[str, str]
    anchor: datetime | None

    @classmethod
    def of(cls, market: Market) -> MarketText:
        return cls(
            title=t.fold(market.title),
            subtitle=t.fold(market.subtitle),
            rules=t.fold(market.rules),
            source_hint=t.fold(market.settlement_source or ""),
            outcomes=(t.fold(market.outcome_names[0]), t.fold(market.outcome_names[1])),
            anchor=market.observation_time or market.close_time,
        )

    @property
    def heading(self) -> str:
        return f"{self.title} {self.subtitle}".strip()

    @property
    def everything(self) -> str:
        return f"{self.title} {self.subtitle} {self.rules} {self.source_hint}"


# Settlement sources, most specific first: the first pattern that matches decides.
_SOURCES: tuple[tuple[str, str], ...] = (
    (r"cf benchmarks|\bbrti\b|real[- ]time index|\bcfb\b", "cf_benchmarks_rti"),
    (r"chainlink", "chainlink_data_streams"),
    (r"binance", "binance"),
    (r"coinbase", "coinbase"),
    (r"\bpyth\b", "pyth"),
    (r"kraken", "kraken"),
    (r"climatological report|climate report|product=cli|\bnws cli\b", "nws_cli"),
    (r"weather company|weather\.com", "the_weather_company"),
    (r"wunderground", "wunderground"),
    (r"accuweather", "accuweather"),
    (r"national weather service|weather\.gov", "nws"),
    (r"fomc|federal reserve|federalreserve\.gov", "federal_reserve"),
)
_SOURCE_PATTERNS = tuple((re.compile(pattern), name) for pattern, name in _SOURCES)
# Phrases that name a source only to say it is NOT the one used.
_DISCLAIMERS = re.compile(
    r"(?:checking a source like|not according to|may help guide)[^.]*\.", re.IGNORECASE
)


def settlement_source(text: MarketText, allowed: frozenset[str] | None = None) -> str | None:
    """The source the rules name (the hint from venue metadata counts too)."""
    body = _DISCLAIMERS.sub(" ", f"{text.rules} {text.source_hint}")
    for pattern, name in _SOURCE_PATTERNS:
        if (allowed is None or name in allowed) and pattern.search(body):
            return name
    return None


_N = (
    r"(?P<{name}>-?\$?\s?\d[\d,]*(?:\.\d+)?"
    r"|the (?:price|value|strike|number|amount)(?: specified| listed| named| shown)?"
    r" in the (?:title|question))"
)
_DEG = r"\s*(?:°\s*[fc]?|degrees?(?: fahrenheit| celsius)?|fahrenheit|celsius)?"


def _n(name: str) -> str:
    return _N.format(name=name)


# (pattern, builder) in priority order; each builder takes (low, high) numbers.
_CONDITIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"between " + _n("a") + _DEG + r"\s*(?:and|to|-)\s*" + _n("b"), "between"),
        (
            r"(?:greater than or equal to|at least|no less than|>="
            r"|equal to or (?:greater|higher) than)\s*" + _n("a"),
            "ge",
        ),
        (
            r"(?:less than or equal to|at most|no more than|<=|equal to or (?:less|lower) than)\s*"
            + _n("a"),
            "le",
        ),
        (_n("a") + _DEG + r"\s*or (?:above|higher|more|greater|over)", "ge"),
        (_n("a") + _DEG + r"\s*or (?:below|lower|less|under)", "le"),
        (r"(?:above|greater than|higher than|more than|over|exceeds?|>)\s*" + _n("a"), "gt"),
        (r"(?:below|less than|lower than|under|<)\s*" + _n("a"), "lt"),
        (_n("a") + _DEG + r"\s*(?:to|-)\s*" + _n("b") + _DEG, "between"),
    )
)


def _number(raw: str, fallback_text: str) -> Decimal | None:
    if raw.startswith("the "):
        match = re.search(r"\$\s?\d[\d,]*(?:\.\d+)?", fallback_text)
        return t.to_number(match.group(0)) if match else None
    return t.to_number(raw)


def parse_condition(body: str, heading: str = "") -> Interval | None:
    """The YES set written in ``body`` ("above 115749.99", "between 81-82°", "45° or below").

    A comparator that points at "the price specified in the title" takes its number from
    ``heading``.
    """
    for pattern, kind in _CONDITIONS:
        match = pattern.search(body)
        if match is None:
            continue
        low = _number(match.group("a"), heading)
        if low is None:
            continue
        if kind == "between":
            high = _number(match.group("b"), heading)
            if high is None or high < low:
                continue
            return Interval(low, True, high, True)
        if kind == "ge":
            return Interval(low, True, None, False)
        if kind == "gt":
            return Interval(low, False, None, False)
        if kind == "le":
            return Interval(None, False, low, True)
        return Interval(None, False, low, False)
    return None


def structured_condition(market: Market) -> Interval | None:
    """The YES set from the venue's own strike fields (Kalshi ``strike_type``)."""
    kind, floor, cap = market.strike_type, market.floor_strike, market.cap_strike
    if kind == "greater" and floor is not None:
        return Interval(floor, False, None, False)
    if kind == "greater_or_equal" and floor is not None:
        return Interval(floor, True, None, False)
    if kind == "less" and cap is not None:
        return Interval(None, False, cap, False)
    if kind == "less_or_equal" and cap is not None:
        return Interval(None, False, cap, True)
    if kind == "between" and floor is not None and cap is not None:
        return Interval(floor, True, cap, True)
    return None


_FALLBACKS: tuple[tuple[str, str], ...] = (
    (r"50[-/ ]50|fifty[- ]fifty|\bunknown\b.{0,40}\b0?\.5\b", "resolves 50-50"),
    (r"last (?:traded|fair) price", "settles at last traded/fair price"),
    (r"outcome review committee", "outcome review committee decides"),
    (r"(?:cancel+ed|postponed).{0,120}(?:resolve|settle)", "cancellation/postponement clause"),
    (r"meeting is cancel+ed", "cancelled meeting clause"),
    (r"no statement is released", "no-statement clause"),
    (r"\brevis(?:ions?|ed|es?)\b", "revisions clause"),
    (r"dispute|\buma\b", "dispute process"),
)
_FALLBACK_PATTERNS = tuple((re.compile(pattern), name) for pattern, name in _FALLBACKS)


def fallback_clauses(text: MarketText) -> str | None:
    """The void/cancellation/revision rules named in the text; ``None`` when none are."""
    found = sorted({name for pattern, name in _FALLBACK_PATTERNS if pattern.search(text.rules)})
    return "; ".join(found) if found else None


def instants(body: str, anchor: datetime | None) -> list[datetime]:
    """Each "clock time + date" in ``body`` as a UTC instant, in order of appearance.

    A clock with no zone borrows the zone of the next clock that has one ("9:15pm-9:30pm et")
    or of an "in the et timezone" phrase; with none at all it is skipped.
    """
    clocks = t.clock_times(body)
    if not clocks:
        return []
    dates = t.find_dates(body, anchor)
    phrase = re.search(r"in the (\w+) time ?zone", body)
    default_zone: tzinfo | None = t.zone(phrase.group(1)) if phrase else None
    found: list[datetime] = []
    previous: datetime | None = None
    for index, (position, clock, zone) in enumerate(clocks):
        if zone is None:
            zone = next((z for _, _, z in clocks[index + 1 :] if z is not None), default_zone)
        if zone is None or not dates:
            continue
        day = min(dates, key=lambda item: abs(item[0] - position))[1]
        instant = t.localize(day, clock, zone)
        wrapped = previous is not None and timedelta(0) < previous - instant < timedelta(hours=24)
        if wrapped and body[clocks[index - 1][0] : position].strip(" -").count(" ") <= 2:
            # "9:45PM-12:15AM ET": a range whose end wraps past midnight.
            instant += timedelta(days=1)
        found.append(instant)
        previous = instant
    return found
