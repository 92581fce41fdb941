"""Prometheus exposition built from the database on each scrape (every API replica agrees)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from psycopg_pool import AsyncConnectionPool

from pmarb.config import Settings
from pmarb.store import read_models
from pmarb.store.feed_health import read_feed_health
from pmarb.store.portfolio import deployed_capital, value_at_kept_marks
from pmarb.store.risk import current_limits
from pmarb.store.risk_state import read_halt_state

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Snapshot:
    """A collector over metric families computed before the scrape is rendered."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


async def render(pool: AsyncConnectionPool[Any], settings: Settings) -> bytes:
    families: list[Metric] = []
    async with pool.connection() as conn:
        trades = await read_models.trade_counts(conn)
        decisions = await read_models.decision_counts(conn)
        rejections = await read_models.rejection_totals(conn)
        opportunities = await read_models.opportunity_counts(conn)
        cumulative, count, total = await read_models.decision_latencies(conn, LATENCY_BUCKETS)
        feeds = await read_feed_health(conn)
        halt = await read_halt_state(conn)
        alerts = await read_models.alert_counts(conn)
        snapshot = await read_models.latest_snapshot(conn)
        limits = await current_limits(conn, settings.risk)
        valuation = await value_at_kept_marks(conn, bankroll=limits.bankroll)
        deployed = await deployed_capital(conn)

    family = CounterMetricFamily(
        "pmarb_trades", "Trades recorded, by strategy and status.", labels=["strategy", "status"]
    )
    for row in trades:
        family.add_metric([row["strategy"], row["status"]], int(row["n"]))
    families.append(family)

    family = CounterMetricFamily(
        "pmarb_risk_decisions", "Pre-trade risk decisions.", labels=["decision"]
    )
    for row in decisions:
        family.add_metric([row["decision"]], int(row["n"]))
    families.append(family)

    family = CounterMetricFamily(
        "pmarb_risk_rejections", "Risk rejections by reason code.", labels=["reason"]
    )
    for row in rejections:
        family.add_metric([row["reason_code"]], int(row["n"]))
    families.append(family)

    family = CounterMetricFamily(
        "pmarb_opportunities", "Opportunities seen, by kind and status.", labels=["kind", "status"]
    )
    for row in opportunities:
        family.add_metric([row["kind"], row["status"]], int(row["n"]))
    families.append(family)

    histogram = HistogramMetricFamily(
        "pmarb_decision_latency_seconds",
        "Time from an opportunity's detection to its risk decision (workflow latency).",
    )
    buckets = [(str(le), n) for le, n in zip(LATENCY_BUCKETS, cumulative, strict=True)]
    histogram.add_metric([], [*buckets, ("+Inf", count)], total)
    families.append(histogram)

    now = datetime.now(UTC)
    age = GaugeMetricFamily(
        "pmarb_feed_age_seconds", "Age of the newest data per feed and key.", labels=["feed", "key"]
    )
    report = GaugeMetricFamily(
        "pmarb_feed_report_age_seconds",
        "Seconds since feed health was published.",
        labels=["feed"],
    )
    stale = GaugeMetricFamily(
        "pmarb_feed_stale", "1 when a feed or key is stale.", labels=["feed", "key"]
    )
    connected = GaugeMetricFamily("pmarb_feed_connected", "1 when connected.", labels=["feed"])
    malformed = CounterMetricFamily(
        "pmarb_feed_malformed_messages", "Malformed messages.", labels=["feed"]
    )
    reconnects = CounterMetricFamily("pmarb_feed_reconnects", "Reconnects.", labels=["feed"])
    for feed in feeds:
        if feed.age_seconds is not None:
            age.add_metric([feed.feed, feed.key], feed.age_seconds)
        stale.add_metric([feed.feed, feed.key], 1.0 if feed.stale else 0.0)
        if feed.key == "":
            report.add_metric([feed.feed], max((now - feed.updated_at).total_seconds(), 0.0))
            connected.add_metric([feed.feed], 1.0 if feed.connected else 0.0)
            malformed.add_metric([feed.feed], feed.malformed)
            reconnects.add_metric([feed.feed], feed.reconnects)
    families += [age, report, stale, connected, malformed, reconnects]

    families.append(
        GaugeMetricFamily(
            "pmarb_halted", "1 while HALT_ALL is in force.", 1.0 if halt.halted else 0
        )
    )
    paused = halt.paused_until is not None and halt.paused_until > now
    families.append(
        GaugeMetricFamily("pmarb_paused", "1 while the daily-loss pause holds.", 1 if paused else 0)
    )
    open_alerts = GaugeMetricFamily("pmarb_alerts_open", "Unacknowledged alerts.", labels=["tier"])
    for row in alerts:
        open_alerts.add_metric([row["tier"]], int(row["open"]))
    families.append(open_alerts)
    # The portfolio as the API shows it (pmarb/domain/portfolio.py): cash + positions = value.
    for name, help_text, amount in (
        ("pmarb_portfolio_value", "Cash plus open positions at their marks.", valuation.value),
        ("pmarb_portfolio_cash", "The cash ledger's sum.", valuation.cash),
        (
            "pmarb_portfolio_positions_value",
            "Open positions at their marks.",
            valuation.positions_value,
        ),
        ("pmarb_portfolio_pnl", "Value minus the starting balance.", valuation.pnl),
        ("pmarb_portfolio_deployed", "Capital reserved by active lifecycles.", deployed),
    ):
        families.append(GaugeMetricFamily(name, help_text, float(amount)))
    if snapshot is not None:
        for name, column in (
            ("pmarb_portfolio_high_water_mark", "high_water_mark"),
            ("pmarb_portfolio_floor", "floor"),
        ):
            if snapshot[column] is not None:
                families.append(
                    GaugeMetricFamily(name, f"Latest snapshot {column}.", float(snapshot[column]))
                )

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
