"""Integer units the engine computes in, and the decimal strings the venues print.

Prices are integer units of 0.0001 (every tick size either venue uses is a multiple of it), sizes
are integer micro-units (Polymarket amounts have 6 decimals; Kalshi counts have 2). Decimal
appears only at the edges: parsing requests and formatting responses.
"""

from __future__ import annotations

from decimal import Decimal

PRICE_SCALE = 10_000
SIZE_SCALE = 1_000_000
ONE_PRICE = PRICE_SCALE
_PRICE_UNIT = Decimal(1) / PRICE_SCALE
_SIZE_UNIT = Decimal(1) / SIZE_SCALE


class UnitError(ValueError):
    """A price or size that does not fit the engine's grid."""


def price_units(price: Decimal) -> int:
    scaled = price * PRICE_SCALE
    if scaled != scaled.to_integral_value():
        raise UnitError(f"price {price} is finer than {_PRICE_UNIT}")
    return int(scaled)


def size_units(size: Decimal) -> int:
    scaled = size * SIZE_SCALE
    if scaled != scaled.to_integral_value():
        raise UnitError(f"size {size} is finer than {_SIZE_UNIT}")
    return int(scaled)


def price_decimal(units: int) -> Decimal:
    return Decimal(units) / PRICE_SCALE


def size_decimal(units: int) -> Decimal:
    return Decimal(units) / SIZE_SCALE


def plain(value: Decimal) -> str:
    """Polymarket style: no exponent, no trailing zeros ("0.5", "5000", "0.001")."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fixed(value: Decimal, places: int) -> str:
    """Kalshi style fixed point: dollars with 4 places, counts with 2."""
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")
