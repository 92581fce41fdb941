"""The daily tournament: rolling performance per strategy in, capital fractions out.

Rules, applied once per UTC day to the last ``window_days`` of realised results:

1. At the start every strategy holds an equal share of capital.
2. A strategy with fewer than ``min_trades`` trades in the window keeps its current share:
   a Sharpe ratio from a handful of trades is noise, and moving capital on noise is worse than
   not moving it.
3. Among the rest, a strategy with a negative Sharpe ratio, and the lowest-ranked one when at
   least three are ranked, are the bottom performers: their share is halved.
4. A bottom performer whose Sharpe is below ``pause_sharpe``, or whose halved share falls below
   ``min_fraction``, is paused (share 0). After ``pause_days`` it re-enters as a new strategy.
5. A strategy that has never had a share (new, or re-entering after a pause) enters with
   ``entry_fraction``.
6. What remains is split among the winners (positive Sharpe, not bottom) in proportion to their
   Sharpe ratios. With no winner, the remainder stays unallocated as cash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from pmarb.domain.money import ONE, ZERO

DAYS_PER_YEAR = Decimal(365)
# Stands in for a riskless record (zero variance); real ratios are not capped.
MAX_SHARPE = Decimal(100)
FRACTION_STEP = Decimal("0.000001")


class AllocationStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class TournamentRules:
    window_days: int = 7
    min_trades: int = 10
    pause_sharpe: Decimal = Decimal("-5")
    min_fraction: Decimal = Decimal("0.02")
    entry_fraction: Decimal = Decimal("0.05")
    pause_days: int = 7


@dataclass(frozen=True, slots=True)
class StrategyRecord:
    """One strategy's realised results in the window, and where it stands now."""

    strategy: str
    daily_pnl: tuple[Decimal, ...]
    trades: int
    wins: int
    fraction: Decimal | None  # None: never allocated
    status: AllocationStatus = AllocationStatus.ACTIVE
    paused_on: date | None = None


@dataclass(frozen=True, slots=True)
class Performance:
    strategy: str
    trades: int
    pnl: Decimal
    sharpe: Decimal | None
    win_rate: Decimal | None
    max_drawdown: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    strategy: str
    fraction: Decimal
    status: AllocationStatus
    reason: str
    paused_on: date | None = None


def performance(record: StrategyRecord, capital: Decimal) -> Performance:
    pnl = sum(record.daily_pnl, ZERO)
    return Performance(
        strategy=record.strategy,
        trades=record.trades,
        pnl=pnl,
        sharpe=sharpe_ratio(record.daily_pnl, capital),
        win_rate=Decimal(record.wins) / Decimal(record.trades) if record.trades else None,
        max_drawdown=max_drawdown(record.daily_pnl),
    )


def sharpe_ratio(daily_pnl: Sequence[Decimal], capital: Decimal) -> Decimal | None:
    """Annualised Sharpe of daily returns on ``capital``; None without two days or capital."""
    if len(daily_pnl) < 2 or capital <= ZERO:
        return None
    returns = [pnl / capital for pnl in daily_pnl]
    mean = sum(returns, ZERO) / len(returns)
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if variance == ZERO:
        return ZERO if mean == ZERO else (MAX_SHARPE if mean > ZERO else -MAX_SHARPE)
    return mean / variance.sqrt() * DAYS_PER_YEAR.sqrt()


def max_drawdown(daily_pnl: Sequence[Decimal]) -> Decimal:
    """Largest fall of cumulative P&L from its running peak (a positive number of dollars)."""
    peak = cumulative = worst = ZERO
    for pnl in daily_pnl:
        cumulative += pnl
        peak = max(peak, cumulative)
        worst = max(worst, peak - cumulative)
    return worst


