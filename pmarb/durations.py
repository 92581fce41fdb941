"""Durations as operators type them: ``90``, ``90s``, ``10m``, ``1h30m``, ``1.5h``, ``2d``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (a bare number is seconds). Raises ValueError saying what is allowed."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        seconds = float(cleaned)
    else:
        parts = _PART.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            raise ValueError(
                f"{text!r} is not a duration: use a number with the units s, m, h, d "
                "(examples: 90, 90s, 10m, 1h30m)"
            )
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"the duration must be positive, got {text!r}")
    return seconds
