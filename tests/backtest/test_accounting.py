"""The report's money reconciles exactly: portfolio P&L is the change in value, the strategies'
P&L add up to it, every fee is inside a P&L, open positions are marked and counted."""

from __future__ import annotations

from decimal import Decimal as D
from functools import cache
from typing import Any

import pytest

from pmarb.backtest.engine import Backtest, BacktestConfig, BacktestResult, Decision
from pmarb.backtest.events import Dataset, Resolution
from pmarb.backtest.report import summarise_result
from pmarb.backtest.synthetic import ScenarioSettings, scenario
from pmarb.domain.parity import Outcome
from pmarb.domain.risk import RiskLimits

ROOMY = RiskLimits(bankroll=D("20000"))
DEFAULT = RiskLimits()


@cache
def world(seed: int) -> Dataset:
    return scenario(ScenarioSettings(hours=3, seed=seed))


@cache
def run(seed: int, roomy: bool) -> tuple[BacktestResult, dict[str, Any]]:
    result = Backtest(world(seed), BacktestConfig(limits=ROOMY if roomy else DEFAULT)).run()
    return result, summarise_result(result)


CASES = [(seed, roomy) for seed in (1, 2, 3, 4) for roomy in (True, False)]


@pytest.mark.parametrize(("seed", "roomy"), CASES)
def test_portfolio_pnl_is_the_change_in_value_and_the_strategies_add_up(
    seed: int, roomy: bool
) -> None:
    _, summary = run(seed, roomy)
    portfolio = summary["portfolio"]
    assert D(portfolio["pnl"]) == D(portfolio["final_value"]) - D(portfolio["bankroll"])
    assert D(portfolio["pnl"]) == D(portfolio["realized_pnl"]) + D(portfolio["unrealized_pnl"])
    strategies = summary["strategies"].values()
    for field in ("pnl", "realized_pnl", "unrealized_pnl", "fees"):
        assert sum((D(s[field]) for s in strategies), D(0)) == D(portfolio[field]), field
    assert sum(s["trades"] for s in strategies) == portfolio["trades"]
    # What is still open at the end is in the value: cash plus every open position's mark.
    open_value = sum((D(p["value"]) for p in portfolio["open"]), D(0))
    assert D(portfolio["final_value"]) == D(portfolio["cash"]) + open_value
    assert all(p["basis"] in ("payout", "mid", "bid", "ask", "cost") for p in portfolio["open"])


@pytest.mark.parametrize(("seed", "roomy"), CASES)
def test_every_trade_pays_its_fees_and_the_trades_add_up(seed: int, roomy: bool) -> None:
    result, summary = run(seed, roomy)
    trades = summary["trades"]
    closed = [t for t in trades if t["closed_at"] is not None]
    still_open = [t for t in trades if t["closed_at"] is None]
    portfolio = summary["portfolio"]
    assert sum((D(t["pnl"]) for t in closed), D(0)) == D(portfolio["realized_pnl"])
    assert sum((D(t["unrealized_pnl"]) for t in still_open), D(0)) == D(portfolio["unrealized_pnl"])
    assert sum((D(t["fees"]) for t in trades), D(0)) == D(portfolio["fees"])
    # A closed trade's P&L, recomputed from its orders: sales − purchases − fees + payouts.
    payouts = {
        (e.venue.value, e.market_id): e.outcome
        for e in world(seed).replay()
        if isinstance(e, Resolution)
    }
    by_id = {d.workflow_id: d for d in result.decisions}
    for row in closed:
        decision = by_id[row["workflow_id"]]
        assert decision.opportunity is not None
        cash = D(0)
        for order in decision.orders:
            notional = order.filled * (order.average_price or D(0))
            cash += notional if order.side == "sell" else -notional
            cash -= order.fees
        for (venue, market, outcome), size in _holdings(decision).items():
            yes_won = payouts[(venue, market)] is Outcome.YES
            cash += size if yes_won == (outcome == "yes") else D(0)
        assert D(row["pnl"]) == cash.quantize(D("1e-8")), row["workflow_id"]
    # The worlds traded and some trades lost money to unwinds or fees: the checks mean something.
    assert closed
    assert roomy is False or any(t["status"] in ("unwound", "closed") for t in trades)


def _holdings(decision: Decision) -> dict[tuple[str, str, str], D]:
    """What a lifecycle's orders left it holding, by (venue, market, outcome)."""
    held: dict[tuple[str, str, str], D] = {}
    assert decision.opportunity is not None
    by_leg = {
        leg.name: (leg.venue.value, leg.market_id, leg.outcome.value)
        for leg in decision.opportunity.legs
    }
    for order in decision.orders:
        key = by_leg[order.leg]
        signed = order.filled if order.side == "buy" else -order.filled
        held[key] = held.get(key, D(0)) + signed
    return {key: size for key, size in held.items() if size != 0}
