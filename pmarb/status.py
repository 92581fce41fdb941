"""``pmarb status``: is each part of the system reachable, current and able to trade?"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from pmarb.config import Settings
from pmarb.infra.runtime import NotRunningError, resolve_endpoints
from pmarb.store import migrate
from pmarb.store.db import connect, redact_url
from pmarb.store.risk_state import read_halt_state
from pmarb.workers.client import connect_client
from pmarb.workflows.system_check import SystemCheckInput, SystemCheckWorkflow


async def _database_status(url: str) -> tuple[dict[str, Any], bool | None, dict[str, int]]:
    report: dict[str, Any] = {"ok": False, "url": redact_url(url)}
    halted: bool | None = None
    counts: dict[str, int] = {}
    try:
        async with await connect(url, timeout=3) as conn:
            schema = await migrate.status(conn)
            report.update(
                ok=True,
                migrations_applied=list(schema.applied),
                migrations_pending=list(schema.pending),
                migrations_current=schema.current,
            )
            if schema.current:
                halted = (await read_halt_state(conn)).halted
                counts = await _counts(conn)
    except Exception as e:
        report["error"] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return report, halted, counts


async def _counts(conn: Any) -> dict[str, int]:
    row = await (
        await conn.execute(
            """
            select (select count(*) from opportunities) as opportunities,
                   (select count(*) from trades) as trades,
                   (select count(*) from trade_requests) as trade_requests,
                   (select count(*) from trade_requests where risk_decision = 'rejected')
                       as rejections,
                   (select count(*) from alerts where acknowledged_at is null) as open_alerts
            """
        )
    ).fetchone()
    return {key: int(value) for key, value in (row or {}).items()}


async def _feeds(url: str) -> list[dict[str, Any]]:
    """The feed-health gate as the market-data process last published it."""
    from pmarb.store.feed_health import read_feed_health

    try:
        async with await connect(url, timeout=3) as conn:
            rows = await read_feed_health(conn)
    except Exception:
        return []
    return [
        {
            "feed": row.feed,
            "connected": row.connected,
            "stale": row.stale,
            "stale_instruments": sum(1 for r in rows if r.feed == row.feed and r.key and r.stale),
            "messages": row.messages,
            "malformed": row.malformed,
            "reconnects": row.reconnects,
            "age_seconds": row.age_seconds,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
        if row.key == ""
    ]


async def _temporal_status(settings: Settings, address: str, ui: str | None) -> dict[str, Any]:
    report: dict[str, Any] = {"ok": False, "address": address, "ui": ui, "worker": None}
    try:
        client = await asyncio.wait_for(
            connect_client(
                address,
                namespace=settings.temporal_namespace,
                api_key=(
                    settings.temporal_api_key.get_secret_value()
                    if settings.temporal_api_key
                    else None
                ),
                tls=settings.temporal_tls,
            ),
            timeout=5,
        )
        await client.service_client.check_health()
        report["ok"] = True
        check = await client.execute_workflow(
            SystemCheckWorkflow.run,
            SystemCheckInput(requested_by="pmarb status"),
            id=f"system-check-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(seconds=10),
        )
        report["worker"] = {
            "ok": check.database_ok,
            "task_queue": settings.task_queue,
            "database_ok": check.database_ok,
        }
    except Exception as e:
        message = str(e).strip() or type(e).__name__
        if report["ok"]:
            report["worker"] = {"ok": False, "task_queue": settings.task_queue, "error": message}
        else:
            report["error"] = message
    return report


async def _reconciliation(url: str) -> list[dict[str, Any]]:
    """Each venue's latest reconciliation pass, as the market-data process recorded it."""
    from pmarb.store.reconciliation import latest_reconciliations

    try:
        async with await connect(url, timeout=3) as conn:
            rows = await latest_reconciliations(conn)
    except Exception:
        return []
    return [
        {
            "venue": row["venue"],
            "at": row["finished_at"].isoformat(),
            "orders_repaired": row["orders_repaired"],
            "positions_repaired": row["positions_repaired"],
            "error": row["error"],
        }
        for row in rows
    ]


async def gather(settings: Settings) -> dict[str, Any]:
    """The status document; ``healthy`` is true when everything needed to trade is in place."""
    try:
        endpoints = resolve_endpoints(settings)
    except NotRunningError as e:
        return {
            "healthy": False,
            "temporal": {"ok": False, "error": str(e)},
            "database": {"ok": False, "error": str(e)},
            "halted": None,
            "paper": settings.paper,
            "data_dir": str(settings.data_dir),
        }
    (database, halted, counts), temporal = await asyncio.gather(
        _database_status(endpoints.database_url),
        _temporal_status(settings, endpoints.temporal_address, endpoints.temporal_ui_url),
    )
    worker = temporal.get("worker") or {}
    healthy = bool(
        database["ok"]
        and database.get("migrations_current")
        and temporal["ok"]
        and worker.get("ok")
    )
    return {
        "healthy": healthy,
        "temporal": temporal,
        "database": database,
        "halted": halted,
        "paper": settings.paper,
        **{
            name: counts.get(name)
            for name in ("opportunities", "trades", "trade_requests", "rejections", "open_alerts")
        },
        "feeds": await _feeds(endpoints.database_url) if database["ok"] else [],
        "reconciliation": (await _reconciliation(endpoints.database_url) if database["ok"] else []),
        "api": endpoints.api_url,
        "data_dir": str(settings.data_dir),
    }
