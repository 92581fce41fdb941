"""Every enabled strategy bids; the best expected profit per unit of worst-case loss wins.

A bid's score is ``expected_profit / max_loss`` (:attr:`pmarb.domain.bid.Bid.score`). Worked
example (checked by ``tests/strategies/test_allocator.py``): a cross-venue gap of 100 contracts,
YES on Polymarket at 0.40 (taker fee $1.68) and NO on Kalshi at 0.50 (fee $1.75):

- atomic-arb sends both legs fill-or-kill. It expects 100 × (1 − 0.90) − 3.43 = $6.57 and at
  worst unwinds one filled leg, 100 × 0.04 + 3.43 = $7.43: score 6.57 / 7.43 = 0.88;
- leg-and-hedge takes the NO leg first and lets the hedge pay up to 0.41 (fee $1.6933): it
  expects 100 × (1 − 0.91) − 3.4433 = $5.5567 and risks a naked first leg, 100 × 0.08 + 3.4433
  = $11.4433: score 0.49.

atomic-arb wins. Ties go to the larger expected profit, then to the name, so the choice is
deterministic. Bids come ranked (:func:`rank_bids`): when the risk guardian finds the winner's
strategy out of budget, the lifecycle offers the next bid instead of giving up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from pmarb.domain.bid import Bid
from pmarb.domain.money import ZERO
from pmarb.domain.opportunity import Opportunity
from pmarb.strategies.arbitrage import atomic_arb, leg_and_hedge
from pmarb.strategies.base import BidContext, SizingLimits, StrategyBudget, StrategyFn
from pmarb.strategies.oracle import mean_reversion, oracle_patient, oracle_sniper

NO_LIMITS = SizingLimits()

STRATEGIES: Mapping[str, StrategyFn] = {
    "oracle-sniper": oracle_sniper,
    "oracle-patient": oracle_patient,
    "atomic-arb": atomic_arb,
    "leg-and-hedge": leg_and_hedge,
    "mean-reversion": mean_reversion,
}


def collect_bids(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    sizing: SizingLimits = NO_LIMITS,
) -> list[Bid]:
    bids = []
    for budget in budgets:
        strategy = STRATEGIES.get(budget.strategy)
        if strategy is None or not budget.active or budget.capital <= ZERO:
            continue
        bid = strategy(opportunity, BidContext.within(budget.capital, now, sizing))
        if bid is not None and bid.expected_profit > ZERO and bid.capital <= budget.capital:
            bids.append(bid)
    return bids


def rank_bids(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    sizing: SizingLimits = NO_LIMITS,
) -> list[Bid]:
    """Every strategy's bid, best first (score, then profit, then name)."""
    bids = collect_bids(opportunity, budgets, now, sizing)
    return sorted(
        bids, key=lambda bid: (bid.score, bid.expected_profit, _reverse_name(bid)), reverse=True
    )


def choose_bid(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    sizing: SizingLimits = NO_LIMITS,
) -> Bid | None:
    """The winning bid, or None."""
    ranked = rank_bids(opportunity, budgets, now, sizing)
    return ranked[0] if ranked else None


def _reverse_name(bid: Bid) -> tuple[int, ...]:
    return tuple(-ord(char) for char in bid.strategy)


def equal_budgets(bankroll: Decimal) -> list[StrategyBudget]:
    """The tournament's starting point: every strategy gets the same share."""
    share = bankroll / len(STRATEGIES)
    return [StrategyBudget(name, share) for name in STRATEGIES]
