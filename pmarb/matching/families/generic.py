"""Everything without a dedicated parser: only head-to-head orientation is read here.

Every other field stays unknown, so the deterministic path never finds such a pair tradable;
the model (or a human) has to read the rules.
"""

from __future__ import annotations

import re

from pmarb.domain.market import Market
from pmarb.matching.families.common import MarketText, fallback_clauses
from pmarb.matching.proposition import Family, Proposition, YesCondition

_VERSUS = re.compile(r"^(?P<a>.+?)\s+(?:vs\.?|v\.|versus|@)\s+(?P<b>.+?)(?:\s*[?:|]|\s+-\s|$)")
_WILL_WIN = re.compile(r"^will (?:the )?(?P<side>.+?) (?:win|beat|defeat|advance|cover)\b")
_NOISE = re.compile(
    r"^(?:will |who will win:? |who wins:? )|\b(?:winner|game|match|the)\b|[^a-z0-9' &.-]"
)
STOP_WORDS = frozenset({"fc", "cf", "sc", "afc", "club", "city", "team", "de", "the", "of", "and"})


def tokens(name: str) -> frozenset[str]:
    words = re.findall(r"[a-z0-9']+", name)
    return frozenset(word for word in words if word not in STOP_WORDS and len(word) > 1)


def _clean(name: str) -> str:
    return re.sub(r"\s+", " ", _NOISE.sub(" ", name)).strip(" .-")


def participants(title: str) -> tuple[str, str] | None:
    match = _VERSUS.search(title)
    if match is None:
        return None
    a, b = _clean(match.group("a")), _clean(match.group("b"))
    if not tokens(a) or not tokens(b):
        return None
    return a, b


def yes_side(text: MarketText) -> str | None:
    """The participant YES names: a non-Yes/No first outcome, a short subtitle, or "Will X win"."""
    yes_name, no_name = text.outcomes
    if {yes_name, no_name} != {"yes", "no"} and yes_name not in ("", "yes"):
        return yes_name
    subtitle = text.subtitle
    if subtitle and len(subtitle.split()) <= 5 and not re.search(r"\d", subtitle):
        return subtitle
    match = _WILL_WIN.search(text.title)
    return match.group("side") if match else None


def parse(market: Market, text: MarketText) -> Proposition:
    pair = participants(text.title)
    side = yes_side(text)
    condition: YesCondition | None = None
    subject: str | None = None
    if pair is not None:
        subject = " vs ".join(sorted(pair))
        if side is not None:
            named = [p for p in pair if tokens(p) & tokens(side)]
            if len(named) == 1:
                condition = YesCondition(side=named[0], participants=tuple(sorted(pair)))
    return Proposition(
        family=Family.GENERIC,
        subject=subject,
        # Only a YES that names a participant makes this a who-wins proposition.
        quantity="winner" if condition is not None else None,
        yes_condition=condition,
        fallback=fallback_clauses(text),
        observed_at=market.observation_time or market.close_time,
    )
