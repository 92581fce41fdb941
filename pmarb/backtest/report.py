"""The backtest's figures: one summary for the portfolio and one per strategy, every trade, and
the situation ledger.

Money (exact: every amount is a multiple of 1e-8 dollars, printed in full):

- ``pnl``: everything a lifecycle's orders and settlements did to cash, fees included (unwinds
  too), plus what it still holds at the end at its mark: ``realized_pnl`` (closed trades:
  settled, unwound, closed round trips) + ``unrealized_pnl`` (trades still open at the end).
  The portfolio's ``pnl`` is exactly ``final_value − bankroll``, and exactly the sum of the
  strategies' ``pnl``.
- ``final_value``: cash plus open positions at their marks when the replay ended. A mark is
  the market's resolution payout once it has resolved, else the book's mid (the one side it
  shows, if only one), else the position's cost; ``open`` lists each with its basis.
- ``fees``: every fee paid, by every order of the strategy's lifecycles.

Figures (the same for portfolio and strategies, so they can be compared):

- ``sharpe``: annualised Sharpe ratio of daily returns on the bankroll
  (:func:`~pmarb.strategies.tournament.sharpe_ratio`, as the tournament ranks strategies);
  with less than two days of data, of hourly returns annualised over 365 × 24 hours
  (``sharpe_basis`` says which). ``null`` when even that is not defined.
- ``win_rate``: share of closed trades with a positive realised P&L; the portfolio also reports
  it for oracle trades alone (the seed's success metric).
- ``max_drawdown``: largest fall from a running peak, as a fraction of that peak — of the
  marked portfolio value for the portfolio, of bankroll + cumulative realised P&L for a strategy.
- ``trades``: lifecycles that filled something (``closed_trades`` of them closed).
- ``fill_ratio``: filled ÷ requested size over the orders that opened or hedged positions.
- ``capital_utilisation``: time-average capital reserved by the risk check ÷ bankroll.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pmarb.backtest import situations as ledger
from pmarb.backtest.engine import BacktestResult, CurvePoint, Decision, is_oracle
from pmarb.backtest.situations import money as _money
from pmarb.domain.money import ZERO
from pmarb.strategies.tournament import sharpe_ratio

HOURS_PER_YEAR = 365 * 24
SUCCESS_SHARPE = 1.5
SUCCESS_WIN_RATE = 0.55
SUCCESS_MAX_DRAWDOWN = 0.20
OPENING = ("open", "hedge")


def _ratio(value: Decimal | float | None) -> float | None:
    if value is None:
        return None
    return round(float(value), 6)


def _trades(decisions: Iterable[Decision]) -> list[Decision]:
    """Closed trades: their P&L is realised."""
    return [d for d in decisions if d.traded and d.realized_pnl is not None]


def _win_rate(trades: Sequence[Decision]) -> float | None:
    if not trades:
        return None
    wins = sum(1 for d in trades if (d.realized_pnl or ZERO) > ZERO)
    return round(wins / len(trades), 6)


def _fill_ratio(decisions: Iterable[Decision]) -> float | None:
    requested = filled = ZERO
    for decision in decisions:
        for order in decision.orders:
            if order.purpose in OPENING:
                requested += order.requested
                filled += order.filled
    return None if requested == ZERO else _ratio(filled / requested)


def _drawdown(values: Sequence[Decimal]) -> Decimal:
    peak = worst = ZERO
    for value in values:
        peak = max(peak, value)
        if peak > ZERO:
            worst = max(worst, (peak - value) / peak)
    return worst


def _daily(
    pnl_by_close: Iterable[tuple[datetime, Decimal]], first: date, last: date
) -> list[Decimal]:
    by_day: dict[date, Decimal] = {}
    for at, pnl in pnl_by_close:
        by_day[at.date()] = by_day.get(at.date(), ZERO) + pnl
    days = (last - first).days + 1
    return [by_day.get(first + timedelta(days=n), ZERO) for n in range(days)]


def _hourly_sharpe(changes: Sequence[Decimal], capital: Decimal) -> float | None:
    if len(changes) < 2 or capital <= ZERO:
        return None
    returns = [float(c / capital) for c in changes]
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance == 0:
        return None
    return round(mean / math.sqrt(variance) * math.sqrt(HOURS_PER_YEAR), 6)


def _multi_day(result: BacktestResult) -> bool:
    return (result.end - result.start) >= timedelta(days=2)


def _sharpe(
    closes: list[tuple[datetime, Decimal]], result: BacktestResult, capital: Decimal
) -> tuple[float | None, str]:
    first, last = result.start.date(), result.end.date()
    if _multi_day(result):
        return _ratio(sharpe_ratio(_daily(closes, first, last), capital)), "daily"
    hours = max(1, math.ceil((result.end - result.start).total_seconds() / 3600))
    buckets = [ZERO] * hours
    for at, pnl in closes:
        index = min(hours - 1, max(0, int((at - result.start).total_seconds() // 3600)))
        buckets[index] += pnl
    return _hourly_sharpe(buckets, capital), "hourly"


def _summary(decisions: list[Decision], result: BacktestResult, key: str) -> dict[str, Any]:
    bankroll = result.config.limits.bankroll
    traded = [d for d in decisions if d.traded]
    closed = _trades(decisions)
    closes = [(d.closed_at, d.realized_pnl) for d in closed if d.closed_at and d.realized_pnl]
    closes.sort(key=lambda pair: pair[0])
    realized = sum((d.realized_pnl or ZERO for d in closed), ZERO)
    unrealized = sum((d.unrealized_pnl for d in traded), ZERO)
    sharpe, basis = _sharpe(closes, result, bankroll)
    cumulative = [bankroll]
    for _, change in closes:
        cumulative.append(cumulative[-1] + change)
    return {
        "pnl": _money(realized + unrealized),
        "realized_pnl": _money(realized),
        "unrealized_pnl": _money(unrealized),
        "sharpe": sharpe,
        "sharpe_basis": basis,
        "win_rate": _win_rate(closed),
        "max_drawdown": _ratio(_drawdown(cumulative)),
        "trades": len(traded),
        "closed_trades": len(closed),
        "fees": _money(sum((d.fees for d in decisions), ZERO)),
        "fill_ratio": _fill_ratio(decisions),
        "capital_utilisation": _ratio(result.utilisation.get(key, ZERO)),
        "opportunities": len(decisions),
    }


def _trade_rows(
    decisions: list[Decision], attribution: dict[str, str | None]
) -> list[dict[str, Any]]:
    rows = []
    for d in decisions:
        if not d.traded:
            continue
        rows.append(
            {
                "workflow_id": d.workflow_id,
                "strategy": d.strategy,
                "kind": d.kind,
                "status": d.status,
                "opened_at": d.opened_at.isoformat() if d.opened_at else None,
                "closed_at": d.closed_at.isoformat() if d.closed_at else None,
                "fees": _money(d.fees),
                "pnl": None if d.closed_at is None else _money(d.realized_pnl or ZERO),
                "unrealized_pnl": None if d.closed_at is not None else _money(d.unrealized_pnl),
                "situation": attribution.get(d.workflow_id),
            }
        )
    return rows


def _open_positions(decisions: list[Decision]) -> list[dict[str, Any]]:
    return [
        {
            "workflow_id": d.workflow_id,
            "strategy": d.strategy,
            "venue": mark.venue,
            "market_id": mark.market_id,
            "instrument_id": mark.instrument_id,
            "size": str(mark.size),
            "mark": str(mark.price),
            "basis": mark.basis,
            "value": _money(mark.value),
        }
        for d in decisions
        if d.traded and d.closed_at is None
        for mark in d.marks
    ]


def summarise_result(result: BacktestResult) -> dict[str, Any]:
    """The ``--json`` document: deterministic for a given recording, options and seed."""
    decisions = result.decisions
    bankroll = result.config.limits.bankroll
    portfolio = _summary(decisions, result, "portfolio")
    values = [point.value for point in result.curve]
    portfolio["max_drawdown"] = _ratio(_drawdown([bankroll, *values]))
    portfolio["sharpe"], portfolio["sharpe_basis"] = _curve_sharpe(result.curve, result, bankroll)
    oracle_trades = [d for d in _trades(decisions) if is_oracle(d)]
    portfolio["oracle_trades"] = len(oracle_trades)
    portfolio["oracle_win_rate"] = _win_rate(oracle_trades)
    portfolio["final_value"] = _money(values[-1] if values else bankroll)
    portfolio["cash"] = _money(result.curve[-1].cash if result.curve else bankroll)
    portfolio["bankroll"] = _money(bankroll)
    portfolio["open"] = _open_positions(decisions)
    portfolio["open_positions"] = sum(1 for d in decisions if d.traded and d.closed_at is None)
    # The guardian's ratchet stop halts trading for the rest of the run, as it would live.
    portfolio["halted_at"] = None if result.halted_at is None else result.halted_at.isoformat()
    statuses: dict[str, int] = {}
    for d in decisions:
        statuses[d.status] = statuses.get(d.status, 0) + 1
    portfolio["outcomes"] = dict(sorted(statuses.items()))
    reasons: dict[str, int] = {}
    for d in decisions:
        if d.risk is not None and d.risk != "APPROVED":
            reasons[d.risk] = reasons.get(d.risk, 0) + 1
    portfolio["rejections"] = dict(sorted(reasons.items()))
    strategies = {
        name: _summary([d for d in decisions if d.strategy == name], result, name)
        for name in result.config.strategies
    }
    success = {
        "sharpe_above_1_5": _passes(portfolio["sharpe"], lambda v: v > SUCCESS_SHARPE),
        "oracle_win_rate_above_55pct": _passes(
            portfolio["oracle_win_rate"], lambda v: v > SUCCESS_WIN_RATE
        ),
        "max_drawdown_below_20pct": _passes(
            portfolio["max_drawdown"], lambda v: v < SUCCESS_MAX_DRAWDOWN
        ),
    }
    try:
        injected = ledger.parse(result.situations)
        note = None
    except ledger.OlderRecordingError as e:
        injected, note = (), str(e)
    attribution = ledger.attribute(decisions, injected)
    situations: dict[str, Any]
    if note is None:
        situations = ledger.ledger(decisions, injected, attribution)
    else:  # nothing can be said of what was captured: no made-up counts
        situations = {"injected": len(result.situations), "note": note}
    return {
        "portfolio": portfolio,
        "strategies": strategies,
        "success": success,
        "trades": _trade_rows(decisions, attribution),
        "situations": situations,
        "allocations": [
            {"day": day.day.isoformat(), "fractions": {k: str(v) for k, v in day.fractions.items()}}
            for day in result.allocations
        ],
        "run": {
            "start": result.start.isoformat(),
            "end": result.end.isoformat(),
            "events": result.events,
            "seed": result.config.seed,
            "synthetic": result.synthetic,
            "data_seed": result.data_seed,
            "strategies": list(result.config.strategies),
            "decision_latency_seconds": result.config.decision_latency,
            "paper_latency_seconds": result.config.paper_latency,
            "latency_jitter_seconds": result.config.latency_jitter,
            "risk": {k: str(v) for k, v in result.config.limits.model_dump().items()},
        },
    }


def _curve_sharpe(
    curve: Sequence[CurvePoint], result: BacktestResult, capital: Decimal
) -> tuple[float | None, str]:
    """The portfolio's Sharpe from its marked value (open positions included)."""
    if not curve:
        return None, "none"
    first, last = result.start.date(), result.end.date()
    if _multi_day(result):
        closing: dict[date, Decimal] = {}
        for point in curve:
            closing[point.at.date()] = point.value
        previous = capital
        changes = []
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            value = closing.get(day, previous)
            changes.append(value - previous)
            previous = value
        return _ratio(sharpe_ratio(changes, capital)), "daily"
    hourly: dict[int, Decimal] = {}
    for point in curve:
        hourly[int((point.at - result.start).total_seconds() // 3600)] = point.value
    previous = capital
    changes = []
    for hour in range(max(hourly) + 1 if hourly else 0):
        value = hourly.get(hour, previous)
        changes.append(value - previous)
        previous = value
    return _hourly_sharpe(changes, capital), "hourly"


def _passes(value: float | None, test: Any) -> dict[str, Any]:
    return {"value": value, "pass": value is not None and bool(test(value))}
