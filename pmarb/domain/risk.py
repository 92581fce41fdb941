"""The risk profile the guardian enforces. Fractions are of the bankroll."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_STALE_QUOTE_SECONDS = 5.0
"""How long a book may go unconfirmed (its feed silent, or the book invalid) before a quote on it
is too old to trade; the risk profile's default, which the paper venue also fills under."""


class RiskLimits(BaseModel):
    """The seed's risk profile by default: bankroll 500, 20 % ratchet, 10 % daily loss."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bankroll: Decimal = Field(Decimal("500"), gt=0, description="Starting capital in dollars.")
    ratchet_stop_pct: Decimal = Field(
        Decimal("0.20"),
        gt=0,
        lt=1,
        description="Halt everything when value falls this fraction below the high-water mark.",
    )
    daily_loss_limit_pct: Decimal = Field(
        Decimal("0.10"),
        gt=0,
        le=1,
        description="Pause new trades until 00:00 UTC after losing this fraction in a UTC day.",
    )
    per_market_limit_pct: Decimal = Field(
        Decimal("0.10"), gt=0, le=1, description="Largest exposure in any one market."
    )
    per_venue_limit_pct: Decimal = Field(
        Decimal("0.50"), gt=0, le=1, description="Largest exposure on any one venue."
    )
    max_deployed_pct: Decimal = Field(
        Decimal("0.80"), gt=0, le=1, description="Largest capital deployed across all venues."
    )
    stale_quote_seconds: float = Field(
        DEFAULT_STALE_QUOTE_SECONDS,
        gt=0,
        description=(
            "A quote whose book was last known valid longer ago than this rejects the trade."
        ),
    )
    max_directional_loss_pct: Decimal = Field(
        Decimal("0.02"),
        gt=0,
        le=1,
        description=(
            "Most one directional bet (an oracle-lag or mean-reversion position, which can "
            "resolve against us) may lose: its stake is sized to fit."
        ),
    )
    max_slippage: Decimal = Field(
        Decimal("0.02"),
        ge=0,
        lt=1,
        description="Largest allowed gap between expected fill price and quoted price.",
    )

    def floor_for(self, high_water_mark: Decimal) -> Decimal:
        """The ratcheting stop: 20 % below a peak of 800 is 640."""
        return high_water_mark * (1 - self.ratchet_stop_pct)

    @property
    def per_market_limit(self) -> Decimal:
        return self.bankroll * self.per_market_limit_pct

    @property
    def max_directional_loss(self) -> Decimal:
        return self.bankroll * self.max_directional_loss_pct

    @property
    def per_venue_limit(self) -> Decimal:
        return self.bankroll * self.per_venue_limit_pct

    @property
    def max_deployed(self) -> Decimal:
        return self.bankroll * self.max_deployed_pct

    @property
    def daily_loss_limit(self) -> Decimal:
        return self.bankroll * self.daily_loss_limit_pct
