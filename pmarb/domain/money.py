"""Money, prices and sizes are :class:`~decimal.Decimal`; floats never carry money."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a venue number. Floats are refused: they have already lost the exact value."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"refusing to build money from {type(value).__name__} {value!r}")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite decimal number: {value!r}")
    return result


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """Round up to a multiple of ``step`` (fees are rounded in the venue's favour)."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of ``step``."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step
