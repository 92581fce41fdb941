"""``pmarb match evaluate``: decide labelled (or unlabelled) pairs from a JSONL file.

Each line is ``{"a": MARKET, "b": MARKET, "label": optional}``; MARKET has ``venue``, ``id``,
``title`` and optionally ``subtitle``, ``rules``, ``close_time``, ``event``, ``series``,
``outcomes`` (plus, if known, ``settlement_source``, ``strike_type``, ``floor_strike``,
``cap_strike``, ``observation_time``, ``result``). Unknown keys are ignored.

Labels. A pair counts as a true positive when the matcher calls it tradable AND the label
says the same contract with the same orientation:

- equivalent: ``"equivalent"``, ``"same"``, ``"match"``, ``"same_contract"``, ``true``, ``1``,
  and labels starting with ``EQUIVALENT`` or ``LIKELY_EQUIVALENT``;
- inverted: ``"inverted"``, ``"opposite"``;
- not the same contract: ``false``, ``0``, ``"different"``, ``"related_not_equivalent"``,
  ``"uncertain"``, ``"no_match"``, and labels starting with ``NOT_`` or ``NEAR_EQUIVALENT``;
- anything else (or no label) is unlabelled and left out of precision and recall.

precision = true positives / tradable labelled pairs; recall = true positives / labelled
equivalent-or-inverted pairs. A tradable pair whose label contradicts its relation is counted
in ``contradicted``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.matching.decision import Decision
from pmarb.matching.proposition import Relation


class LineError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


_POSITIVE = {"equivalent", "same", "match", "same_contract", "true", "1", "yes"}
_INVERTED = {"inverted", "opposite"}
_NEGATIVE = {
    "different",
    "related_not_equivalent",
    "uncertain",
    "no_match",
    "false",
    "0",
    "no",
    "not_equivalent",
}


def label_relation(label: Any) -> Relation | bool | None:
    """EQUIVALENT/INVERTED for positives, False for negatives, None for unlabelled."""
    if label is None:
        return None
    if isinstance(label, bool):
        return Relation.EQUIVALENT if label else False
    text = str(label).strip().lower()
    if text in _INVERTED:
        return Relation.INVERTED
    if text in _NEGATIVE or text.startswith(("not_", "not ", "near_equivalent")):
        return False
    if text in _POSITIVE or text.startswith(("equivalent", "likely_equivalent")):
        return Relation.EQUIVALENT
    return None


def _time(value: Any, line: int, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise LineError(line, f"{name} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LineError(line, f"{name} is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None:
        raise LineError(line, f"{name} has no time zone: {value!r}")
    return parsed


def _decimal(value: Any, line: int, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise LineError(line, f"{name} is not a number: {value!r}") from None


def _text(document: dict[str, Any], key: str, line: int, side: str) -> str:
    value = document.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        value = "\n".join(str(part) for part in value)
    if not isinstance(value, str):
        raise LineError(line, f"{side}.{key} must be a string")
    return value


def market_from_json(document: Any, line: int, side: str) -> Market:
    if not isinstance(document, dict):
        raise LineError(line, f'"{side}" must be an object')
    for key in ("venue", "id", "title"):
        if document.get(key) in (None, ""):
            raise LineError(line, f'"{side}" has no "{key}"')
    try:
        venue = VenueId(str(document["venue"]).lower())
    except ValueError:
        known = ", ".join(v.value for v in VenueId)
        raise LineError(line, f"{side}.venue {document['venue']!r} is not one of {known}") from None
    outcomes = document.get("outcomes") or ["Yes", "No"]
    if not isinstance(outcomes, list) or len(outcomes) != 2:
        raise LineError(line, f"{side}.outcomes must list exactly two outcome names")
    result = document.get("result") or document.get("settled_outcome")
    settled: Outcome | None = None
    if result:
        text = str(result).lower()
        if text in ("yes", "no"):
            settled = Outcome(text)
        elif text == outcomes[0].lower():
            settled = Outcome.YES
        elif text == outcomes[1].lower():
            settled = Outcome.NO
    market_id = str(document["id"])
    return Market(
        venue=venue,
        market_id=market_id,
        title=_text(document, "title", line, side),
        subtitle=_text(document, "subtitle", line, side),
        rules=_text(document, "rules", line, side),
        outcome_names=(str(outcomes[0]), str(outcomes[1])),
        yes_instrument_id=f"{market_id}:yes",
        no_instrument_id=f"{market_id}:no",
        close_time=_time(document.get("close_time"), line, f"{side}.close_time"),
        observation_time=_time(document.get("observation_time"), line, f"{side}.observation_time"),
        event_id=str(document["event"]) if document.get("event") is not None else None,
        series_id=str(document["series"]) if document.get("series") is not None else None,
        settlement_source=document.get("settlement_source") or None,
        strike_type=document.get("strike_type") or None,
        floor_strike=_decimal(document.get("floor_strike"), line, f"{side}.floor_strike"),
        cap_strike=_decimal(document.get("cap_strike"), line, f"{side}.cap_strike"),
        settled_outcome=settled,
    )


@dataclass(frozen=True)
class PairInput:
    line: int
    a: Market
    b: Market
    label: Any


def parse_line(line: int, raw: str) -> PairInput:
    try:
        document = json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise LineError(line, f"not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(document, dict):
        raise LineError(line, 'each line must be a JSON object with "a" and "b"')
    return PairInput(
        line,
        market_from_json(document.get("a"), line, "a"),
        market_from_json(document.get("b"), line, "b"),
        document.get("label"),
    )


def result_line(line: int, decision: Decision) -> dict[str, Any]:
    return {
        "line": line,
        "relation": decision.relation.value,
        "tradable": decision.tradable,
        "confidence": float(decision.confidence),
        "review": decision.review_status,
        "reasons": list(decision.reasons),
    }


@dataclass
class Tally:
    pairs: int = 0
    errors: int = 0
    tradable: int = 0
    review: int = 0
    relations: Counter[str] = field(default_factory=Counter)
    labelled: int = 0
    unrecognised_labels: int = 0
    true_positives: int = 0
    contradicted: int = 0
    labelled_positive: int = 0
    model_calls: int = 0
    cost_usd: Decimal = Decimal(0)

    def add(self, decision: Decision, label: Any) -> None:
        self.pairs += 1
        self.relations[decision.relation.value] += 1
        self.tradable += decision.tradable
        self.review += decision.review_status == "pending"
        expected = label_relation(label)
        if expected is None:
            self.unrecognised_labels += label is not None
            return
        self.labelled += 1
        if expected is not False:
            self.labelled_positive += 1
        if decision.tradable:
            if expected is not False and decision.relation is expected:
                self.true_positives += 1
            else:
                self.contradicted += 1

    def summary(self) -> dict[str, Any]:
        flagged = self.true_positives + self.contradicted
        document: dict[str, Any] = {
            "pairs": self.pairs,
            "errors": self.errors,
            "relations": {relation.value: self.relations[relation.value] for relation in Relation},
            "tradable": self.tradable,
            "pending_review": self.review,
            "labelled": self.labelled,
            "unrecognised_labels": self.unrecognised_labels,
            "model_calls": self.model_calls,
            "cost_usd": str(self.cost_usd),
        }
        if self.labelled:
            document.update(
                {
                    "labelled_equivalent": self.labelled_positive,
                    "true_positives": self.true_positives,
                    "contradicted": self.contradicted,
                    "precision": round(self.true_positives / flagged, 4) if flagged else None,
                    "recall": round(self.true_positives / self.labelled_positive, 4)
                    if self.labelled_positive
                    else None,
                }
            )
        return {"summary": document}
