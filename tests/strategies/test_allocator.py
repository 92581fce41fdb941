from decimal import Decimal as D

from pmarb.strategies.allocator import STRATEGIES, choose_bid, collect_bids, equal_budgets
from pmarb.strategies.base import StrategyBudget
from tests.strategies.builders import NOW, bundle, oracle


def test_five_strategies_compete() -> None:
    assert set(STRATEGIES) == {
        "oracle-sniper",
        "oracle-patient",
        "atomic-arb",
        "leg-and-hedge",
        "mean-reversion",
    }


def test_best_score_wins_within_budgets() -> None:
    budgets = equal_budgets(D("500"))
    assert choose_bid(bundle("0.40", "0.50"), budgets, NOW).strategy == "atomic-arb"  # type: ignore[union-attr]


def test_a_strategy_without_budget_cannot_win() -> None:
    budgets = [StrategyBudget("atomic-arb", D("0")), StrategyBudget("leg-and-hedge", D("100"))]
    bid = choose_bid(bundle("0.40", "0.50"), budgets, NOW)
    assert bid is not None and bid.strategy == "leg-and-hedge"
    paused = [StrategyBudget("atomic-arb", D("100"), active=False)]
    assert choose_bid(bundle("0.40", "0.50"), paused, NOW) is None


def test_oracle_lag_draws_several_bidders() -> None:
    names = {b.strategy for b in collect_bids(oracle("0.40", "0.60"), equal_budgets(D("500")), NOW)}
    assert names == {"oracle-sniper", "oracle-patient", "mean-reversion"}


def test_no_bid_for_a_fair_market() -> None:
    assert choose_bid(bundle("0.50", "0.50"), equal_budgets(D("500")), NOW) is None
