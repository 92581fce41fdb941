"""Field-by-field comparison of two propositions: the deterministic verdict.

A parsed field that differs is conclusive (the contracts are not the same). Agreement is
conclusive only when *every* field is known on both sides; otherwise the verdict is
``uncertain`` and someone who can read the rules (the model, then a human) has to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pmarb.matching.families.generic import tokens
from pmarb.matching.proposition import FIELDS, Family, Proposition, Relation, YesCondition

PARSER_CERTAINTY = Decimal("0.95")
UNPARSED_CONFIDENCE = Decimal("0.3")
ORIENTATION_ONLY_CONFIDENCE = Decimal("0.5")
IDENTITY_FIELDS = frozenset({"subject"})


class Agreement(StrEnum):
    AGREE = "agree"
    DIFFER = "differ"
    UNKNOWN = "unknown"
    COMPLEMENT = "complement"  # yes_condition only: YES here is NO there


@dataclass(frozen=True, slots=True)
class FieldCheck:
    name: str
    a: str | None
    b: str | None
    agreement: Agreement
    by: str = "parser"
    note: str = ""

    def as_evidence(self) -> dict[str, str | None]:
        document: dict[str, str | None] = {
            "a": self.a,
            "b": self.b,
            "agreement": self.agreement.value,
            "by": self.by,
        }
        if self.note:
            document["note"] = self.note
        return document


@dataclass(frozen=True, slots=True)
class Comparison:
    relation: Relation
    conclusive: bool
    confidence: Decimal
    checks: tuple[FieldCheck, ...]
    reasons: tuple[str, ...]

    def check(self, name: str) -> FieldCheck:
        return next(check for check in self.checks if check.name == name)

    @property
    def orientation(self) -> Agreement:
        return self.check("yes_condition").agreement


def _same_participant(a: str, b: str) -> bool:
    return bool(tokens(a) & tokens(b))


def _condition_agreement(a: YesCondition, b: YesCondition) -> tuple[Agreement, str]:
    if a.interval is not None and b.interval is not None:
        if a.step != b.step:
            return Agreement.UNKNOWN, "the two sides are quantised differently"
        if a.interval == b.interval:
            return Agreement.AGREE, ""
        if a.interval.complement(a.step) == b.interval:
            return Agreement.COMPLEMENT, "YES here is exactly NO there"
        return Agreement.DIFFER, "different comparator or threshold"
    if a.side is not None and b.side is not None:
        if len(a.participants) != 2 or len(b.participants) != 2:
            return Agreement.UNKNOWN, ""
        a1, a2 = a.participants
        b1, b2 = b.participants
        straight = _same_participant(a1, b1) and _same_participant(a2, b2)
        crossed = _same_participant(a1, b2) and _same_participant(a2, b1)
        if straight == crossed:
            return Agreement.UNKNOWN, "cannot tell the participants apart"
        if _same_participant(a.side, b.side):
            return Agreement.AGREE, "YES names the same participant"
        return Agreement.COMPLEMENT, (
            "YES names different participants; inverted only if no draw or void is possible"
        )
    return Agreement.UNKNOWN, ""


def _subject_agreement(a: Proposition, b: Proposition) -> Agreement:
    if a.subject is None or b.subject is None:
        return Agreement.UNKNOWN
    if a.family is Family.GENERIC:
        # Head-to-head subjects are "x vs y" with venue-specific spellings of each name.
        left, right = a.subject.split(" vs "), b.subject.split(" vs ")
        if len(left) == 2 and len(right) == 2:
            straight = _same_participant(left[0], right[0]) and _same_participant(left[1], right[1])
            crossed = _same_participant(left[0], right[1]) and _same_participant(left[1], right[0])
            return Agreement.AGREE if straight or crossed else Agreement.UNKNOWN
        return Agreement.UNKNOWN
    return Agreement.AGREE if a.subject == b.subject else Agreement.DIFFER


def compare(a: Proposition, b: Proposition) -> Comparison:
    checks: list[FieldCheck] = []
    for name in FIELDS:
        value_a, value_b = a.value(name), b.value(name)
        note = ""
        if name == "subject":
            agreement = _subject_agreement(a, b)
        elif name == "yes_condition" and a.yes_condition and b.yes_condition:
            agreement, note = _condition_agreement(a.yes_condition, b.yes_condition)
        elif value_a is None or value_b is None:
            agreement = Agreement.UNKNOWN
        else:
            agreement = Agreement.AGREE if value_a == value_b else Agreement.DIFFER
        checks.append(FieldCheck(name, value_a, value_b, agreement, note=note))
    return _verdict(a, b, tuple(checks))


def _verdict(a: Proposition, b: Proposition, checks: tuple[FieldCheck, ...]) -> Comparison:
    reasons: list[str] = []
    parsed_families = Family.GENERIC not in (a.family, b.family)
    if parsed_families and a.family is not b.family:
        same_subject = a.subject is not None and a.subject == b.subject
        reasons.append(f"different market families: {a.family.value} vs {b.family.value}")
        return Comparison(
            Relation.RELATED_NOT_EQUIVALENT if same_subject else Relation.DIFFERENT,
            True,
            PARSER_CERTAINTY,
            checks,
            tuple(reasons),
        )
    differing = [check for check in checks if check.agreement is Agreement.DIFFER]
    if differing:
        identity = [check for check in differing if check.name in IDENTITY_FIELDS]
        for check in differing:
            reasons.append(f"{check.name} differs: {check.a!r} vs {check.b!r}")
        return Comparison(
            Relation.DIFFERENT if identity else Relation.RELATED_NOT_EQUIVALENT,
            True,
            PARSER_CERTAINTY,
            checks,
            tuple(reasons),
        )
    unknown = [check.name for check in checks if check.agreement is Agreement.UNKNOWN]
    orientation = next(check for check in checks if check.name == "yes_condition").agreement
    if not unknown:
        relation = Relation.INVERTED if orientation is Agreement.COMPLEMENT else Relation.EQUIVALENT
        reasons.append("every proposition field was parsed on both sides and agrees")
        return Comparison(relation, True, PARSER_CERTAINTY, checks, tuple(reasons))
    reasons.append("not parsed on both sides: " + ", ".join(unknown))
    if orientation is Agreement.COMPLEMENT:
        reasons.append("YES sides point opposite ways")
        return Comparison(
            Relation.INVERTED, False, ORIENTATION_ONLY_CONFIDENCE, checks, tuple(reasons)
        )
    return Comparison(Relation.UNCERTAIN, False, UNPARSED_CONFIDENCE, checks, tuple(reasons))
