"""Venue decimal strings as integer micro-units, the representation of the in-memory books.

Both venues quote prices and sizes as decimal strings with at most six decimals (Polymarket
pUSD has 6 decimals and ticks down to 0.0001; Kalshi responses carry up to 6 decimals). An int
of millionths holds every such value exactly and compares and adds much faster than Decimal.
Converting back to :class:`~decimal.Decimal` is exact.
"""

from __future__ import annotations

from decimal import Decimal

SCALE_DIGITS = 6
SCALE: int = 1_000_000
_POWERS: tuple[int, ...] = tuple(int(10 ** (SCALE_DIGITS - n)) for n in range(SCALE_DIGITS + 1))
_CACHE_LIMIT = 200_000
PARSED: dict[str, int] = {}
"""Strings already parsed by :func:`micros`; hot loops may ``PARSED.get`` first."""


def _parse(text: str) -> int:
    body = text.strip()
    if "e" in body or "E" in body:
        return _parse_exponent(text)
    negative = body.startswith("-")
    if negative or body.startswith("+"):
        body = body[1:]
    whole, _, frac = body.partition(".")
    if len(frac) > SCALE_DIGITS:
        if frac[SCALE_DIGITS:].strip("0"):
            raise ValueError(f"{text!r} has more than {SCALE_DIGITS} decimals")
        frac = frac[:SCALE_DIGITS]
    if (
        not (whole or frac)
        or not (whole.isdigit() or not whole)
        or not (frac.isdigit() or not frac)
    ):
        raise ValueError(f"not a decimal number: {text!r}")
    value = int(whole or "0") * SCALE + (int(frac) * _POWERS[len(frac)] if frac else 0)
    return -value if negative else value


def _parse_exponent(text: str) -> int:
    """``"1e1"``: not what venues send, but exact, so accepted (the slow way)."""
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return micros_of(value)


def micros(text: str) -> int:
    """``"0.301"`` → ``301000``. Raises ValueError for anything that is not a plain decimal."""
    value: int | None = PARSED.get(text)
    if value is None:
        value = _parse(text)
        if len(PARSED) < _CACHE_LIMIT:
            PARSED[text] = value
    return value


def micros_of(value: Decimal | str | int) -> int:
    """A Decimal (or string or int) as micro-units; refuses values finer than a micro-unit."""
    if isinstance(value, str):
        return micros(value)
    scaled = Decimal(value) * SCALE
    integral = scaled.to_integral_value()
    if scaled != integral:
        raise ValueError(f"{value} is finer than 10^-{SCALE_DIGITS}")
    return int(integral)


def to_decimal(value: int) -> Decimal:
    """Micro-units back to an exact Decimal without trailing zeros (``301000`` → ``0.301``)."""
    result = Decimal(value).scaleb(-SCALE_DIGITS)
    integral = result.to_integral_value()
    # normalize() alone would turn 1000 into 1E+3.
    return integral if result == integral else result.normalize()


def format_decimal(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros (``"0.53"``, ``"1000"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", ""} else text


def format_micros(value: int) -> str:
    return format_decimal(to_decimal(value))
