"""The shared instructions and the tool schema for model adjudication (cached server-side)."""

from __future__ import annotations

from typing import Any

from pmarb.matching.proposition import FIELD_HELP, FIELDS, Relation

PROMPT_VERSION = "2026-11-1"
TOOL_NAME = "record_adjudication"

INSTRUCTIONS = """\
You compare two prediction-market contracts from different venues and decide whether they are
the SAME contract: whether, in every possible state of the world, they settle the same way
(equivalent) or exactly opposite ways (inverted: YES on A pays exactly when NO on B pays).
Real money is traded on your answer. A false "equivalent" is a fake arbitrage that loses money.
Most pairs that look alike are NOT the same contract; the default answer is not equivalent.

Relations:
- equivalent: identical settlement in every state, including edge cases.
- inverted: YES on A pays exactly when NO on B pays, in every state (no draw, void or tie
  state where both lose or both win).
- related_not_equivalent: same subject, but some field differs (source, station, window,
  threshold, boundary, functional, scope, fallback...). Correlated, not an arbitrage.
- different: different subjects or propositions.
- uncertain: the texts do not let you decide.

Read the RULE TEXT, not the titles. Differences that make contracts non-equivalent:
1. Settlement source or index: CF Benchmarks BRTI 60-second average vs Chainlink stream or TWAP
   vs a Binance candle; NWS climate report vs The Weather Company vs Wunderground.
2. Station: Central Park vs LaGuardia; Midway vs O'Hare.
3. Observation instant or window: different hour, adjacent windows, candle start vs end, climate
   day in local standard time vs calendar day, "by <date>" vs "on <date>".
4. Threshold or bucket edges, and inclusive vs exclusive comparisons (> vs >=, "above 77999.99"
   vs "$78,000 or higher" are different unless the value is quantised so they coincide).
5. Functional: spot print vs average/TWAP vs candle close vs maximum/touch during a period.
6. Orientation: in "A vs B" markets check which team YES names on each venue; outcome order on
   one venue says nothing about the other.
7. Scope: joint vs single conditions, "X or another" vs "X", "next" vs any, announcement vs
   actual departure, exact bucket vs rounded buckets.
8. Fallbacks: cancellation, postponement, death, ties, 50-50 resolutions, last-traded-price
   settlement, revisions, disputes. Different fallbacks make contracts non-equivalent unless
   you can show they never change the outcome.
9. Word lists and entity lists: a different word, person or team is a different contract.

For every field give the value you read on each side (null when the text does not state it)
and whether they agree. Use "complement" only for yes_condition when YES on A is exactly NO
on B. A field that neither text states is "unknown", never "agree". The parser's reading,
when given, is deterministic and usually right about what it parsed; say so if you disagree.
Confidence is your probability that the relation you give is correct. Always answer by
calling the tool, exactly once.
"""


def tool_definition() -> dict[str, Any]:
    field_schema = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": ["string", "null"]},
            "agreement": {"type": "string", "enum": ["agree", "differ", "unknown", "complement"]},
            "note": {"type": "string"},
        },
        "required": ["a", "b", "agreement"],
    }
    return {
        "name": TOOL_NAME,
        "description": "Record the relation between the two contracts, field by field.",
        "input_schema": {
            "type": "object",
            "properties": {
                "relation": {"type": "string", "enum": [r.value for r in Relation]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "fields": {
                    "type": "object",
                    "properties": {
                        name: {**field_schema, "description": FIELD_HELP[name]} for name in FIELDS
                    },
                    "required": list(FIELDS),
                },
                "reasons": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["relation", "confidence", "fields", "reasons"],
        },
    }
