"""Every enabled strategy bids; the best expected profit per unit of risk wins."""

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


def choose_bid(
    opportunity: Opportunity,
    budgets: Sequence[StrategyBudget],
    now: datetime,
    market_cap: Decimal | None = None,
) -> Bid | None:
    """The winning bid, or None. Ties go to the larger profit, then to the name (determinism)."""
    bids = collect_bids(opportunity, budgets, now, market_cap)
    if not bids:
        return None
    return max(bids, key=lambda bid: (bid.score, bid.expected_profit, _reverse_name(bid)))


def _reverse_name(bid: Bid) -> tuple[int, ...]:
    return tuple(-ord(char) for char in bid.strategy)


def equal_budgets(bankroll: Decimal) -> list[StrategyBudget]:
    """The tournament's starting point: every strategy gets the same share."""
    share = bankroll / len(STRATEGIES)
    return [StrategyBudget(name, share) for name in STRATEGIES]
