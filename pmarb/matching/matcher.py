"""One pair in, one decision out: parse both, compare, ask the model only when it can help."""

from __future__ import annotations

from dataclasses import dataclass

from pmarb.domain.market import Market
from pmarb.matching.adjudicator import CallRecord, ModelAdjudicator
from pmarb.matching.compare import compare
from pmarb.matching.decision import Decision, ModelVerdict, decide
from pmarb.matching.extract import extract
from pmarb.matching.settings import MatchingSettings


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    decision: Decision
    call: CallRecord | None = None  # set when the model was called for this pair
    verdict: ModelVerdict | None = None


class Matcher:
    def __init__(self, settings: MatchingSettings, adjudicator: ModelAdjudicator | None = None):
        self._settings = settings
        self.adjudicator = adjudicator

    async def match(
        self, a: Market, b: Market, *, cached_verdict: ModelVerdict | None = None
    ) -> MatchOutcome:
        propositions = (extract(a), extract(b))
        comparison = compare(*propositions)
        thresholds = {
            "tradable_confidence": self._settings.tradable_confidence,
            "review_confidence": self._settings.review_confidence,
        }
        settled_by_parser = comparison.conclusive and not comparison.relation.tradable_kind
        if settled_by_parser or (self.adjudicator is None and cached_verdict is None):
            # A parsed difference needs no second opinion; without a model the parser decides.
            return MatchOutcome(decide(a, b, propositions, comparison, None, **thresholds))
        if cached_verdict is not None:
            decision = decide(a, b, propositions, comparison, cached_verdict, **thresholds)
            return MatchOutcome(decision, None, cached_verdict)
        assert self.adjudicator is not None
        result = await self.adjudicator.adjudicate(a, b, propositions, comparison)
        decision = decide(a, b, propositions, comparison, result.verdict, **thresholds)
        return MatchOutcome(decision, result.call, result.verdict)
