"""Holdings per venue, market and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmarb.domain.market import VenueId
from pmarb.domain.money import ZERO
from pmarb.domain.parity import Outcome


@dataclass(frozen=True, slots=True)
class Position:
    venue: VenueId
    market_id: str
    outcome: Outcome
    size: Decimal
    average_price: Decimal
    realized_pnl: Decimal = ZERO

    @property
    def cost_basis(self) -> Decimal:
        return self.size * self.average_price

    def value_at(self, price: Decimal) -> Decimal:
        return self.size * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        return self.value_at(price) - self.cost_basis
