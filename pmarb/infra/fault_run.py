"""A bounded demo run under random venue faults, judged from outside the trading code.

``pmarb demo --venue-faults P --duration S`` starts the demo, lets the simulator inject random
faults (disconnects, silent feeds, 429/425/5xx, malformed frames, Kalshi seq gaps) with
probability ``P`` per simulator step, then turns them off and checks three things:

- nothing crashed: no child process exited on its own;
- nothing traded on a stale book: the simulator's own record of each silence (a feed that
  keeps answering pings but sends no data) is set against the fills and oracle trades in the
  ledger — a fill on a silenced venue, or an oracle-lag trade while the exchange feed was silent,
  once the silence is older than the stale limit, is a trade on a stale book;
- every feed recovered: once the faults stop, every feed is connected and fresh again.

The figures are printed as a table and, last, as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from pmarb.infra.supervisor import Supervisor
from pmarb.sim.faults import FAMILIES as SERVER_FAMILIES
from pmarb.store.db import connect
from pmarb.store.feed_health import FeedHealthRow, read_feed_health

# The venue families a fault can hit, from the simulator's own server map.
FAMILIES = tuple(sorted(set(SERVER_FAMILIES.values())))
PROGRESS_SECONDS = 30.0
# Time the client may take to notice a silence beyond the stale limit itself (feed health is
# checked on a timer, a fill already past its check completes).
NOTICE_MARGIN_SECONDS = 1.5


@dataclass(frozen=True, slots=True)
class SilenceWindow:
    family: str
    start: float  # Unix seconds
    end: float


@dataclass(frozen=True, slots=True)
class TimedTrade:
    family: str  # the venue filled on, or "binance" for an oracle-lag trade's oracle
    at: float  # Unix seconds
    label: str


def silence_windows(history: Iterable[Mapping[str, Any]]) -> list[SilenceWindow]:
    """The silences in the simulator's fault history, one window per affected family (a
    ``clear`` ends every silence running at that moment)."""
    windows: list[SilenceWindow] = []
    for record in history:
        if record.get("kind") == "clear" and record.get("wall"):
            cleared = float(record["wall"])
            windows = [
                SilenceWindow(w.family, w.start, min(w.end, cleared)) if w.start <= cleared else w
                for w in windows
            ]
            continue
        if record.get("kind") != "silence" or not record.get("wall"):
            continue
        seconds = record.get("seconds")
        if seconds is None:
            continue
        target = record.get("target")
        families = FAMILIES if target is None else (SERVER_FAMILIES.get(target, target),)
        start = float(record["wall"])
        windows.extend(SilenceWindow(f, start, start + float(seconds)) for f in families)
    return windows


def trades_on_stale_books(
    windows: Sequence[SilenceWindow], trades: Iterable[TimedTrade], stale_after: float
) -> list[TimedTrade]:
    """Trades made while their feed had been silent for longer than ``stale_after`` seconds."""
    found = []
    for trade in trades:
        for window in windows:
            if (
                window.family == trade.family
                and window.start + stale_after + NOTICE_MARGIN_SECONDS < trade.at < window.end
            ):
                found.append(trade)
                break
    return found


@dataclass
class FaultRunReport:
    seconds: float
    probability: float
    faults: Counter[str] = field(default_factory=Counter)
    crashes: dict[str, int] = field(default_factory=dict)
    stale_trades: list[TimedTrade] = field(default_factory=list)
    feeds: list[FeedHealthRow] = field(default_factory=list)
    feeds_recovered: bool = False
    recovery_seconds: float | None = None
    trade_requests: int = 0
    fills: int = 0
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.stale_trades and not any(self.crashes.values()) and self.feeds_recovered

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "fault_probability": self.probability,
            "faults": sum(self.faults.values()),
            "faults_by_kind": dict(sorted(self.faults.items())),
            "crashes": sum(self.crashes.values()),
            "stale_trades": len(self.stale_trades),
            "feeds": len([row for row in self.feeds if not row.key]),
            "feeds_recovered": self.feeds_recovered,
            "recovery_seconds": (
                None if self.recovery_seconds is None else round(self.recovery_seconds, 1)
            ),
            "reconnects": sum(row.reconnects for row in self.feeds if not row.key),
            "malformed_counted": sum(row.malformed for row in self.feeds if not row.key),
            "trade_requests": self.trade_requests,
            "fills": self.fills,
            "rejections": dict(sorted(self.rejections.items())),
        }


async def _post_fault(admin_url: str, kind: str, body: Mapping[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(f"{admin_url}/faults/{kind}", json=dict(body))
        response.raise_for_status()


async def _fault_history(admin_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"{admin_url}/faults")
        response.raise_for_status()
        history: list[dict[str, Any]] = response.json()["history"]
        return history


def _fault_kind(record: Mapping[str, Any]) -> str:
    if record["kind"] == "http_error":
        return f"http_{str(record['detail']).split()[0]}"
    return str(record["kind"])


async def _ledger_trades(database_url: str, since: float) -> tuple[list[TimedTrade], int]:
    """Fills (by venue) and oracle-lag trade requests (by their oracle) since ``since``."""
    async with await connect(database_url) as conn:
        # An order row is written just before the order is sent; a paper fill happens then.
        fills = await (
            await conn.execute(
                "select venue, extract(epoch from created_at)::float8 as at, client_order_id "
                "from orders where filled_size > 0 and created_at >= to_timestamp(%s)",
                (since,),
            )
        ).fetchall()
        oracle = await (
            await conn.execute(
                "select extract(epoch from t.requested_at)::float8 as at, t.workflow_id "
                "from trade_requests t join opportunities o on o.id = t.opportunity_id "
                "where o.kind = 'oracle_lag' and t.risk_decision = 'approved' "
                "and t.requested_at >= to_timestamp(%s)",
                (since,),
            )
        ).fetchall()
    trades = [TimedTrade(row["venue"], row["at"], row["client_order_id"]) for row in fills]
    trades += [TimedTrade("binance", row["at"], row["workflow_id"]) for row in oracle]
    return trades, len(fills)


async def _trading_figures(database_url: str, since: float) -> tuple[int, dict[str, int]]:
    async with await connect(database_url) as conn:
        requests = await (
            await conn.execute(
                "select count(*) as n from trade_requests where requested_at >= to_timestamp(%s)",
                (since,),
            )
        ).fetchone()
        reasons = await (
            await conn.execute(
                "select reason_code, count(*) as n from risk_events "
                "where occurred_at >= to_timestamp(%s) group by reason_code",
                (since,),
            )
        ).fetchall()
    return int(requests["n"] if requests else 0), {r["reason_code"]: r["n"] for r in reasons}


async def _feeds(database_url: str) -> list[FeedHealthRow]:
    async with await connect(database_url) as conn:
        return await read_feed_health(conn)


def _all_fresh(rows: Sequence[FeedHealthRow], after: float) -> bool:
    feeds = [row for row in rows if not row.key]
    return bool(feeds) and all(
        row.connected and not row.stale and row.updated_at.timestamp() > after for row in feeds
    )


async def run_with_venue_faults(
    *,
    admin_url: str,
    database_url: str,
    supervisor: Supervisor,
    duration: float,
    probability: float,
    stale_after: float,
    recovery_timeout: float = 120.0,
    report: Callable[[str], None] = print,
) -> FaultRunReport:
    started = time.time()
    result = FaultRunReport(seconds=0.0, probability=probability)
    if probability > 0:
        await _post_fault(admin_url, "random", {"probability": probability})
        report(f"venue faults on: probability {probability} per simulator step")
    deadline = started + duration
    while (now := time.time()) < deadline:
        await asyncio.sleep(min(PROGRESS_SECONDS, deadline - now))
        history = await _fault_history(admin_url)
        requests, _ = await _trading_figures(database_url, started)
        report(
            f"{time.time() - started:5.0f}s  faults {len(history):4d}  trade requests "
            f"{requests:4d}  unexpected exits {sum(supervisor.unexpected_exits.values())}"
        )
    if probability > 0:
        # The venue is healthy again from here: no new faults, none pending, no silence.
        await _post_fault(admin_url, "random", {"probability": 0.0})
        await _post_fault(admin_url, "clear", {})
        report("venue faults off; waiting for every feed to recover")
    faults_stopped = quiet_from = time.time()
    history = await _fault_history(admin_url)
    windows = silence_windows(history)
    while True:
        rows = await _feeds(database_url)
        if time.time() > quiet_from and _all_fresh(rows, quiet_from):
            result.feeds_recovered = True
            result.recovery_seconds = time.time() - faults_stopped
            break
        if time.time() > quiet_from + recovery_timeout:
            break
        await asyncio.sleep(1.0)
    result.feeds = rows
    result.seconds = time.time() - started
    result.faults = Counter(_fault_kind(record) for record in history if record["kind"] != "clear")
    result.crashes = dict(supervisor.unexpected_exits)
    trades, result.fills = await _ledger_trades(database_url, started)
    result.stale_trades = trades_on_stale_books(windows, trades, stale_after)
    result.trade_requests, result.rejections = await _trading_figures(database_url, started)
    return result


def print_report(result: FaultRunReport, say: Callable[[str], None]) -> None:
    summary = result.summary()
    say(
        f"venue-fault run: {summary['seconds']}s, {summary['faults']} faults "
        + ", ".join(f"{k} {v}" for k, v in summary["faults_by_kind"].items())
    )
    for row in result.feeds:
        if row.key:
            continue
        state = "fresh" if row.connected and not row.stale else "NOT RECOVERED"
        say(
            f"  feed {row.feed:<22} {state:<13} reconnects {row.reconnects:4d}  "
            f"malformed {row.malformed:4d}  messages {row.messages}"
        )
    say(
        f"  crashes {summary['crashes']}  stale trades {summary['stale_trades']}  "
        f"recovered {summary['feeds_recovered']} in {summary['recovery_seconds']}s  "
        f"trade requests {summary['trade_requests']}  fills {summary['fills']}"
    )
    for trade in result.stale_trades:
        say(f"  STALE: {trade.label} on {trade.family} at {trade.at:.3f}")
    print(json.dumps(summary), flush=True)
