"""Golden OpportunityWorkflow histories, replayed in CI so a non-deterministic change fails.

The lifecycle tests that produce each path (``tests/marketdata/test_lifecycle.py``) write their
workflow's history here when ``PMARB_RECORD_GOLDEN=1``; re-record only when a workflow change is
deliberately incompatible (and then version it with ``workflow.patched``), never to make the replay
test pass.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import Client

GOLDEN_DIR = Path(__file__).parent
GOLDEN_PATHS = ("happy", "unwind", "halt")
# Histories recorded by earlier workflow versions, kept verbatim: a workflow still running since
# then (an arb holds until its market resolves) must replay on today's code.
EARLIER_VERSIONS = ("v1-remote-opening-orders",)


def golden_file(name: str, version: str | None = None) -> Path:
    return (GOLDEN_DIR / version if version else GOLDEN_DIR) / f"{name}.json"


async def record_golden(client: Client, workflow_id: str, name: str) -> None:
    """Write the workflow's history as the golden ``name`` path when recording is switched on."""
    if os.environ.get("PMARB_RECORD_GOLDEN") != "1":
        return
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    golden_file(name).write_text(history.to_json())
