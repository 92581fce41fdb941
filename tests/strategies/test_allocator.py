from collections.abc import Generator
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest

from pmarb.lifecycle.program import Interruption, LifecycleStatus, OpportunityLifecycle
from pmarb.lifecycle.steps import CheckRisk, EnterStage
from pmarb.strategies.allocator import (
    STRATEGIES,
    choose_bid,
    collect_bids,
    equal_budgets,
    rank_bids,
)
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


def test_bids_are_ranked_by_profit_per_unit_of_worst_case_loss() -> None:
    ranked = rank_bids(bundle("0.40", "0.50"), equal_budgets(D("500")), NOW)
    assert [b.strategy for b in ranked] == ["atomic-arb", "leg-and-hedge"]
    # The worked example in pmarb/strategies/allocator.py.
    atomic, legged = ranked
    assert (atomic.expected_profit, atomic.max_loss) == (D("6.57"), D("7.43"))
    assert (legged.expected_profit, legged.max_loss) == (D("5.5567"), D("11.4433"))
    assert round(atomic.score, 2) == D("0.88") and round(legged.score, 2) == D("0.49")


@dataclass(frozen=True)
class Verdict:
    approved: bool
    reason: str


def _lifecycle() -> OpportunityLifecycle:
    return OpportunityLifecycle(
        bundle("0.40", "0.50"),
        equal_budgets(D("500")),
        workflow_id="opp-test",
        clock=lambda: NOW,
        classify=lambda error: Interruption(LifecycleStatus.UNWOUND, reraise=True),
    )


def _until_risk_check(program: Generator[Any, Any, Any], first: Any = None) -> CheckRisk:
    step = program.send(first) if first is not None else next(program)
    while not isinstance(step, CheckRisk):
        step = program.send(None)
    return step


def test_a_bid_whose_strategy_is_out_of_budget_gives_way_to_the_next() -> None:
    program = _lifecycle().run()
    first = _until_risk_check(program)
    assert first.bid.strategy == "atomic-arb"
    second = _until_risk_check(program, Verdict(False, "STRATEGY_BUDGET"))
    assert second.bid.strategy == "leg-and-hedge"
    assert program.send(Verdict(True, "APPROVED")) == EnterStage("legs")


def test_a_limit_every_bid_would_meet_rejects_at_once() -> None:
    program = _lifecycle().run()
    _until_risk_check(program)
    assert program.send(Verdict(False, "MARKET_LIMIT")) == EnterStage("rejected")
    with pytest.raises(StopIteration) as done:
        next(program)
    assert done.value.value.status is LifecycleStatus.REJECTED


def test_when_every_bidder_is_out_of_budget_the_opportunity_is_rejected() -> None:
    program = _lifecycle().run()
    _until_risk_check(program)
    _until_risk_check(program, Verdict(False, "STRATEGY_BUDGET"))
    assert program.send(Verdict(False, "STRATEGY_BUDGET")) == EnterStage("rejected")
    with pytest.raises(StopIteration) as done:
        next(program)
    result = done.value.value
    assert (result.status, result.strategy, result.reason) == (
        LifecycleStatus.REJECTED,
        "leg-and-hedge",
        "STRATEGY_BUDGET",
    )
