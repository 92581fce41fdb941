"""The portfolio chart as inline SVG, drawn on the server: no chart library, no CDN.

Coordinates are floats for drawing only; every number shown as text is formatted from Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from pmarb.api.schemas import PortfolioPoint

WIDTH, HEIGHT = 900, 280
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 70, 20, 16, 30


def portfolio_chart(points: Sequence[PortfolioPoint], bankroll: Decimal) -> str:
    if len(points) < 2:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            'aria-label="no portfolio history yet"><text x="50%" y="50%" text-anchor="middle" '
            'class="chart-empty">No portfolio snapshots yet: the market-data process writes '
            "them while it runs.</text></svg>"
        )
    times = [p.taken_at for p in points]
    series: dict[str, list[Decimal | None]] = {
        "value": [p.value for p in points],
        "hwm": [p.high_water_mark for p in points],
        "floor": [p.floor for p in points],
    }
    known = [v for values in series.values() for v in values if v is not None]
    low, high = min(known), max(known)
    if high == low:
        high, low = high + 1, low - 1
    margin = (high - low) * Decimal("0.08")
    low, high = low - margin, high + margin

    def x(moment: datetime) -> float:
        span = (times[-1] - times[0]).total_seconds() or 1.0
        share = (moment - times[0]).total_seconds() / span
        return PAD_LEFT + share * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(value: Decimal) -> float:
        share = float((value - low) / (high - low))
        return HEIGHT - PAD_BOTTOM - share * (HEIGHT - PAD_TOP - PAD_BOTTOM)

    def path(values: list[Decimal | None], step: bool = False) -> str:
        parts: list[str] = []
        previous: float | None = None
        for moment, value in zip(times, values, strict=True):
            if value is None:
                previous = None
                continue
            px, py = x(moment), y(value)
            if previous is None:
                parts.append(f"M{px:.1f},{py:.1f}")
            elif step:
                parts.append(f"H{px:.1f}V{py:.1f}")
            else:
                parts.append(f"L{px:.1f},{py:.1f}")
            previous = py
        return " ".join(parts)

    grid = []
    for i in range(5):
        value = low + (high - low) * Decimal(i) / 4
        gy = y(value)
        grid.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{gy:.1f}" '
            f'y2="{gy:.1f}"/><text class="axis" x="{PAD_LEFT - 8}" y="{gy + 4:.1f}" '
            f'text-anchor="end">{value:,.2f}</text>'
        )
    start = escape(times[0].strftime("%Y-%m-%d %H:%M"))
    end = escape(times[-1].strftime("%Y-%m-%d %H:%M UTC"))
    baseline = ""
    if low <= bankroll <= high:
        by = y(bankroll)
        baseline = (
            f'<line class="bankroll" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{by:.1f}" '
            f'y2="{by:.1f}"/>'
        )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-label="portfolio value, high-water mark and ratchet floor">'
        + "".join(grid)
        + baseline
        + f'<path class="line-floor" d="{path(series["floor"], step=True)}"/>'
        + f'<path class="line-hwm" d="{path(series["hwm"], step=True)}"/>'
        + f'<path class="line-value" d="{path(series["value"])}"/>'
        + f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 8}">{start}</text>'
        + f'<text class="axis" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        + f"{end}</text></svg>"
    )
