"""Federal Reserve (FOMC) rate-decision markets, one bucket per market."""

from __future__ import annotations

import re
from decimal import Decimal

from pmarb.domain.market import Market
from pmarb.matching import text as t
from pmarb.matching.families.common import MarketText, settlement_source
from pmarb.matching.proposition import Family, Interval, Proposition, YesCondition

_FED = re.compile(r"federal reserve|\bfomc\b|\bfed\b")
_RATE = re.compile(
    r"\brates?\b|\bbps?\b|basis points?|\bcut\b|\bhike\b|maintain|no change|decision"
)
_NOT_RATE = re.compile(r"\bchair\b|nominat|governor|\bpowell\b.{0,30}(?:out|leave|fire)")
_BP = r"(\d+(?:\.\d+)?)\+?\s*(?:bps?|basis points?)"
_CUT = re.compile(
    r"(?:cut|decrease|lower|reduc\w*)\s*(?:of|by)?\s*" + _BP + r"|" + _BP + r"\s*(?:cut|decrease)"
)
_HIKE = re.compile(
    r"(?:hike|increase|raise|rais\w*)\s*(?:of|by)?\s*" + _BP + r"|" + _BP + r"\s*(?:hike|increase)"
)
_HOLD = re.compile(r"maintains?|no change|unchanged|\bhold\b|\bpause\b")
_OR_MORE = re.compile(r"\d\+|or more|more than|greater than|at least|>")
BASIS_POINT = Decimal(1)


def applies(text: MarketText) -> bool:
    scope = f"{text.heading} {text.rules}"
    return bool(_FED.search(scope) and _RATE.search(scope) and not _NOT_RATE.search(scope))


def _bucket(scope: str) -> Interval | None:
    for pattern, sign in ((_CUT, -1), (_HIKE, 1)):
        match = pattern.search(scope)
        if match is not None:
            size = Decimal(match.group(1) or match.group(2)) * sign
            if _OR_MORE.search(scope[match.start() : match.end() + 12]):
                return (
                    Interval(None, False, size, True)
                    if sign < 0
                    else Interval(size, True, None, False)
                )
            return Interval(size, True, size, True)
    if _HOLD.search(scope):
        return Interval(Decimal(0), True, Decimal(0), True)
    return None


def parse(market: Market, text: MarketText) -> Proposition:
    condition = _bucket(text.heading) or _bucket(text.rules)
    day = t.first_date(text.rules, text.anchor) or t.first_date(text.heading, text.anchor)
    month = t.MONTH_YEAR.search(text.rules) or t.MONTH_YEAR.search(text.heading)
    if day is not None:
        meeting: str | None = f"FOMC meeting {day.year:04d}-{day.month:02d}"
    elif month is not None:
        meeting = f"FOMC meeting {month.group('year')}-{t.MONTHS[month.group('month')]:02d}"
    else:
        meeting = None
    unit: str | None = None
    fallback: str | None = None
    if text.rules:
        if re.search(r"round(?:ed)? up to the nearest 25", text.rules):
            unit = "bp, odd changes rounded up to 25 bp"
        else:
            unit = "bp, literal (no rounding clause)"
        clauses = []
        if re.search(r"meeting is cancel+ed|cancel+ed and does not occur", text.rules):
            clauses.append("cancelled meeting resolves to maintain")
        if re.search(r"no statement is released", text.rules):
            clauses.append("no statement by the next meeting resolves to no change")
        fallback = "; ".join(clauses) or None
    measure = "upper bound of the target range" if "upper bound" in text.rules else "target range"
    return Proposition(
        family=Family.FED_DECISION,
        subject="FOMC",
        quantity=f"change in {measure} (bp)" if text.rules else None,
        source=settlement_source(text, frozenset({"federal_reserve"})),
        instrument="federal funds target range",
        functional="decision at the named meeting",
        observation=meeting,
        yes_condition=YesCondition(interval=condition, step=BASIS_POINT) if condition else None,
        unit=unit,
        fallback=fallback,
        observed_at=market.observation_time or market.close_time,
    )
