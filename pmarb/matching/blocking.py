"""Candidate pairs without scoring every pair: blocks keyed by what the contract measures.

Parsed markets block on (family, subject, quantity, observation bucket): the asset/city/meeting,
what is measured and the UTC hour or day observed. Inside a block, only contracts whose
thresholds sit near each other are paired (an equivalent or inverted pair has equal bounds).
Unparsed markets block on their rare title tokens (entities), require two shared ones and
nearby close times, and keep each market's best few partners. Title similarity alone never
makes a pair tradable; it only decides what gets read.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pmarb.domain.market import Market
from pmarb.matching.proposition import Family, Proposition

_WORD = re.compile(r"[a-z0-9][a-z0-9'&.-]*")
_STOP_TEXT = """
    a an and any are at be before by can did do does for from has have how if in is it its
    more most not of on or out over than that the their then this to under was what when which
    who will win with would yes no vs versus price market markets between above below least
    end date new next year week month day today tomorrow up down"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class BlockingConfig:
    max_token_frequency: int = 60  # a token in more titles than this names no entity
    min_shared_tokens: int = 2
    partners_per_market: int = 5
    close_time_window: timedelta = timedelta(days=120)
    relative_threshold_tolerance: Decimal = Decimal("0.01")
    absolute_threshold_tolerance: Decimal = Decimal(1)


def _buckets(proposition: Proposition) -> tuple[str, str] | None:
    """(coarse, exact) observation buckets; exact is "" when the instant was not parsed.

    Equivalent contracts observe the same instant, so parsed instants must match to the
    minute; a market whose instant was not parsed meets everything in the same hour or day.
    """
    if proposition.family is Family.FED_DECISION:
        return (
            (proposition.observation, proposition.observation) if proposition.observation else None
        )
    if proposition.family is Family.TEMPERATURE:
        if proposition.observation and re.match(r"\d{4}-\d{2}-\d{2}", proposition.observation):
            day = proposition.observation[:10]
            return day, day
        when = proposition.observed_at
        return (when.date().isoformat(), "") if when else None
    when = proposition.observed_at
    if when is None:
        return None
    exact = when.strftime("%Y-%m-%dT%H:%M") if proposition.observation else ""
    return when.strftime("%Y-%m-%dT%H"), exact


def block_key(proposition: Proposition) -> Hashable | None:
    """The coarse block of a parsed market; ``None`` for markets that block on tokens."""
    if proposition.family is Family.GENERIC or proposition.subject is None:
        return None
    buckets = _buckets(proposition)
    if buckets is None:
        return None
    return (proposition.family.value, proposition.subject, proposition.quantity, buckets[0])


def _exact(proposition: Proposition) -> str:
    buckets = _buckets(proposition)
    return buckets[1] if buckets else ""


def _bounds(proposition: Proposition) -> tuple[Decimal, ...]:
    condition = proposition.yes_condition
    if condition is None or condition.interval is None:
        return ()
    interval = condition.interval
    return tuple(bound for bound in (interval.low, interval.high) if bound is not None)


def _near(a: Proposition, b: Proposition, config: BlockingConfig) -> bool:
    left, right = _bounds(a), _bounds(b)
    if not left or not right:
        return True  # unknown thresholds: let the pair be read
    for x in left:
        for y in right:
            gap = abs(x - y)
            if a.family is Family.TEMPERATURE or a.family is Family.FED_DECISION:
                if gap <= config.absolute_threshold_tolerance:
                    return True
            elif gap <= config.relative_threshold_tolerance * max(abs(x), abs(y), Decimal(1)):
                return True
    return False


def title_tokens(market: Market) -> set[str]:
    text = f"{market.title} {market.subtitle}".lower()
    return {
        word.strip(".-'")
        for word in _WORD.findall(text)
        if word not in STOP_WORDS and (len(word) > 2 or word.isdigit())
    }


def _close_enough(a: datetime | None, b: datetime | None, window: timedelta) -> bool:
    return a is None or b is None or abs(a - b) <= window


def candidate_pairs(
    left: Sequence[Market],
    right: Sequence[Market],
    left_propositions: Sequence[Proposition],
    right_propositions: Sequence[Proposition],
    config: BlockingConfig | None = None,
) -> list[tuple[int, int]]:
    """Index pairs (into ``left`` and ``right``) worth adjudicating, sorted."""
    config = config or BlockingConfig()
    pairs: set[tuple[int, int]] = set()

    blocks: dict[Hashable, list[int]] = defaultdict(list)
    unblocked_left: list[int] = []
    for index, proposition in enumerate(left_propositions):
        key = block_key(proposition)
        if key is None:
            unblocked_left.append(index)
        else:
            blocks[key].append(index)
    unblocked_right: list[int] = []
    for j, proposition in enumerate(right_propositions):
        key = block_key(proposition)
        if key is None:
            unblocked_right.append(j)
            continue
        exact = _exact(proposition)
        for i in blocks.get(key, ()):
            other = _exact(left_propositions[i])
            if exact and other and exact != other:
                continue  # both instants parsed, and they differ: never the same contract
            if _near(left_propositions[i], proposition, config):
                pairs.add((i, j))

    pairs.update(_token_pairs(left, right, unblocked_left, unblocked_right, config))
    return sorted(pairs)


def _token_pairs(
    left: Sequence[Market],
    right: Sequence[Market],
    left_indices: Sequence[int],
    right_indices: Sequence[int],
    config: BlockingConfig,
) -> set[tuple[int, int]]:
    postings: dict[str, list[int]] = defaultdict(list)
    for j in right_indices:
        for token in title_tokens(right[j]):
            postings[token].append(j)
    left_tokens = {i: title_tokens(left[i]) for i in left_indices}
    frequency: Counter[str] = Counter()
    for tokens in left_tokens.values():
        frequency.update(tokens)
    pairs: set[tuple[int, int]] = set()
    for i, tokens in left_tokens.items():
        rare = [
            token
            for token in tokens
            if token in postings
            and len(postings[token]) + frequency[token] <= config.max_token_frequency
        ]
        if len(rare) < config.min_shared_tokens:
            continue
        shared: Counter[int] = Counter()
        for token in rare:
            shared.update(postings[token])
        close = left[i].close_time
        best = [
            (count, j)
            for j, count in shared.items()
            if count >= config.min_shared_tokens
            and _close_enough(close, right[j].close_time, config.close_time_window)
        ]
        best.sort(key=lambda item: (-item[0], item[1]))
        pairs.update((i, j) for _, j in best[: config.partners_per_market])
    return pairs
