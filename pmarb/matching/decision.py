"""Parser verdict + model verdict → one decision: relation, tradable, review queue or not.

Tradable needs all three: the relation is equivalent or inverted, every proposition field is
known and agrees, and confidence reaches the tradable threshold. Between the review threshold
and the tradable one (with no field contradicted) the pair waits for a human. Either reader
can veto; neither can overrule a parsed difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmarb.domain.market import Market
from pmarb.matching.compare import Agreement, Comparison, FieldCheck
from pmarb.matching.proposition import FIELDS, Proposition, Relation

DEFAULT_TRADABLE = Decimal("0.85")
DEFAULT_REVIEW = Decimal("0.6")


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """What the model said about one pair (already validated against the tool schema)."""

    relation: Relation
    confidence: Decimal
    fields: dict[str, FieldCheck]
    reasons: tuple[str, ...]
    model: str


@dataclass(frozen=True, slots=True)
class Decision:
    relation: Relation
    confidence: Decimal
    tradable: bool
    review_status: str  # "none" or "pending"
    decided_by: str  # "parser" or "model"
    reasons: tuple[str, ...]
    checks: tuple[FieldCheck, ...]
    needs_model: bool
    propositions: tuple[Proposition, Proposition]
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        return {
            "fields": {check.name: check.as_evidence() for check in self.checks},
            "reasons": list(self.reasons),
            "propositions": {
                "a": self.propositions[0].as_evidence(),
                "b": self.propositions[1].as_evidence(),
            },
            "model": self.model,
            "needs_model": self.needs_model,
            **self.extra,
        }


def _merge(parser: FieldCheck, model: FieldCheck | None) -> FieldCheck:
    if model is None:
        return parser
    if model.agreement is Agreement.COMPLEMENT and model.name != "yes_condition":
        # Only the YES condition can be complementary; anywhere else the answer is unreadable.
        model = FieldCheck(model.name, model.a, model.b, Agreement.UNKNOWN, "model", model.note)
    if Agreement.DIFFER in (parser.agreement, model.agreement):
        source = parser if parser.agreement is Agreement.DIFFER else model
        return FieldCheck(parser.name, source.a, source.b, Agreement.DIFFER, source.by, source.note)
    if parser.agreement is not Agreement.UNKNOWN:
        if model.agreement not in (parser.agreement, Agreement.UNKNOWN):
            # The readers disagree about how the field relates: nobody knows.
            return FieldCheck(
                parser.name,
                parser.a,
                parser.b,
                Agreement.UNKNOWN,
                "parser+model",
                f"parser says {parser.agreement.value}, model says {model.agreement.value}",
            )
        return parser
    return model


def _settled_veto(a: Market, b: Market, relation: Relation) -> str | None:
    if a.settled_outcome is None or b.settled_outcome is None:
        return None
    same = a.settled_outcome == b.settled_outcome
    if relation is Relation.EQUIVALENT and not same:
        return "settled outcomes differ, so the contracts cannot be equivalent"
    if relation is Relation.INVERTED and same:
        return "settled outcomes agree, so the contracts cannot be inverted"
    return None


def decide(
    a: Market,
    b: Market,
    propositions: tuple[Proposition, Proposition],
    comparison: Comparison,
    verdict: ModelVerdict | None,
    *,
    tradable_confidence: Decimal = DEFAULT_TRADABLE,
    review_confidence: Decimal = DEFAULT_REVIEW,
) -> Decision:
    reasons = list(comparison.reasons)
    if verdict is None:
        relation, confidence, checks = comparison.relation, comparison.confidence, comparison.checks
        decided_by, needs_model = "parser", not comparison.conclusive
    else:
        checks = tuple(_merge(check, verdict.fields.get(check.name)) for check in comparison.checks)
        relation, confidence = verdict.relation, verdict.confidence
        reasons.extend(f"model: {reason}" for reason in verdict.reasons)
        decided_by, needs_model = "model", False

    differing = [check.name for check in checks if check.agreement is Agreement.DIFFER]
    unknown = [check.name for check in checks if check.agreement is Agreement.UNKNOWN]
    merged = next(check for check in checks if check.name == "yes_condition").agreement
    # Where the parser read the orientation, its reading stands against any claimed relation.
    parsed = comparison.orientation
    orientation = parsed if parsed in (Agreement.AGREE, Agreement.COMPLEMENT) else merged
    if relation.tradable_kind and differing:
        reasons.append("not equivalent: " + ", ".join(differing) + " differ")
        relation = Relation.RELATED_NOT_EQUIVALENT
    if relation is Relation.EQUIVALENT and orientation is Agreement.COMPLEMENT:
        reasons.append("stated equivalent but YES sides point opposite ways")
        relation = Relation.DIFFERENT
    if relation is Relation.INVERTED and orientation is Agreement.AGREE:
        reasons.append("stated inverted but YES sides point the same way")
        relation = Relation.DIFFERENT
    veto = _settled_veto(a, b, relation)
    if veto is not None:
        reasons.append(veto)
        relation = Relation.RELATED_NOT_EQUIVALENT

    every_field_agrees = not differing and not unknown and len(checks) == len(FIELDS)
    tradable = relation.tradable_kind and every_field_agrees and confidence >= tradable_confidence
    review = (
        not tradable
        and verdict is not None
        and relation.tradable_kind
        and not differing
        and confidence >= review_confidence
    )
    if tradable:
        reasons.append(f"tradable: {relation.value}, every field agrees, confidence {confidence}")
    elif review:
        reasons.append("queued for human review")
    return Decision(
        relation=relation,
        confidence=confidence,
        tradable=tradable,
        review_status="pending" if review else "none",
        decided_by=decided_by,
        reasons=tuple(reasons),
        checks=checks,
        needs_model=needs_model,
        propositions=propositions,
        model=verdict.model if verdict else None,
    )


def verdict_to_json(verdict: ModelVerdict) -> dict[str, Any]:
    return {
        "relation": verdict.relation.value,
        "confidence": str(verdict.confidence),
        "fields": {name: check.as_evidence() for name, check in verdict.fields.items()},
        "reasons": list(verdict.reasons),
        "model": verdict.model,
    }


def verdict_from_json(document: dict[str, Any]) -> ModelVerdict:
    fields = {
        name: FieldCheck(
            name,
            item.get("a"),
            item.get("b"),
            Agreement(item["agreement"]),
            "model",
            item.get("note", ""),
        )
        for name, item in document["fields"].items()
    }
    return ModelVerdict(
        relation=Relation(document["relation"]),
        confidence=Decimal(document["confidence"]),
        fields=fields,
        reasons=tuple(document["reasons"]),
        model=document["model"],
    )
