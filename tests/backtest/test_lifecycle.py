"""The backtest's driver against the real OpportunityWorkflow on the time-skipping server: one
lifecycle program, two drivers, the same orders, fills and P&L."""

from __future__ import annotations

from decimal import Decimal as D

from temporalio.testing import WorkflowEnvironment

from pmarb.backtest.engine import Backtest, BacktestConfig
from pmarb.backtest.lifecycle import run_lifecycles, sample_of
from pmarb.backtest.synthetic import ScenarioSettings, scenario
from pmarb.domain.bid import ExecutionStyle
from pmarb.domain.risk import RiskLimits


async def test_lifecycles_through_the_workflow_trade_exactly_as_the_fast_path(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    data = scenario(ScenarioSettings(hours=8, seed=1))
    result = Backtest(data, BacktestConfig(limits=RiskLimits(bankroll=D("20000")))).run()
    sample = sample_of(result, 20)
    assert len(sample) >= 15
    report = await run_lifecycles(time_skipping_env.client, data, result, sample, per_style=2)
    assert report["disagreements"] == []
    assert report["agree"] and report["sample"] >= 15
    # The sample holds real trades and other outcomes, not only opportunities nobody took.
    assert report["trades"] >= 10
    assert {"settled", "no_fill", "closed"} <= set(report["statuses"])
    # Every execution style was driven both ways, not only the ones that won allocations.
    assert set(report["styles"]) == {style.value for style in ExecutionStyle}
    assert report["styles_missing"] == []
    assert all(counts["agreed"] == counts["cases"] >= 1 for counts in report["styles"].values())
