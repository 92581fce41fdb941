from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from temporalio.converter import WorkflowSerializationContext

from pmarb.strategies.base import StrategyBudget
from pmarb.workers.converter import _adapter, data_converter


def test_decimal_round_trips_exactly() -> None:
    budget = StrategyBudget("atomic-arb", Decimal("1234.567890123456789"))
    (payload,) = data_converter.payload_converter.to_payloads([budget])
    (back,) = data_converter.payload_converter.from_payloads([payload], [StrategyBudget])
    assert back == budget
    assert isinstance(back.capital, Decimal)


def test_every_workflow_context_shares_one_schema_per_type() -> None:
    """The worker derives a converter per workflow run; none of them may rebuild a schema."""
    when = datetime(2026, 11, 26, tzinfo=UTC)
    payloads = data_converter.payload_converter.to_payloads([when])
    data_converter.payload_converter.from_payloads(payloads, [datetime])
    before = _adapter.cache_info()
    for run in range(5):
        context = WorkflowSerializationContext(namespace="default", workflow_id=f"wf-{run}")
        converter = data_converter.with_context(context).payload_converter
        assert converter.from_payloads(payloads, [datetime]) == [when]
    after = _adapter.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (5, 0)