def reallocate(
    records: Sequence[StrategyRecord],
    capital: Decimal,
    today: date,
    rules: TournamentRules = TournamentRules(),
) -> tuple[list[Allocation], list[Performance]]:
    """Apply the rules above; fractions sum to at most one."""
    performances = {record.strategy: performance(record, capital) for record in records}
    if all(record.fraction is None for record in records):
        share = ONE / len(records) if records else ZERO
        return (
            [
                Allocation(r.strategy, share, AllocationStatus.ACTIVE, "equal start")
                for r in records
            ],
            list(performances.values()),
        )

    decided: dict[str, Allocation] = {}
    ranked: list[tuple[Decimal, str]] = []
    for record in records:
        sharpe = performances[record.strategy].sharpe
        if record.status is AllocationStatus.PAUSED:
            if record.paused_on is not None and today - record.paused_on < timedelta(
                days=rules.pause_days
            ):
                decided[record.strategy] = Allocation(
                    record.strategy, ZERO, AllocationStatus.PAUSED, "paused", record.paused_on
                )
            else:
                decided[record.strategy] = _enter(record, rules, "re-enters after pause")
        elif record.fraction is None:
            decided[record.strategy] = _enter(record, rules, "new strategy")
        elif record.trades < rules.min_trades or sharpe is None:
            decided[record.strategy] = Allocation(
                record.strategy,
                record.fraction,
                AllocationStatus.ACTIVE,
                f"keeps share: {record.trades} trades < {rules.min_trades}",
            )
        else:
            ranked.append((sharpe, record.strategy))

    ranked.sort()
    bottom = {name for sharpe, name in ranked if sharpe < ZERO}
    if len(ranked) >= 3:
        bottom.add(ranked[0][1])
    current = {record.strategy: record.fraction or ZERO for record in records}
    for sharpe, name in ranked:
        if name not in bottom:
            continue
        halved = current[name] / 2
        if sharpe < rules.pause_sharpe or halved < rules.min_fraction:
            decided[name] = Allocation(
                name, ZERO, AllocationStatus.PAUSED, f"paused: Sharpe {sharpe:.2f}", today
            )
        else:
            decided[name] = Allocation(
                name, halved, AllocationStatus.ACTIVE, f"halved: bottom, Sharpe {sharpe:.2f}"
            )

    for sharpe, name in ranked:
        if name not in bottom and sharpe == ZERO:  # neither winner nor bottom
            decided[name] = Allocation(
                name, current[name], AllocationStatus.ACTIVE, "keeps share: Sharpe 0"
            )
    winners = [(sharpe, name) for sharpe, name in ranked if name not in bottom and sharpe > ZERO]
    remainder = max(ZERO, ONE - sum((a.fraction for a in decided.values()), ZERO))
    total_sharpe = sum((sharpe for sharpe, _ in winners), ZERO)
    for sharpe, name in winners:
        decided[name] = Allocation(
            name,
            remainder * sharpe / total_sharpe,
            AllocationStatus.ACTIVE,
            f"winner: share linear in Sharpe {sharpe:.2f}",
        )
    allocations = [decided[record.strategy] for record in records]
    return _quantize(_fit_to_one(allocations)), list(performances.values())


def _enter(record: StrategyRecord, rules: TournamentRules, reason: str) -> Allocation:
    return Allocation(record.strategy, rules.entry_fraction, AllocationStatus.ACTIVE, reason)


def _fit_to_one(allocations: list[Allocation]) -> list[Allocation]:
    """Scale down proportionally if kept shares and entries overshoot the whole."""
    total = sum((a.fraction for a in allocations), ZERO)
    if total <= ONE:
        return allocations
    return [
        Allocation(a.strategy, a.fraction / total, a.status, a.reason, a.paused_on)
        for a in allocations
    ]


def _quantize(allocations: list[Allocation]) -> list[Allocation]:
    """Six decimals, rounded down, so stored shares never sum to more than one."""
    return [
        Allocation(
            a.strategy,
            a.fraction.quantize(FRACTION_STEP, rounding=ROUND_FLOOR),
            a.status,
            a.reason,
            a.paused_on,
        )
        for a in allocations
    ]


def budgets_from(
    allocations: Mapping[str, Decimal], portfolio_value: Decimal
) -> dict[str, Decimal]:
    return {name: fraction * portfolio_value for name, fraction in allocations.items()}
