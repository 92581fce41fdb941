"""The fast path against the real OpportunityWorkflow on the time-skipping server."""

from __future__ import annotations

from decimal import Decimal as D

from temporalio.testing import WorkflowEnvironment

from pmarb.backtest.engine import Backtest, BacktestConfig
from pmarb.backtest.lifecycle import run_lifecycles, sample_of
from pmarb.backtest.synthetic import ScenarioSettings, scenario
from pmarb.domain.risk import RiskLimits


async def test_lifecycles_through_the_workflow_trade_exactly_as_the_fast_path(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    data = scenario(ScenarioSettings(hours=8, seed=1))
    result = Backtest(data, BacktestConfig(limits=RiskLimits(bankroll=D("20000")))).run()
    sample = sample_of(result, 30)
    assert len(sample) >= 20
    report = await run_lifecycles(time_skipping_env.client, data, result, sample)
    assert report["disagreements"] == []
    assert report["agree"] and report["sample"] >= 20
    # The sample holds real trades and other outcomes, not only opportunities nobody took.
    assert report["trades"] >= 10
    assert {"settled", "no_fill"} <= set(report["statuses"])
