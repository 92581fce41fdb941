"""The portfolio's one valuation: cash plus every open position at its mark.

- **cash** is the ledger's sum of cash flows: the starting balance, less what buys cost and the
  fees paid, plus what sells raised and what settled positions paid out (a YES share pays 1 on
  YES, 0 otherwise; a void market 0.5 each). Every term is exact (Decimal, no rounding).
- **positions** are marked at the **mid** of their book, (best bid + best ask) / 2, as the
  backtest marks what is still open at its end; with one side only, at that side; with no book,
  at their average price (``cost``: no gain or loss is claimed for what cannot be priced).
- **value** = cash + Σ size × mark, and **pnl** = value − starting balance. Of the P&L,
  ``unrealized_pnl`` is Σ size × (mark − average price) and ``realized_pnl`` the rest.

The market-data process values the ledger with its live books and keeps each mark; the API and
the dashboard value the same ledger at those kept marks with this same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.parity import Outcome

MarkBasis = Literal["mid", "bid", "ask", "cost"]


@dataclass(frozen=True, slots=True)
class Mark:
    price: Decimal
    basis: MarkBasis


def book_mark(bid: Decimal | None, ask: Decimal | None) -> Mark | None:
    """The mid of a book, else the one side it has, else None."""
    if bid is not None and ask is not None:
        return Mark((bid + ask) / 2, "mid")
    if bid is not None:
        return Mark(bid, "bid")
    if ask is not None:
        return Mark(ask, "ask")
    return None


@dataclass(frozen=True, slots=True)
class Holding:
    venue: VenueId
    market_id: str
    outcome: Outcome
    instrument_id: str
    size: Decimal
    average_price: Decimal


@dataclass(frozen=True, slots=True)
class MarkedPosition:
    holding: Holding
    mark: Mark

    @property
    def value(self) -> Decimal:
        return self.holding.size * self.mark.price

    @property
    def cost_basis(self) -> Decimal:
        return self.holding.size * self.holding.average_price

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.value - self.cost_basis


def mark_position(holding: Holding, mark: Mark | None) -> MarkedPosition:
    return MarkedPosition(holding, mark or Mark(holding.average_price, "cost"))


@dataclass(frozen=True, slots=True)
class Valuation:
    starting_balance: Decimal
    cash: Decimal
    positions: tuple[MarkedPosition, ...]

    @property
    def positions_value(self) -> Decimal:
        return sum((p.value for p in self.positions), ZERO)

    @property
    def value(self) -> Decimal:
        return self.cash + self.positions_value

    @property
    def pnl(self) -> Decimal:
        return self.value - self.starting_balance

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl for p in self.positions), ZERO)

    @property
    def realized_pnl(self) -> Decimal:
        return self.pnl - self.unrealized_pnl


MarkSource = Callable[[VenueId, str], Mark | None]
"""``(venue, instrument_id)`` → its mark, or None when there is no price."""


def value_portfolio(
    starting_balance: Decimal, cash: Decimal, holdings: Iterable[Holding], marks: MarkSource
) -> Valuation:
    return Valuation(
        starting_balance=starting_balance,
        cash=cash,
        positions=tuple(
            mark_position(h, marks(h.venue, h.instrument_id)) for h in holdings if h.size != ZERO
        ),
    )
