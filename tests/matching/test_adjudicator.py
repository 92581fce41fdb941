"""Model adjudication through the real SDK against a local Messages API server."""

from __future__ import annotations

import logging
import os
from decimal import Decimal

import pytest

from pmarb.matching.adjudicator import ModelAdjudicator
from pmarb.matching.compare import compare
from pmarb.matching.extract import extract
from pmarb.matching.matcher import Matcher
from pmarb.matching.prompt import TOOL_NAME
from pmarb.matching.proposition import Relation
from pmarb.matching.settings import MatchingSettings
from tests.matching.fake_messages_api import contracts, verdict
from tests.matching.fixture_pairs import casebook_pairs
from tests.matching.model_support import TEST_KEY, served_model

PAIR = casebook_pairs()[0]


async def _adjudicate(adjudicator: ModelAdjudicator):  # type: ignore[no-untyped-def]
    propositions = (extract(PAIR.kalshi), extract(PAIR.polymarket))
    return await adjudicator.adjudicate(
        PAIR.kalshi, PAIR.polymarket, propositions, compare(*propositions)
    )


async def test_request_forces_the_tool_and_caches_the_shared_instructions() -> None:
    async with served_model(lambda body: verdict("uncertain", 0.4), model="claude-test-1") as (
        api,
        adjudicator,
    ):
        result = await _adjudicate(adjudicator)
        await _adjudicate(adjudicator)
    body, headers = api.requests[0], api.headers[0]
    assert body["model"] == "claude-test-1"
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert body["tools"][0]["name"] == TOOL_NAME
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    # The SDK sends the key as x-api-key or as a bearer token, depending on its version.
    assert TEST_KEY in headers.get("x-api-key", "") + headers.get("authorization", "")
    a, b = contracts(body)
    assert (a["id"], b["id"]) == (PAIR.kalshi.market_id, PAIR.polymarket.market_id)
    assert a["rules"] == PAIR.kalshi.rules
    # Same instructions byte for byte on every call, or the cache never hits.
    assert api.requests[1]["system"] == body["system"]
    assert result.verdict is not None and result.verdict.relation is Relation.UNCERTAIN


async def test_tokens_and_cost_are_recorded_per_call() -> None:
    async with served_model(lambda body: verdict("different", 0.9)) as (_, adjudicator):
        first = await _adjudicate(adjudicator)
        second = await _adjudicate(adjudicator)
    assert first.call.status == "ok"
    assert (first.call.input_tokens, first.call.output_tokens) == (900, 300)
    assert first.call.cache_creation_input_tokens == 2000
    assert second.call.cache_read_input_tokens == 2000
    # $3/M input, $15/M output, $3.75/M cache write, $0.30/M cache read.
    assert first.call.cost_usd == Decimal("0.0027") + Decimal("0.0045") + Decimal("0.0075")
    assert second.call.cost_usd == Decimal("0.0027") + Decimal("0.0045") + Decimal("0.0006")
    assert first.call.request_id == "msg_0001"


async def test_throttling_is_retried_with_back_off() -> None:
    async with served_model(lambda body: verdict("different", 0.9), throttle_first=2) as (
        api,
        adjudicator,
    ):
        result = await _adjudicate(adjudicator)
    assert len(api.requests) == 3
    assert result.call.status == "ok" and result.verdict is not None


async def test_an_unreachable_api_leaves_the_pair_to_the_parser_and_records_an_error() -> None:
    async with served_model(
        lambda body: verdict("different", 0.9), throttle_first=10, max_retries=1
    ) as (
        _,
        adjudicator,
    ):
        outcome = await Matcher(MatchingSettings(), adjudicator).match(PAIR.kalshi, PAIR.polymarket)
    assert outcome.call is not None and outcome.call.status == "error"
    assert outcome.verdict is None
    assert outcome.decision.decided_by == "parser" and outcome.decision.needs_model
    assert not outcome.decision.tradable


async def test_malformed_tool_output_fails_closed() -> None:
    async with served_model(lambda body: {"relation": "equivalent", "confidence": 7}) as (
        _,
        adjudicator,
    ):
        result = await _adjudicate(adjudicator)
    assert result.call.status == "invalid_output"
    assert result.verdict is not None
    assert result.verdict.relation is Relation.UNCERTAIN
    assert result.verdict.confidence == 0


async def test_the_api_key_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with served_model(
        lambda body: verdict("different", 0.9), throttle_first=10, max_retries=0
    ) as (
        _,
        adjudicator,
    ):
        result = await _adjudicate(adjudicator)
    assert result.call.error is not None
    assert TEST_KEY not in result.call.error
    assert TEST_KEY not in caplog.text


@pytest.mark.skipif(
    not os.environ.get("ANTHROPIC_API_KEY"), reason="ANTHROPIC_API_KEY is not set (live API test)"
)
async def test_live_api_adjudicates_a_casebook_pair_as_not_tradable() -> None:
    adjudicator = ModelAdjudicator(os.environ["ANTHROPIC_API_KEY"], MatchingSettings())
    try:
        fed = next(pair for pair in casebook_pairs() if "Trump" in pair.name)
        outcome = await Matcher(MatchingSettings(), adjudicator).match(fed.kalshi, fed.polymarket)
    finally:
        await adjudicator.aclose()
    assert outcome.call is not None and outcome.call.status == "ok"
    assert outcome.call.input_tokens > 0
    assert not outcome.decision.tradable
