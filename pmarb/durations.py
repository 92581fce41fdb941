"""Durations as operators type them: ``90``, ``90s``, ``10m``, ``1.5h``, ``2d``."""

from __future__ import annotations

import re

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number is seconds. Raises ValueError saying what is allowed."""
    match = _PATTERN.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive number with an optional unit "
            "s, m, h or d (e.g. 90, 90s, 10m, 1.5h)"
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]
