"""Replays the recorded OpportunityWorkflow histories against today's workflow code."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from pmarb.workers.converter import data_converter
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.opportunity import OpportunityWorkflow
from tests.workflows.golden import EARLIER_VERSIONS, GOLDEN_PATHS, golden_file


def load(name: str, version: str | None) -> WorkflowHistory:
    text = golden_file(name, version).read_text()
    started = json.loads(text)["events"][0]
    assert started["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    workflow_type = started["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
    assert workflow_type == "OpportunityWorkflow", f"{name}.json is a {workflow_type} history"
    return WorkflowHistory.from_json(f"golden-{name}", text)


@pytest.mark.parametrize("version", [None, *EARLIER_VERSIONS], ids=["current", *EARLIER_VERSIONS])
@pytest.mark.parametrize("name", GOLDEN_PATHS)
async def test_golden_history_replays_deterministically(name: str, version: str | None) -> None:
    history = load(name, version)
    completed = [
        e for e in history.events if e.HasField("workflow_execution_completed_event_attributes")
    ]
    assert completed, f"{name}.json does not end in a completed workflow"
    replayer = Replayer(
        workflows=[OpportunityWorkflow],
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
