"""Acceptance on the development fixtures, orientation, and the tradable rule."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.matching.matcher import Matcher
from pmarb.matching.proposition import Relation
from pmarb.matching.settings import MatchingSettings
from tests.matching.fake_messages_api import verdict
from tests.matching.fixture_pairs import Pair, casebook_pairs, crypto_pairs, weather_pairs
from tests.matching.model_support import served_model

OFFLINE = Matcher(MatchingSettings())
ALL_PAIRS = casebook_pairs() + crypto_pairs() + weather_pairs()


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=lambda pair: pair.name)
async def test_no_fixture_pair_is_tradable_offline(pair: Pair) -> None:
    decision = (await OFFLINE.match(pair.kalshi, pair.polymarket)).decision
    assert not decision.tradable
    assert decision.relation is not Relation.EQUIVALENT


@pytest.mark.parametrize("pair", crypto_pairs(), ids=lambda pair: pair.name)
async def test_real_crypto_pairs_are_related_not_equivalent(pair: Pair) -> None:
    decision = (await OFFLINE.match(pair.kalshi, pair.polymarket)).decision
    assert decision.relation is Relation.RELATED_NOT_EQUIVALENT
    assert decision.decided_by == "parser" and not decision.needs_model


@pytest.mark.parametrize("pair", crypto_pairs() + weather_pairs(), ids=lambda pair: pair.name)
async def test_a_parsed_source_difference_survives_a_credulous_model(pair: Pair) -> None:
    """The model is not even asked when a parsed field already differs."""
    async with served_model(lambda body: verdict("equivalent", 0.99)) as (api, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(pair.kalshi, pair.polymarket)
        ).decision
    assert not decision.tradable
    assert decision.checks[2].name == "source" and decision.checks[2].agreement.value == "differ"
    assert api.requests == []


async def test_fed_bucket_stays_not_tradable_when_the_model_calls_it_equivalent() -> None:
    fed = next(pair for pair in casebook_pairs() if "Federal Reserve" in pair.name)
    async with served_model(lambda body: verdict("equivalent", 0.99)) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(fed.kalshi, fed.polymarket)
        ).decision
    assert not decision.tradable
    assert decision.relation is Relation.RELATED_NOT_EQUIVALENT


@pytest.mark.parametrize("pair", casebook_pairs(), ids=lambda pair: pair.name)
async def test_casebook_pairs_are_not_tradable_when_the_model_reads_the_fallbacks(
    pair: Pair,
) -> None:
    answer = verdict(
        "related_not_equivalent", 0.9, overrides={"fallback": "differ", "observation": "differ"}
    )
    async with served_model(lambda body: answer) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(pair.kalshi, pair.polymarket)
        ).decision
    assert not decision.tradable
    assert decision.review_status == "none"


def _head_to_head(venue: VenueId, market_id: str, title: str, **extra: object) -> Market:
    return Market(
        venue=venue,
        market_id=market_id,
        title=title,
        yes_instrument_id=f"{market_id}-yes",
        no_instrument_id=f"{market_id}-no",
        **extra,  # type: ignore[arg-type]
    )


KALSHI_LAKERS = _head_to_head(
    VenueId.KALSHI, "KXNBAGAME-LALBOS-LAL", "Lakers vs Celtics Winner?", subtitle="Lakers"
)
POLY_CELTICS_FIRST = _head_to_head(
    VenueId.POLYMARKET,
    "lakers-celtics",
    "Lakers vs. Celtics",
    outcome_names=("Celtics", "Lakers"),
)
POLY_LAKERS_FIRST = replace(POLY_CELTICS_FIRST, outcome_names=("Lakers", "Celtics"))


async def test_yes_naming_different_teams_is_never_equivalent() -> None:
    decision = (await OFFLINE.match(KALSHI_LAKERS, POLY_CELTICS_FIRST)).decision
    assert decision.relation in (Relation.INVERTED, Relation.DIFFERENT)
    assert not decision.tradable
    async with served_model(lambda body: verdict("equivalent", 0.99)) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(KALSHI_LAKERS, POLY_CELTICS_FIRST)
        ).decision
    assert decision.relation in (Relation.INVERTED, Relation.DIFFERENT)
    assert not decision.tradable


async def test_model_inverted_on_opposite_yes_sides_can_trade_inverted() -> None:
    answer = verdict("inverted", 0.95, overrides={"yes_condition": "complement"})
    async with served_model(lambda body: answer) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(KALSHI_LAKERS, POLY_CELTICS_FIRST)
        ).decision
    assert decision.relation is Relation.INVERTED
    assert decision.tradable


async def test_same_yes_side_keeps_orientation_for_the_model_to_confirm() -> None:
    offline = (await OFFLINE.match(KALSHI_LAKERS, POLY_LAKERS_FIRST)).decision
    assert offline.relation is Relation.UNCERTAIN and not offline.tradable and offline.needs_model
    async with served_model(
        lambda body: verdict("inverted", 0.95, overrides={"yes_condition": "complement"})
    ) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(KALSHI_LAKERS, POLY_LAKERS_FIRST)
        ).decision
    # The parser saw YES name the same team on both venues: a claimed inversion is refused.
    assert not decision.tradable


@pytest.mark.parametrize(
    ("confidence", "tradable", "review"),
    [(0.92, True, "none"), (0.85, True, "none"), (0.7, False, "pending"), (0.55, False, "none")],
)
async def test_confidence_bands(confidence: float, tradable: bool, review: str) -> None:
    async with served_model(lambda body: verdict("equivalent", confidence)) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(KALSHI_LAKERS, POLY_LAKERS_FIRST)
        ).decision
    assert decision.tradable is tradable
    assert decision.review_status == review


async def test_an_unknown_field_sends_a_confident_equivalent_to_review_not_trading() -> None:
    answer = verdict("equivalent", 0.97, overrides={"fallback": "unknown"})
    async with served_model(lambda body: answer) as (_, adjudicator):
        decision = (
            await Matcher(MatchingSettings(), adjudicator).match(KALSHI_LAKERS, POLY_LAKERS_FIRST)
        ).decision
    assert not decision.tradable
    assert decision.review_status == "pending"


WEATHER_RULES = (
    "If the highest temperature recorded in Central Park, New York for August 12, 2026 as "
    "reported by the National Weather Service's Climatological Report (Daily), is {condition}, "
    "then the market resolves to Yes. If the report is revised, the first final report counts."
)


def _weather(market_id: str, condition: str, **extra: object) -> Market:
    return Market(
        venue=VenueId.KALSHI,
        market_id=market_id,
        title="Highest temperature in NYC on Aug 12, 2026?",
        rules=WEATHER_RULES.format(condition=condition),
        yes_instrument_id=f"{market_id}:yes",
        no_instrument_id=f"{market_id}:no",
        **extra,  # type: ignore[arg-type]
    )


async def test_parser_alone_trades_only_when_every_field_is_parsed_and_agrees() -> None:
    above = _weather("a", "greater than 90°")
    same = _weather("b", "91° or above")
    below = _weather("c", "90° or below")
    other = _weather("d", "greater than 91°")
    equivalent = (await OFFLINE.match(above, same)).decision
    assert (equivalent.relation, equivalent.tradable) == (Relation.EQUIVALENT, True)
    inverted = (await OFFLINE.match(above, below)).decision
    assert (inverted.relation, inverted.tradable) == (Relation.INVERTED, True)
    different = (await OFFLINE.match(above, other)).decision
    assert (different.relation, different.tradable) == (Relation.RELATED_NOT_EQUIVALENT, False)


async def test_settled_outcomes_that_disagree_veto_equivalence() -> None:
    above = _weather("a", "greater than 90°", settled_outcome=Outcome.YES)
    same = _weather("b", "91° or above", settled_outcome=Outcome.NO)
    decision = (await OFFLINE.match(above, same)).decision
    assert not decision.tradable
    assert any("settled outcomes differ" in reason for reason in decision.reasons)


def test_tradable_threshold_is_configurable() -> None:
    assert MatchingSettings().tradable_confidence == Decimal("0.85")
    assert MatchingSettings().review_confidence == Decimal("0.6")


async def test_a_complement_answer_outside_the_yes_condition_counts_as_unknown() -> None:
    answer = verdict("equivalent", 0.95, overrides={"source": "complement"})
    async with served_model(lambda body: answer) as (_, adjudicator):
        matcher = Matcher(MatchingSettings(), adjudicator)
        decision = (await matcher.match(KALSHI_LAKERS, POLY_LAKERS_FIRST)).decision
    assert not decision.tradable
    assert next(c for c in decision.checks if c.name == "source").agreement.value == "unknown"
