"""Outcomes, order sides, and the one rule that relates them.

A binary contract pays 1 on YES. Holding NO at q is economically the same as being short YES at
1 − q, so every order on either outcome has a YES-leg equivalent. Every place that needs that
conversion (Kalshi's V2 order API, book parity, cross-venue orientation) calls this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.money import ONE, ZERO


class Outcome(StrEnum):
    YES = "yes"
    NO = "no"

    @property
    def opposite(self) -> Outcome:
        return Outcome.NO if self is Outcome.YES else Outcome.YES


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


def complement(price: Decimal) -> Decimal:
    """The price of the other outcome that makes the pair sum to one."""
    if price < ZERO or price > ONE:
        raise ValueError(f"a binary price lies in [0, 1], got {price}")
    return ONE - price


@dataclass(frozen=True, slots=True)
class YesLeg:
    """An order expressed on the YES outcome."""

    side: Side
    price: Decimal


def to_yes_leg(outcome: Outcome, side: Side, price: Decimal) -> YesLeg:
    """Buying NO at q is selling YES at 1 − q; selling NO at q is buying YES at 1 − q."""
    if outcome is Outcome.YES:
        complement(price)  # range check only
        return YesLeg(side=side, price=price)
    return YesLeg(side=side.opposite, price=complement(price))


def from_yes_leg(leg: YesLeg, outcome: Outcome) -> tuple[Side, Decimal]:
    """The inverse of :func:`to_yes_leg`: the side and price on ``outcome``."""
    if outcome is Outcome.YES:
        return leg.side, leg.price
    return leg.side.opposite, complement(leg.price)
