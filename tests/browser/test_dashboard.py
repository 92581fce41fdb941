"""The dashboard in a real browser: sign in with the token, open the seven views (screenshots
kept in test-results/dashboard/), watch an opportunity arrive live, press HALT_ALL, confirm,
see the halted state, acknowledge the emergency it raised, review a match, resume.

Everything is real: uvicorn on a free port, a seeded PostgreSQL, the Temporal dev server with a
worker running the risk guardian and the alert workflows, and Debian's Chromium."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.async_api import Browser, Page, expect
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from pmarb.domain.risk import RiskLimits
from pmarb.store.db import open_pool
from pmarb.workers.registry import WORKFLOWS, activities
from pmarb.workers.worker import workflow_runner
from pmarb.workflows.risk_guardian import WORKFLOW_ID, GuardianInput, RiskGuardianWorkflow
from tests.api.fixtures import api_settings
from tests.api.seed import seed
from tests.support import REPO, ServedApp

SHOTS = REPO / "test-results" / "dashboard"

VIEWS = [
    ("portfolio", "/", "Portfolio overview", "$500.45"),
    ("positions", "/positions", "Live positions", "+$0.50"),
    ("strategies", "/strategies", "Strategy leaderboard", "35.0%"),
    ("opportunities", "/opportunities", "Opportunity feed", "opp-1"),
    ("oracles", "/oracles", "Oracle and feed status", "HTTP 503 from api.weather.gov"),
    ("risk", "/risk", "Risk monitor", "STALE_QUOTE"),
    ("audit", "/audit", "Audit log", "opp-2"),
]


@dataclass
class Stack:
    url: str
    token: str
    pool: AsyncConnectionPool[Any]


@pytest.fixture
async def stack(
    database_url: str,
    db: psycopg.AsyncConnection[dict[str, Any]],
    temporal_env: WorkflowEnvironment,
    temporal_client: Client,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    await seed(db)
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    settings = api_settings(
        database_url,
        tmp_path / "data",
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=queue,
    )
    pool = await open_pool(database_url, max_size=4)
    try:
        async with Worker(
            temporal_client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            activities=activities(pool, temporal_client, settings),
            workflow_runner=workflow_runner(),
        ):
            guardian = await temporal_client.start_workflow(
                RiskGuardianWorkflow.run,
                GuardianInput(limits=RiskLimits()),
                id=WORKFLOW_ID,
                task_queue=queue,
            )
            try:
                async with ServedApp(create_app(settings), lifespan="on") as served:
                    yield Stack(served.url, token_path(settings.data_dir).read_text(), pool)
            finally:
                await guardian.terminate()
    finally:
        await pool.close()


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_trader_signs_in_watches_and_halts_everything(
    chromium: Browser, stack: Stack
) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's screenshots count
    context = await chromium.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{stack.url}/risk")
    await expect(page).to_have_url(re.compile(r"/login\?next=/risk$"))
    await page.fill("#token", "not the token")
    await page.click("#sign-in")
    await expect(page.get_by_text("That is not the API token.")).to_be_visible()
    await page.fill("#token", stack.token)
    await page.click("#sign-in")
    await expect(page).to_have_url(f"{stack.url}/risk")
    await expect(page.locator("#mode")).to_have_text("PAPER")
    await expect(page.locator("#trading-state")).to_contain_text("TRADING")

    for name, path, heading, seeded_value in VIEWS:
        await page.goto(f"{stack.url}{path}")
        await expect(page.locator("h1")).to_contain_text(heading)
        await expect(page.locator("main")).to_contain_text(seeded_value)
        await _shot(page, name)
    assert {p.stem for p in SHOTS.glob("*.png")} >= {v[0] for v in VIEWS}

    # The audit log links each trade to its workflow in the Temporal Web UI.
    await page.goto(f"{stack.url}/audit?strategy=atomic-arb")
    await expect(page.locator("a.workflow-link").first).to_have_attribute(
        "href", "http://127.0.0.1:8233/namespaces/default/workflows/opp-1"
    )

    # A new opportunity appears on the open feed without a reload (server-sent events).
    await page.goto(f"{stack.url}/opportunities")
    await expect(page.locator("#stream-state")).to_have_class(re.compile(r"\bconnected"))
    await _insert_opportunity(stack, "opp-live-1")
    await expect(page.locator('tr[data-id="opp-live-1"]')).to_contain_text(
        "cross_venue", timeout=10_000
    )

    # HALT_ALL: the button opens a confirmation; cancelling changes nothing.
    await page.goto(f"{stack.url}/")
    await page.click("#halt-all")
    await expect(page.locator("#halt-dialog")).to_be_visible()
    await page.click("[data-close-dialog=halt-dialog]")
    await expect(page.locator("#halt-dialog")).to_be_hidden()
    assert not await _halted(stack)
    await page.click("#halt-all")
    await page.fill("#halt-reason", "browser test: runaway leg")
    await page.click("#confirm-halt")
    banner = page.locator("#halted-banner")
    await expect(banner).to_contain_text("TRADING HALTED")
    await expect(banner).to_contain_text("browser test: runaway leg")
    await expect(page.locator("#flash")).to_contain_text("in-flight lifecycles cancelled")
    await expect(page.locator("#trading-state")).to_contain_text("HALTED")
    await expect(page.locator("#halt-all")).to_have_count(0)
    await expect(page).to_have_title(re.compile("HALTED"))
    assert await _halted(stack)
    await _shot(page, "halted")

    # The halt raised an emergency alert; acknowledging it from the dashboard stops it.
    await page.goto(f"{stack.url}/alerts")
    emergency = page.locator("tr.tier-row-emergency")
    for _ in range(30):  # the guardian raises it through an activity: give it a moment
        if await emergency.count():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(emergency).to_contain_text("HALT_ALL: trading halted")
    await emergency.get_by_role("button", name="Acknowledge").click()
    await expect(page.locator("#flash")).to_contain_text("acknowledged")
    await expect(page.locator("tr.tier-row-emergency")).to_have_count(0)

    # The match review queue: confirm the pending pair (after the browser's confirm()).
    await page.goto(f"{stack.url}/matches")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("#flash")).to_contain_text("confirmed")
    await _shot(page, "matches")

    # Resume, and the halted state is gone.
    await page.goto(f"{stack.url}/")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.fill("#halted-banner input[name=reason]", "browser test over")
    await page.click("#resume")
    await expect(page.locator("#halted-banner")).to_have_count(0)
    await expect(page.locator("#trading-state")).to_contain_text("TRADING")
    await context.close()


async def _halted(stack: Stack) -> bool:
    async with stack.pool.connection() as conn:
        row = await (await conn.execute("select halted from risk_state")).fetchone()
    return bool(row and row["halted"])


async def _insert_opportunity(stack: Stack, opportunity_id: str) -> None:
    now = datetime.now(UTC)
    async with stack.pool.connection() as conn:
        await conn.execute(
            """
            insert into opportunities (id, kind, detected_at, expires_at, edge, size, legs,
                                       quotes, status, workflow_id)
            values (%s, 'cross_venue', %s, %s, 0.027, 12, '[]', '[]', 'detected', %s)
            """,
            (opportunity_id, now, now + timedelta(seconds=20), opportunity_id),
        )
