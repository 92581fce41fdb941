"""Every enabled strategy bids; the best expected profit per unit of worst-case loss wins.

A bid's score is ``expected_profit / max_loss`` (:attr:`pmarb.domain.bid.Bid.score`). Worked
example, a cross-venue gap of 100 contracts at YES 0.40 + NO 0.50 with $1.68 of fees:

- atomic-arb expects 100 × (1 − 0.90) − 1.68 = $8.32 and risks an unwind of one leg, 100 ×
  0.04 + 1.68 = $5.68: score 8.32 / 5.68 = 1.46;
- leg-and-hedge pays up to a cent more on its hedge, 100 × (1 − 0.91) − 1.68 = $7.32, and risks
  a naked first leg, 100 × 0.08 + 1.68 = $9.68: score 0.76.

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
from pmarb.strategies.base import BidContext, StrategyBudget, StrategyFn
from pmarb.strategies.oracle import mean_reversion, oracle_patient, oracle_sniper

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
    market_cap: Decimal | None = None,
) -> list[Bid]:
    bids = []
    for budget in budgets:
        strategy = STRATEGIES.get(budget.strategy)
        if strategy is None or not budget.active or budget.capital <= ZERO:
            continue
        bid = strategy(opportunity, BidContext(budget.capital, now, market_cap))
        if bid is not None and bid.expected_profit > ZERO and bid.capital <= budget.capital:
            bids.append(bid)
    return bids


def rank_bids(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    market_cap: Decimal | None = None,
) -> list[Bid]:
    """Every strategy's bid, best first (score, then profit, then name)."""
    bids = collect_bids(opportunity, budgets, now, market_cap)
    return sorted(
        bids, key=lambda bid: (bid.score, bid.expected_profit, _reverse_name(bid)), reverse=True
    )


def choose_bid(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    market_cap: Decimal | None = None,
) -> Bid | None:
    """The winning bid, or None."""
    ranked = rank_bids(opportunity, budgets, now, market_cap)
    return ranked[0] if ranked else None


def _reverse_name(bid: Bid) -> tuple[int, ...]:
    return tuple(-ord(char) for char in bid.strategy)


def equal_budgets(bankroll: Decimal) -> list[StrategyBudget]:
    """The tournament's starting point: every strategy gets the same share."""
    share = bankroll / len(STRATEGIES)
    return [StrategyBudget(name, share) for name in STRATEGIES]
