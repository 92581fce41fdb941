"""The pre-trade rules: a trade request, the limits and what is already used, in; a decision out.

Pure: the live path loads ``Exposure`` inside its serialising Postgres transaction and calls
:func:`decide`; the backtest keeps ``Exposure`` in memory and calls the same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.money import ZERO
from pmarb.domain.risk import RiskLimits


class RiskReason(StrEnum):
    APPROVED = "APPROVED"
    HALTED = "HALTED"
    DAILY_LOSS_PAUSE = "DAILY_LOSS_PAUSE"
    EXPIRED = "EXPIRED"
    STALE_QUOTE = "STALE_QUOTE"
    SLIPPAGE = "SLIPPAGE"
    MARKET_LIMIT = "MARKET_LIMIT"
    VENUE_LIMIT = "VENUE_LIMIT"
    PORTFOLIO_LIMIT = "PORTFOLIO_LIMIT"
    STRATEGY_BUDGET = "STRATEGY_BUDGET"


@dataclass(frozen=True, slots=True)
class LegExposure:
    venue: str
    market_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class QuoteCheck:
    instrument_id: str
    observed_at: datetime
    quoted_price: Decimal
    expected_price: Decimal


@dataclass(frozen=True, slots=True)
class TradeRequest:
    strategy: str
    capital: Decimal
    legs: tuple[LegExposure, ...]
    quotes: tuple[QuoteCheck, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class GuardState:
    halted: bool = False
    halt_reason: str | None = None
    paused_until: datetime | None = None
    realised_today: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Exposure:
    """Capital already reserved, where it matters for this request."""

    by_market: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    by_venue: Mapping[str, Decimal] = field(default_factory=dict)
    deployed: Decimal = ZERO
    by_strategy: Mapping[str, Decimal] = field(default_factory=dict)
    strategy_budgets: Mapping[str, Decimal] = field(default_factory=dict)  # absent: no budget yet


@dataclass(frozen=True, slots=True)
class RiskDecision:
    approved: bool
    reason: RiskReason
    detail: str


def merged_legs(legs: tuple[LegExposure, ...]) -> dict[tuple[str, str], Decimal]:
    merged: dict[tuple[str, str], Decimal] = {}
    for leg in legs:
        key = (leg.venue, leg.market_id)
        merged[key] = merged.get(key, ZERO) + leg.amount
    return merged


def decide(
    request: TradeRequest,
    limits: RiskLimits,
    state: GuardState,
    exposure: Exposure,
    now: datetime,
) -> RiskDecision:
    def reject(reason: RiskReason, detail: str) -> RiskDecision:
        return RiskDecision(False, reason, detail)

    if state.halted:
        return reject(RiskReason.HALTED, state.halt_reason or "trading is halted")
    if state.paused_until is not None and state.paused_until > now:
        return reject(RiskReason.DAILY_LOSS_PAUSE, f"paused until {state.paused_until}")
    if state.realised_today <= -limits.daily_loss_limit:
        return reject(
            RiskReason.DAILY_LOSS_PAUSE,
            f"realised P&L today {state.realised_today} ≤ −{limits.daily_loss_limit}",
        )
    if request.expires_at <= now:
        return reject(RiskReason.EXPIRED, f"opportunity expired at {request.expires_at}")
    for quote in request.quotes:
        age = (now - quote.observed_at).total_seconds()
        if age > limits.stale_quote_seconds:
            return reject(
                RiskReason.STALE_QUOTE,
                f"{quote.instrument_id} quote is {age:.1f}s old "
                f"(limit {limits.stale_quote_seconds}s)",
            )
        slippage = abs(quote.expected_price - quote.quoted_price)
        if slippage > limits.max_slippage:
            return reject(
                RiskReason.SLIPPAGE,
                f"{quote.instrument_id} expected {quote.expected_price} vs quoted "
                f"{quote.quoted_price} (limit {limits.max_slippage})",
            )
    merged = merged_legs(request.legs)
    for (venue, market), amount in merged.items():
        used = exposure.by_market.get((venue, market), ZERO)
        if used + amount > limits.per_market_limit:
            return reject(
                RiskReason.MARKET_LIMIT,
                f"{venue}/{market}: {used} + {amount} > {limits.per_market_limit}",
            )
    by_venue: dict[str, Decimal] = {}
    for (venue, _), amount in merged.items():
        by_venue[venue] = by_venue.get(venue, ZERO) + amount
    for venue, amount in by_venue.items():
        used = exposure.by_venue.get(venue, ZERO)
        if used + amount > limits.per_venue_limit:
            return reject(
                RiskReason.VENUE_LIMIT, f"{venue}: {used} + {amount} > {limits.per_venue_limit}"
            )
    if exposure.deployed + request.capital > limits.max_deployed:
        return reject(
            RiskReason.PORTFOLIO_LIMIT,
            f"deployed {exposure.deployed} + {request.capital} > {limits.max_deployed}",
        )
    budget = exposure.strategy_budgets.get(request.strategy)
    if budget is not None:
        used = exposure.by_strategy.get(request.strategy, ZERO)
        if used + request.capital > budget:
            return reject(
                RiskReason.STRATEGY_BUDGET,
                f"{request.strategy}: {used} + {request.capital} > {budget}",
            )
    return RiskDecision(True, RiskReason.APPROVED, "within every limit")
