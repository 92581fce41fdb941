"""The self-contained HTML report: inline SVG charts, inline CSS, nothing fetched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from pmarb.backtest.engine import BacktestResult
from pmarb.domain.money import ZERO

WIDTH, HEIGHT, PAD = 720, 220, 40
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")
CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:60rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;
text-align:right}th{background:#f3f4f6}td:first-child,th:first-child{text-align:left}
.pass{color:#166534;font-weight:600}.fail{color:#991b1b;font-weight:600}
.note{color:#555;font-size:.9rem}svg{background:#fafafa;border:1px solid #eee}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
"""


def _points(
    series: Sequence[tuple[float, float]],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> str:
    (x0, x1), (y0, y1) = x_range, y_range
    dx = (x1 - x0) or 1.0
    dy = (y1 - y0) or 1.0
    return " ".join(
        f"{PAD + (x - x0) / dx * (WIDTH - 2 * PAD):.1f},"
        f"{HEIGHT - PAD - (y - y0) / dy * (HEIGHT - 2 * PAD):.1f}"
        for x, y in series
    )


def _line_chart(
    lines: Sequence[tuple[str, Sequence[tuple[float, float]]]], y_label: str, x_label: str
) -> str:
    every = [point for _, series in lines for point in series]
    if not every:
        return '<p class="note">no data</p>'
    xs = [x for x, _ in every]
    ys = [y for _, y in every]
    x_range = (min(xs), max(xs))
    low, high = min(ys), max(ys)
    if low == high:
        low, high = low - 1, high + 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(y_label)}">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>',
        f'<text x="4" y="{PAD - 8}" font-size="11">{escape(y_label)}: '
        f"{high:,.2f} (top) … {low:,.2f} (bottom)</text>",
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{escape(x_label)}</text>",
    ]
    for n, (name, series) in enumerate(lines):
        colour = COLOURS[n % len(COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
            f'points="{_points(series, x_range, (low, high))}"><title>{escape(name)}</title>'
            "</polyline>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="color:{COLOURS[n % len(COLOURS)]}">■ {escape(name)}</span>'
        for n, (name, _) in enumerate(lines)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _stacked_bars(days: Sequence[tuple[str, dict[str, Decimal]]], names: Sequence[str]) -> str:
    if not days:
        return '<p class="note">no allocation</p>'
    bar = (WIDTH - 2 * PAD) / len(days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="allocation by day">'
    ]
    span = HEIGHT - 2 * PAD
    for n, (day, fractions) in enumerate(days):
        y = float(HEIGHT - PAD)
        for m, name in enumerate(names):
            share = float(fractions.get(name, ZERO))
            h = share * span
            y -= h
            parts.append(
                f'<rect x="{PAD + n * bar + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[m % len(COLOURS)]}">'
                f"<title>{escape(day)} {escape(name)}: {share:.1%}</title></rect>"
            )
        parts.append(
            f'<text x="{PAD + (n + 0.5) * bar:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" '
            f'text-anchor="middle">{escape(day[5:])}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="color:{COLOURS[m % len(COLOURS)]}">■ {escape(name)}</span>'
        for m, name in enumerate(names)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _hours(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds() / 3600


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return escape(str(value))


def _halted(portfolio: dict[str, Any]) -> str:
    if portfolio.get("halted_at") is None:
        return ""
    return (
        f'<p class="fail">The ratchet stop halted trading at {escape(portfolio["halted_at"])}; '
        "nothing was traded after it (a human resumes live trading).</p>"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _money_line(portfolio: dict[str, Any]) -> str:
    return (
        f'<p class="note">P&amp;L {escape(portfolio["pnl"])} = realised '
        f"{escape(portfolio['realized_pnl'])} + unrealised {escape(portfolio['unrealized_pnl'])}"
        f" = final value {escape(portfolio['final_value'])} − bankroll "
        f"{escape(portfolio['bankroll'])}; final value = cash {escape(portfolio['cash'])} + "
        f"open positions at their marks; fees {escape(portfolio['fees'])} are inside every "
        "P&amp;L.</p>"
    )


def _situations(ledger: dict[str, Any]) -> str:
    if "note" in ledger:
        return f'<p class="note">{escape(ledger["note"])}</p>'
    if not ledger["injected"] and not ledger["unprompted"]["trades"]:
        return (
            '<p class="note">No situations were injected (a real recording, or a fair world).</p>'
        )
    kinds = _table(
        ("kind", "injected", "captured", "detected, not traded", "missed"),
        [
            (kind, c["injected"], c["captured"], c["detected"], c["missed"])
            for kind, c in ledger["by_kind"].items()
        ],
    )
    rows = _table(
        ("id", "kind", "start", "target", "available edge", "result", "why not / trades", "P&L"),
        [
            (
                row["id"],
                row["kind"],
                row["start"],
                row["target"],
                row["available_edge"],
                row["result"],
                ", ".join(row["reasons"])
                or ", ".join(f"{t['strategy']} {t['pnl']}" for t in row["trades"]),
                row["pnl"],
            )
            for row in ledger["list"]
        ],
    )
    unprompted = ledger["unprompted"]
    return (
        f'<p class="note">{ledger["injected"]} injected, {ledger["captured"]} captured, '
        f"{ledger['detected_not_traded']} detected but not traded, {ledger['missed']} missed; "
        f"edge captured {escape(ledger['edge_captured'])} of {escape(ledger['edge_available'])}"
        f" available; {unprompted['trades']} unprompted trades, P&amp;L "
        f"{escape(unprompted['pnl'])}.</p>{kinds}{rows}"
    )


def _trades(rows: Sequence[dict[str, Any]]) -> str:
    return _table(
        (
            "opened",
            "closed",
            "strategy",
            "kind",
            "status",
            "fees",
            "P&L",
            "unrealised",
            "situation",
        ),
        [
            (
                t["opened_at"],
                t["closed_at"],
                t["strategy"],
                t["kind"],
                t["status"],
                t["fees"],
                t["pnl"],
                t["unrealized_pnl"],
                t["situation"],
            )
            for t in rows
        ],
    )


def _open(positions: Sequence[dict[str, Any]]) -> str:
    return _table(
        ("strategy", "venue", "market", "size", "mark", "basis", "value"),
        [
            (
                p["strategy"],
                p["venue"],
                p["market_id"],
                p["size"],
                p["mark"],
                p["basis"],
                p["value"],
            )
            for p in positions
        ],
    )


def render(result: BacktestResult, summary: dict[str, Any]) -> str:
    start = result.start
    curve = [(_hours(p.at, start), float(p.value)) for p in result.curve]
    peak = float("-inf")
    drawdown = []
    for x, value in curve:
        peak = max(peak, value)
        drawdown.append((x, -(peak - value) / peak * 100 if peak > 0 else 0.0))
    per_strategy = []
    for name in result.config.strategies:
        closed = sorted(
            (d.closed_at, d.realized_pnl)
            for d in result.decisions
            if d.strategy == name and d.closed_at is not None and d.realized_pnl is not None
        )
        total = 0.0
        series = [(0.0, 0.0)]
        for at, pnl in closed:
            total += float(pnl)
            series.append((_hours(at, start), total))
        series.append((_hours(result.end, start), total))
        per_strategy.append((name, series))
    allocation_days = [(a.day.isoformat(), a.fractions) for a in result.allocations]
    portfolio = summary["portfolio"]
    success_rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{_cell(check['value'])}</td>"
        f'<td class="{"pass" if check["pass"] else "fail"}">'
        f"{'PASS' if check['pass'] else 'FAIL'}</td></tr>"
        for name, check in summary["success"].items()
    )
    columns = (
        "pnl",
        "sharpe",
        "win_rate",
        "max_drawdown",
        "trades",
        "fees",
        "fill_ratio",
        "capital_utilisation",
    )
    header = "".join(f"<th>{c}</th>" for c in columns)
    cells = "".join(f"<td>{_cell(portfolio[c])}</td>" for c in columns)
    rows = f"<tr><td><b>portfolio</b></td>{cells}</tr>"
    for name, figures in summary["strategies"].items():
        rows += f"<tr><td>{escape(name)}</td>" + "".join(
            f"<td>{_cell(figures[c])}</td>" for c in columns
        )
        rows += "</tr>"
    run = summary["run"]
    synthetic = " (synthetic data)" if run["synthetic"] else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pmarb backtest</title>
<style>{CSS}</style></head><body>
<h1>pmarb backtest{escape(synthetic)}</h1>
<p class="note">{escape(run["start"])} → {escape(run["end"])} · {run["events"]:,} events ·
seed {run["seed"]} · bankroll {escape(portfolio["bankroll"])} · final value
{escape(portfolio["final_value"])} · open positions {portfolio["open_positions"]} ·
latency {run["decision_latency_seconds"]}s decision + {run["paper_latency_seconds"]}s order
(+ up to {run["latency_jitter_seconds"]}s)</p>
{_halted(portfolio)}
<h2>Success metrics</h2>
<table><tr><th>metric</th><th>value</th><th>result</th></tr>{success_rows}</table>
<h2>Summary</h2><table><tr><th></th>{header}</tr>{rows}</table>
{_money_line(portfolio)}
<p class="note">Outcomes: {escape(str(portfolio["outcomes"]))} · rejections:
{escape(str(portfolio["rejections"]))}</p>
<h2>Situations</h2>{_situations(summary["situations"])}
<h2>Equity curve</h2>{_line_chart([("portfolio value", curve)], "value ($)", "hours")}
<h2>Drawdown</h2>{_line_chart([("drawdown %", drawdown)], "drawdown (%)", "hours")}
<h2>Realised P&amp;L by strategy</h2>{_line_chart(per_strategy, "cumulative P&L ($)", "hours")}
<h2>Allocation by day</h2>{_stacked_bars(allocation_days, list(result.config.strategies))}
<h2>Open positions at the end</h2>{_open(portfolio["open"])}
<h2>Trades</h2>{_trades(summary["trades"])}
</body></html>
"""
