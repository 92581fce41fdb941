"""The situation ledger: every situation injected into a synthetic world, and what pmarb did
with it.

A synthetic recording lists what was injected (``situations`` in its metadata: kind, markets,
time, the edge available at visible depth for the default risk limits). A detected opportunity
*answers* a situation when it is of the same kind, touches one of its markets, and was detected
while the situation was in force (or within :data:`MATCH_GRACE` after, while quotes revert at
the market maker's next re-quote). Each opportunity answers at most one situation, the earliest.

A situation is then *traded* (something filled: the trades, their strategies and P&L),
*detected* but not traded (the reasons: no bid, rejected and why, no fill), or *missed*. Trades
that answer no situation are *unprompted*: in a fair world every trade is unprompted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pmarb.backtest.engine import Decision
from pmarb.domain.money import ZERO

MATCH_GRACE = timedelta(seconds=10)
KINDS = ("cross_venue", "intra_venue", "oracle_lag")


@dataclass(frozen=True)
class Situation:
    id: str
    kind: str
    start: datetime
    end: datetime
    target: str
    size: str
    markets: frozenset[tuple[str, str]]  # (venue, market id)
    available_size: Decimal
    available_edge: Decimal

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Situation:
        return cls(
            id=str(entry["id"]),
            kind=str(entry["kind"]),
            start=datetime.fromisoformat(entry["start"]),
            end=datetime.fromisoformat(entry["end"]),
            target=str(entry.get("target", "")),
            size=str(entry.get("size", "")),
            markets=frozenset(
                (str(market["venue"]), str(market["market_id"]))
                for market in entry.get("markets", ())
            ),
            available_size=Decimal(str(entry.get("available_size", "0"))),
            available_edge=Decimal(str(entry.get("available_edge", "0"))),
        )


LEDGER_FIELDS = ("id", "kind", "start", "end", "markets", "available_edge")


class OlderRecordingError(ValueError):
    """The recording lists situations without what the ledger needs (older ``pmarb sim``)."""


def parse(entries: Iterable[Mapping[str, Any]]) -> tuple[Situation, ...]:
    listed = list(entries)
    for entry in listed:
        missing = [name for name in LEDGER_FIELDS if name not in entry]
        if missing:
            raise OlderRecordingError(
                f"{len(listed)} situations are listed without {', '.join(missing)}: the "
                "recording predates the situation ledger; make it again with pmarb sim --record"
            )
    return tuple(sorted((Situation.from_json(e) for e in listed), key=lambda s: (s.start, s.id)))


def answers(decision: Decision, situation: Situation) -> bool:
    if decision.kind != situation.kind or decision.opportunity is None:
        return False
    if not situation.start <= decision.detected_at <= situation.end + MATCH_GRACE:
        return False
    return any(
        (leg.venue.value, leg.market_id) in situation.markets for leg in decision.opportunity.legs
    )


def attribute(
    decisions: Sequence[Decision], situations: Sequence[Situation]
) -> dict[str, str | None]:
    """Each decision's situation id (None: it answers none)."""
    found: dict[str, str | None] = {}
    for decision in decisions:
        found[decision.workflow_id] = next((s.id for s in situations if answers(decision, s)), None)
    return found


def outcome_of(decision: Decision) -> str:
    """What happened to a detected opportunity, in a few words."""
    if decision.traded:
        return "traded"
    if decision.status == "rejected" and decision.risk:
        return f"rejected {decision.risk}"
    return decision.status


def money(value: Decimal) -> str:
    """Exact dollars, in cents or finer where the amount has finer parts (every amount in a
    backtest is a multiple of 1e-8): 500.00, -94.32134, 0.00."""
    exact = value.quantize(Decimal("1e-8")).normalize()
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        exact = exact.quantize(Decimal("0.01"))
    return format(exact, "f")


def ledger(
    decisions: Sequence[Decision],
    situations: Sequence[Situation],
    attribution: Mapping[str, str | None],
) -> dict[str, Any]:
    """The report's ``situations`` document."""
    by_situation: dict[str, list[Decision]] = {s.id: [] for s in situations}
    for decision in decisions:
        answered = attribution.get(decision.workflow_id)
        if answered is not None:
            by_situation[answered].append(decision)
    rows = []
    captured_edge = ZERO
    by_kind: dict[str, dict[str, Any]] = {
        kind: {"injected": 0, "captured": 0, "detected": 0, "missed": 0} for kind in KINDS
    }
    for situation in situations:
        answering = by_situation[situation.id]
        trades = [d for d in answering if d.traded]
        kind_counts = by_kind.setdefault(
            situation.kind, {"injected": 0, "captured": 0, "detected": 0, "missed": 0}
        )
        kind_counts["injected"] += 1
        if trades:
            result = "traded"
            kind_counts["captured"] += 1
        elif answering:
            result = "detected"
            kind_counts["detected"] += 1
        else:
            result = "missed"
            kind_counts["missed"] += 1
        pnl = sum((d.pnl for d in trades), ZERO)
        captured_edge += pnl
        rows.append(
            {
                "id": situation.id,
                "kind": situation.kind,
                "start": situation.start.isoformat(),
                "end": situation.end.isoformat(),
                "target": situation.target,
                "size": situation.size,
                "markets": [
                    {"venue": venue, "market_id": market}
                    for venue, market in sorted(situation.markets)
                ],
                "available_edge": money(situation.available_edge),
                "result": result,
                "detections": len(answering),
                "reasons": sorted({outcome_of(d) for d in answering if not d.traded}),
                "trades": [
                    {"workflow_id": d.workflow_id, "strategy": d.strategy, "pnl": money(d.pnl)}
                    for d in trades
                ],
                "pnl": money(pnl),
            }
        )
    unprompted = [d for d in decisions if d.traded and attribution.get(d.workflow_id) is None]
    available = sum((s.available_edge for s in situations), ZERO)
    return {
        "injected": len(situations),
        "captured": sum(1 for row in rows if row["result"] == "traded"),
        "detected_not_traded": sum(1 for row in rows if row["result"] == "detected"),
        "missed": sum(1 for row in rows if row["result"] == "missed"),
        "by_kind": by_kind,
        "edge_available": money(available),
        "edge_captured": money(captured_edge),
        "list": rows,
        "unprompted": {
            "trades": len(unprompted),
            "pnl": money(sum((d.pnl for d in unprompted), ZERO)),
            "list": [
                {"workflow_id": d.workflow_id, "strategy": d.strategy, "pnl": money(d.pnl)}
                for d in unprompted
            ],
        },
    }
