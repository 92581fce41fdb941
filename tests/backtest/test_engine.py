"""The fast path over the seeded synthetic scenario: determinism, no look-ahead, fills within
visible depth, settlement only at the recorded resolution, reports, and the daily tournament."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pmarb.backtest import data as recording
from pmarb.backtest.engine import Backtest, BacktestConfig, BacktestResult, Decision
from pmarb.backtest.events import Dataset, Resolution, to_ns
from pmarb.backtest.html import render
from pmarb.backtest.report import summarise_result
from pmarb.backtest.synthetic import ScenarioSettings, scenario
from pmarb.domain.money import ZERO
from pmarb.domain.orders import OrderPurpose
from pmarb.domain.parity import Side
from pmarb.domain.risk import RiskLimits
from pmarb.lifecycle.messages import OrderOutcome, OrderToSend
from pmarb.strategies.tournament import TournamentRules
from tests.backtest.support import write_recording

HOURS = 3.0
# A roomy profile so that many opportunities get past the per-market limit and trade.
ROOMY = RiskLimits(bankroll=D("20000"))


@cache
def dataset(hours: float = HOURS, seed: int = 1, start: datetime | None = None) -> Dataset:
    settings = ScenarioSettings(hours=hours, seed=seed)
    if start is not None:
        settings = ScenarioSettings(hours=hours, seed=seed, start=start)
    return scenario(settings)


def run(data: Dataset, **options: Any) -> BacktestResult:
    return Backtest(data, BacktestConfig(**options)).run()


def fingerprint(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.workflow_id,
        decision.detected_at,
        decision.strategy,
        decision.risk,
        decision.status,
        decision.realized_pnl,
        tuple(
            (o.client_order_id, o.side, o.requested, o.filled, o.average_price, o.fees)
            for o in decision.orders
        ),
    )


def test_the_same_seed_gives_identical_json_and_other_seeds_differ() -> None:
    first = summarise_result(run(dataset(), limits=ROOMY, seed=7))
    second = summarise_result(run(dataset(), limits=ROOMY, seed=7))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["portfolio"]["trades"] > 5, "the scenario must trade for this test to mean much"
    other_data = summarise_result(run(dataset(seed=2), limits=ROOMY, seed=7))
    assert json.dumps(other_data, sort_keys=True) != json.dumps(first, sort_keys=True)


def test_the_parquet_recording_replays_exactly_like_the_data_it_was_written_from(
    tmp_path: Path,
) -> None:
    data = dataset()
    written = recording.load(write_recording(data, tmp_path / "rec"))
    assert written.synthetic and written.seed == 1
    assert sorted(m.market_id for m in written.markets) == sorted(m.market_id for m in data.markets)
    from_memory = summarise_result(run(data, limits=ROOMY))
    from_disk = summarise_result(run(written, limits=ROOMY))
    assert json.dumps(from_disk, sort_keys=True) == json.dumps(from_memory, sort_keys=True)
    assert from_memory["portfolio"]["opportunities"] > 0


def test_a_bad_recording_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(recording.RecordingError, match=r"no metadata\.json"):
        recording.load(tmp_path)
    (tmp_path / "metadata.json").write_text('{"format": "other", "version": 1}')
    with pytest.raises(recording.RecordingError, match="not a pmarb-recording"):
        recording.load(tmp_path)


def test_truncating_the_data_after_t_leaves_every_decision_before_t_unchanged() -> None:
    data = dataset()
    cut = data.start_ns + int(1.6 * 3600 * 1e9)
    truncated = Dataset(
        markets=data.markets,
        pairs=data.pairs,
        events=lambda start, end: (e for e in data.replay(start, end) if e.ts_ns <= cut),
        start_ns=data.start_ns,
        end_ns=cut,
        synthetic=True,
        seed=1,
        market_listings=tuple((ts, m) for ts, m in data.market_listings if ts <= cut),
        pair_listings=tuple((ts, p) for ts, p in data.pair_listings if ts <= cut),
    )
    full = run(data, limits=ROOMY, seed=3)
    short = run(truncated, limits=ROOMY, seed=3)
    moment = datetime.fromtimestamp(cut / 1e9, UTC)
    # A lifecycle that ended before T is the same in both, to the last fill.
    done_full = [fingerprint(d) for d in full.decisions if d.closed_at and d.closed_at <= moment]
    done_short = [fingerprint(d) for d in short.decisions if d.closed_at and d.closed_at <= moment]
    assert done_full and done_full == done_short
    # Every detection and decision made before T is the same too.
    decided_full = [
        (d.workflow_id, d.strategy, d.risk)
        for d in full.decisions
        if d.decided_at is not None and d.decided_at <= moment
    ]
    decided_short = [
        (d.workflow_id, d.strategy, d.risk)
        for d in short.decisions
        if d.decided_at is not None and d.decided_at <= moment
    ]
    assert decided_full == decided_short
    assert len(decided_full) < len([d for d in full.decisions if d.decided_at is not None])


def test_fills_never_exceed_the_visible_depth_within_the_limit() -> None:
    engine = Backtest(dataset(), BacktestConfig(limits=ROOMY))
    exchange = engine.exchange
    place = exchange.place
    checked: list[tuple[D, D]] = []

    def observed(
        workflow_id: str,
        purpose: OrderPurpose,
        items: Sequence[OrderToSend],
        expires_at: datetime | None,
    ) -> list[OrderOutcome]:
        visible = []
        for item in items:
            order = item.order
            book = exchange.stores[order.venue].snapshot(order.instrument_id, depth=None)
            levels = book.levels_for(order.side)
            marketable = [
                level
                for level in levels
                if (
                    level.price <= order.limit_price
                    if order.side is Side.BUY
                    else level.price >= order.limit_price
                )
            ]
            visible.append(sum((level.size for level in marketable), ZERO))
        outcomes = place(workflow_id, purpose, items, expires_at)
        for depth, outcome, item in zip(visible, outcomes, items, strict=True):
            if item.order.time_in_force.value in ("fok", "fak"):
                checked.append((outcome.filled, depth))
        return outcomes

    exchange.place = observed  # type: ignore[method-assign]
    result = engine.run()
    assert result.decisions
    assert checked, "no immediate order was placed"
    assert any(filled > ZERO for filled, _ in checked)
    for filled, depth in checked:
        assert filled <= depth


def test_positions_settle_only_at_the_recorded_resolution() -> None:
    data = dataset()
    result = run(data, limits=ROOMY)
    resolved_at = {
        (e.venue.value, e.market_id): e.ts_ns for e in data.replay() if isinstance(e, Resolution)
    }
    settled = [d for d in result.decisions if d.status == "settled"]
    assert settled
    for decision in settled:
        assert decision.closed_at is not None and decision.opportunity is not None
        for leg in decision.opportunity.legs:
            assert to_ns(decision.closed_at) >= resolved_at[(leg.venue.value, leg.market_id)]
    # Stop just before the first resolution: whatever was bought is still held, P&L unknown.
    first = min(resolved_at.values())
    early = run(data, limits=ROOMY, end_ns=first - 1)
    holding = [d for d in early.decisions if d.status == "holding"]
    assert holding
    assert all(d.realized_pnl is None for d in holding)
    assert not [d for d in early.decisions if d.status == "settled"]


def test_cash_pays_for_every_buy_so_capital_depletes() -> None:
    tight = RiskLimits(bankroll=D("60"), per_market_limit_pct=D("1"), max_deployed_pct=D("1"))
    engine = Backtest(dataset(), BacktestConfig(limits=tight))
    result = engine.run()
    assert any(
        d.risk in ("PORTFOLIO_LIMIT", "STRATEGY_BUDGET", "INSUFFICIENT_CASH")
        for d in result.decisions
    )
    assert min(point.cash for point in result.curve) >= ZERO


def test_reports_have_every_figure_and_the_html_is_self_contained(tmp_path: Path) -> None:
    result = run(dataset(), limits=ROOMY)
    summary = summarise_result(result)
    figures = {
        "pnl",
        "sharpe",
        "win_rate",
        "max_drawdown",
        "trades",
        "fees",
        "fill_ratio",
        "capital_utilisation",
    }
    assert figures <= set(summary["portfolio"])
    assert set(summary["strategies"]) == set(result.config.strategies)
    for figures_of in summary["strategies"].values():
        assert figures <= set(figures_of)
    trades = [d for d in result.decisions if d.realized_pnl is not None]
    assert D(summary["portfolio"]["pnl"]) == sum(
        (d.realized_pnl for d in trades if d.realized_pnl is not None), ZERO
    ).quantize(D("0.000001"))
    assert set(summary["success"]) == {
        "sharpe_above_1_5",
        "oracle_win_rate_above_55pct",
        "max_drawdown_below_20pct",
    }
    page = render(result, summary)
    assert ("<svg" in page and "PASS" in page) or "FAIL" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page


def test_the_daily_tournament_moves_allocations_between_days() -> None:
    start = datetime(2026, 1, 5, 21, tzinfo=UTC)
    data = dataset(hours=6.0, seed=1, start=start)
    result = run(
        data,
        limits=ROOMY,
        tournament=TournamentRules(min_trades=2),
        strategies=("atomic-arb", "leg-and-hedge", "oracle-sniper"),
    )
    days = [a.day for a in result.allocations]
    assert days == [start.date(), start.date() + timedelta(days=1)]
    first, second = result.allocations
    assert set(first.fractions.values()) == {D(1) / 3}
    assert first.fractions != second.fractions
    assert summarise_result(result)["allocations"][1]["day"] == "2026-01-06"
