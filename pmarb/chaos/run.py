"""One chaos run: start the cluster, drive lifecycles, kill things at aimed points, check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from pmarb.chaos.checks import Findings, check
from pmarb.chaos.cluster import Cluster, ClusterEndpoints
from pmarb.chaos.lifecycles import (
    SHAPES,
    STRATEGY,
    LifecycleView,
    Pair,
    describe,
    start_lifecycle,
)
from pmarb.config import Settings
from pmarb.lifecycle.program import LifecycleResult
from pmarb.venues.settings import VenueSettings
from pmarb.workers.client import connect_client

# Where a kill is aimed, in turn: the activity (or stage) that should be running when it lands.
AIMS: tuple[str, ...] = ("place_orders", "between_legs", "unwind", "close_trade")
AIM_TIMEOUT = 10.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ChaosConfig:
    lifecycles: int
    kills: int
    seed: int = 0
    postgres_outage_seconds: float = 30.0
    concurrency: int = 4
    settle_timeout: float = 420.0
    data_dir: Path | None = None  # a fresh temporary directory when unset
    keep_data: bool = False


@dataclass
class ChaosReport:
    lifecycles: int
    kills: int
    terminal: int
    duplicates: int
    mismatches: int
    naked_legs: int
    lost: int
    seconds: float
    kills_by_aim: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)
    not_terminal: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.terminal == self.lifecycles
            and self.duplicates == 0
            and self.mismatches == 0
            and self.naked_legs == 0
            and self.lost == 0
        )

    def counters(self) -> dict[str, int]:
        return {
            "lifecycles": self.lifecycles,
            "kills": self.kills,
            "terminal": self.terminal,
            "duplicates": self.duplicates,
            "mismatches": self.mismatches,
            "naked_legs": self.naked_legs,
            "lost": self.lost,
        }


def venue_settings_from_env(env: dict[str, str]) -> VenueSettings:
    """The venue settings the pmarb processes read from their ``PMARB_VENUES__*`` variables."""
    prefix = "PMARB_VENUES__"
    nested: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(prefix):
            continue
        *path, leaf = key[len(prefix) :].lower().split("__")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return VenueSettings.model_validate(nested)


class ChaosRun:
    def __init__(self, config: ChaosConfig, report: Callable[[str], None]) -> None:
        self.config = config
        self.say = report
        self.random = random.Random(config.seed)
        self.run_id = uuid.uuid4().hex[:6]
        self.started: list[str] = []
        self.in_flight: set[str] = set()
        self.kills_by_aim: Counter[str] = Counter()
        self.kills_done = 0
        self._progress = asyncio.Condition()

    async def run(self) -> ChaosReport:
        began = time.monotonic()
        if self.config.data_dir is not None:
            return await self._run_in(self.config.data_dir, began)
        data_dir = Path(tempfile.mkdtemp(prefix="pmarb-chaos-"))
        keep = self.config.keep_data
        try:
            report = await self._run_in(data_dir, began)
            keep = keep or not report.ok  # a failed run keeps its logs and databases
            return report
        except BaseException:
            keep = True
            raise
        finally:
            if keep:
                self.say(f"data and logs kept in {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)

    async def _run_in(self, data_dir: Path, began: float) -> ChaosReport:
        cluster = Cluster(data_dir, self.say)
        self.say(f"starting PostgreSQL, Temporal, the simulator, worker, marketdata in {data_dir}")
        try:
            endpoints = await cluster.start()
            self.say(f"cluster up in {time.monotonic() - began:.0f}s")
            since = datetime.now(UTC)
            client = await connect_client(endpoints.temporal_address)
            pair = await Pair.load(endpoints.sim_admin_url, endpoints.database_url)
            await pair.inject_gap()
            await asyncio.sleep(1.0)
            task_queue = Settings().marketdata_task_queue
            driver = asyncio.create_task(self._drive(client, pair, task_queue))
            chaos = asyncio.create_task(self._chaos(cluster, client))
            await asyncio.gather(driver, chaos)
            self.say("all lifecycles started and all faults done; waiting for them to settle")
            views = await self._settle(client)
            return await self._report(client, endpoints, views, since, began)
        finally:
            await cluster.stop()

    # -- lifecycles ---------------------------------------------------------------------------

    async def _drive(self, client: Client, pair: Pair, task_queue: str) -> None:
        total = self.config.lifecycles
        for number in range(total):
            while len(self.in_flight) >= self.config.concurrency:
                await self._prune(client)
                await asyncio.sleep(0.1)
            workflow_id = await self._launch(client, pair, task_queue, number)
            async with self._progress:
                self.started.append(workflow_id)
                self.in_flight.add(workflow_id)
                self._progress.notify_all()
            if (number + 1) % 10 == 0 or number + 1 == total:
                self.say(f"lifecycles started {number + 1}/{total}, kills {self.kills_done}")

    async def _launch(self, client: Client, pair: Pair, task_queue: str, number: int) -> str:
        """Price and start one lifecycle, retrying through a Temporal restart or a simulator
        hiccup as a scanner would."""
        shape = SHAPES[number % len(SHAPES)]
        for attempt in range(600):
            try:
                opportunity = await pair.opportunity(number, shape, self.run_id)
                await start_lifecycle(client, opportunity, STRATEGY[shape], task_queue)
                return opportunity.workflow_id
            except WorkflowAlreadyStartedError:
                return opportunity.workflow_id  # the start got through; its reply did not
            except (RPCError, httpx.TransportError) as e:
                if attempt == 599:
                    raise
                if attempt % 20 == 0:
                    self.say(f"lifecycle {number} not started yet ({type(e).__name__}); retrying")
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def _prune(self, client: Client) -> list[LifecycleView]:
        views = await asyncio.gather(*(describe(client, w) for w in self.in_flight))
        for view in views:
            if view.settled:
                self.in_flight.discard(view.workflow_id)
        return list(views)

    async def _settle(self, client: Client) -> dict[str, LifecycleView]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.settle_timeout
        while self.in_flight and loop.time() < deadline:
            await self._prune(client)
            await asyncio.sleep(0.5)
        views = await asyncio.gather(*(describe(client, w) for w in self.started))
        return {view.workflow_id: view for view in views}

    # -- faults -------------------------------------------------------------------------------

    async def _chaos(self, cluster: Cluster, client: Client) -> None:
        kills = self.config.kills
        temporal_at = kills // 3
        postgres_at = (2 * kills) // 3
        for index in range(kills):
            await self._wait_for_progress((index + 1) / (kills + 1))
            if index == temporal_at:
                self.say("restarting the Temporal dev server")
                await cluster.restart_temporal()
                self.say("Temporal is back")
            if index == postgres_at:
                seconds = self.config.postgres_outage_seconds
                self.say(f"stopping PostgreSQL for {seconds:.0f}s")
                await cluster.stop_postgres(seconds)
                self.say("PostgreSQL is back")
            aim = AIMS[index % len(AIMS)]
            hit = await self._aim(client, aim)
            seen = cluster.ready_count()
            pid = cluster.kill("marketdata")
            self.kills_done += 1
            self.kills_by_aim[hit] += 1
            self.say(f"kill {self.kills_done}/{kills}: SIGKILL marketdata (pid {pid}) at {hit}")
            await cluster.wait_marketdata_ready(seen)

    async def _wait_for_progress(self, share: float) -> None:
        """Spread the faults over the run: wait until this share of lifecycles has started."""
        target = max(1, int(self.config.lifecycles * share))
        async with self._progress:
            await self._progress.wait_for(lambda: len(self.started) >= target)

    async def _aim(self, client: Client, aim: str) -> str:
        """Wait (a while) for a lifecycle to be at ``aim``; say where the kill actually lands."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AIM_TIMEOUT + self.random.random()
        while loop.time() < deadline:
            with contextlib.suppress(Exception):
                for view in await self._prune(client):
                    if aim == "between_legs" and view.stage == "hedge" and not view.pending:
                        return "between legs"
                    if aim in view.pending:
                        return f"during {aim}"
            await asyncio.sleep(POLL_SECONDS)
        return "random (nothing at the aim in time)"

    # -- the verdict ----------------------------------------------------------------------------

    async def _report(
        self,
        client: Client,
        endpoints: ClusterEndpoints,
        views: dict[str, LifecycleView],
        since: datetime,
        began: float,
    ) -> ChaosReport:
        outcomes: Counter[str] = Counter()
        not_terminal: list[str] = []
        for workflow_id, view in views.items():
            if view.holding:
                outcomes["holding"] += 1
                continue
            status = view.status.name.lower() if view.status else "unknown"
            if status == "completed":
                result = await client.get_workflow_handle(
                    workflow_id, result_type=LifecycleResult
                ).result()
                rejected = result.status.value == "rejected" and result.reason
                outcomes[f"rejected: {result.reason}" if rejected else result.status.value] += 1
                continue
            outcomes[status] += 1
            not_terminal.append(f"{workflow_id}: {status} at stage {view.stage}")
        findings = await check(
            endpoints.sim_admin_url,
            endpoints.database_url,
            venue_settings_from_env(endpoints.env),
            self.started,
            since,
        )
        return ChaosReport(
            lifecycles=len(self.started),
            kills=self.kills_done,
            terminal=len(self.started) - len(not_terminal),
            duplicates=len(findings.duplicates),
            mismatches=len(findings.mismatches),
            naked_legs=len(findings.naked_legs),
            lost=len(findings.lost),
            seconds=time.monotonic() - began,
            kills_by_aim=dict(self.kills_by_aim),
            outcomes=dict(outcomes),
            findings=findings,
            not_terminal=not_terminal,
        )


def print_report(report: ChaosReport, say: Callable[[str], None]) -> None:
    """Evidence first, the one-line JSON verdict last."""
    say(f"outcomes: {json.dumps(report.outcomes, sort_keys=True)}")
    say(f"kills by aim: {json.dumps(report.kills_by_aim, sort_keys=True)}")
    say(f"orders accepted by the simulator: {report.findings.orders_at_venues}")
    for title, items in (
        ("not terminal", report.not_terminal),
        ("duplicate orders", report.findings.duplicates),
        ("position mismatches", report.findings.mismatches),
        ("naked legs", report.findings.naked_legs),
        ("lost records", report.findings.lost),
    ):
        for item in items[:20]:
            say(f"{title}: {item}")
    say(f"wall time {report.seconds:.0f}s — {'PASS' if report.ok else 'FAIL'}")
    print(json.dumps(report.counters()), flush=True)
