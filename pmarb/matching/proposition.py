"""A market's settlement proposition in canonical form, field by field.

``None`` always means *unknown*: the parser could not read that field from the market, so it
cannot agree with anything. Two markets are the same contract only when every field is known
on both sides and equal.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum


class Relation(StrEnum):
    EQUIVALENT = "equivalent"
    INVERTED = "inverted"  # YES here pays exactly when NO pays there
    RELATED_NOT_EQUIVALENT = "related_not_equivalent"
    DIFFERENT = "different"
    UNCERTAIN = "uncertain"

    @property
    def tradable_kind(self) -> bool:
        return self in (Relation.EQUIVALENT, Relation.INVERTED)


class Family(StrEnum):
    CRYPTO_THRESHOLD = "crypto_threshold"
    CRYPTO_UPDOWN = "crypto_updown"
    CRYPTO_TOUCH = "crypto_touch"
    TEMPERATURE = "temperature"
    FED_DECISION = "fed_decision"
    GENERIC = "generic"


# The fields compared for equivalence, in the order evidence lists them.
FIELDS: tuple[str, ...] = (
    "subject",
    "quantity",
    "source",
    "instrument",
    "functional",
    "observation",
    "yes_condition",
    "unit",
    "fallback",
)
FIELD_HELP: dict[str, str] = {
    "subject": "asset, city, institution or event the market is about",
    "quantity": "what is measured (price, daily high temperature, rate change, winner...)",
    "source": "settlement source or index (CF BRTI, Chainlink stream, Binance, NWS CLI...)",
    "instrument": "station, trading pair or specific instrument read from the source",
    "functional": "spot print, N-second average/TWAP, candle open/close, max/min/touch...",
    "observation": "observation instant or window in UTC (or named day basis)",
    "yes_condition": "comparator and threshold(s) that make YES pay, or which side YES names",
    "unit": "unit and rounding applied before comparing",
    "fallback": "void, cancellation, revision and dispute rules",
}


def _plain(value: Decimal | None) -> Decimal | None:
    """Drop trailing zeros without switching to exponent notation (90, not 9E+1)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@dataclass(frozen=True, slots=True)
class Interval:
    """The set of settlement values for which YES pays; ``None`` bounds are unbounded."""

    low: Decimal | None
    low_closed: bool
    high: Decimal | None
    high_closed: bool
    variable: str = "value"  # "value", or "end-start" for up/down windows

    def quantized(self, step: Decimal | None) -> Interval:
        """On a grid (whole °F, basis points), open bounds become the next grid point."""
        if step is None:
            return self
        low, low_closed = self.low, self.low_closed
        if low is not None:
            ticks = (low / step).to_integral_value(
                rounding=ROUND_FLOOR if not low_closed else ROUND_CEILING
            )
            low = (ticks + (1 if not low_closed and ticks * step <= low else 0)) * step
            low_closed = True
        high, high_closed = self.high, self.high_closed
        if high is not None:
            ticks = (high / step).to_integral_value(
                rounding=ROUND_CEILING if not high_closed else ROUND_FLOOR
            )
            high = (ticks - (1 if not high_closed and ticks * step >= high else 0)) * step
            high_closed = True
        return Interval(_plain(low), low_closed, _plain(high), high_closed, self.variable)

    def complement(self, step: Decimal | None) -> Interval | None:
        """The NO set when it is itself an interval (one-sided conditions only)."""
        if self.low is not None and self.high is None:
            flipped = Interval(None, False, self.low, not self.low_closed, self.variable)
        elif self.high is not None and self.low is None:
            flipped = Interval(self.high, not self.high_closed, None, False, self.variable)
        else:
            return None
        return flipped.quantized(step)

    def __str__(self) -> str:
        left = "(-inf" if self.low is None else ("[" if self.low_closed else "(") + f"{self.low}"
        right = (
            "+inf)" if self.high is None else f"{self.high}" + ("]" if self.high_closed else ")")
        )
        prefix = "" if self.variable == "value" else f"{self.variable} in "
        return f"{prefix}{left}, {right}"


@dataclass(frozen=True, slots=True)
class YesCondition:
    """What makes YES pay: a set of values (with its grid), or the side YES names."""

    interval: Interval | None = None
    step: Decimal | None = None
    side: str | None = None  # a named participant ("lakers"), for head-to-head markets
    participants: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.interval is not None:
            return str(self.interval)
        if self.side is not None:
            versus = " vs ".join(self.participants)
            return f"YES = {self.side}" + (f" (of {versus})" if versus else "")
        return "unknown"


@dataclass(frozen=True, slots=True)
class Proposition:
    family: Family
    subject: str | None = None
    quantity: str | None = None
    source: str | None = None
    instrument: str | None = None
    functional: str | None = None
    observation: str | None = None
    yes_condition: YesCondition | None = None
    unit: str | None = None
    fallback: str | None = None
    # Not compared: where the observation ends, for blocking by instant.
    observed_at: datetime | None = None
    notes: tuple[str, ...] = ()

    def value(self, name: str) -> str | None:
        raw = getattr(self, name)
        if raw is None:
            return None
        return str(raw)

    def known_fields(self) -> dict[str, str | None]:
        return {name: self.value(name) for name in FIELDS}

    def as_evidence(self) -> dict[str, object]:
        document: dict[str, object] = {"family": self.family.value}
        document.update(self.known_fields())
        if self.observed_at is not None:
            document["observed_at"] = self.observed_at.isoformat()
        if self.notes:
            document["notes"] = list(self.notes)
        return document


assert {f.name for f in fields(Proposition)} >= set(FIELDS)
