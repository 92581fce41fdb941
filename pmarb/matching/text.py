"""Reading dates, clock times, time zones and numbers out of rule prose."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"\b(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?:,?\s*(?:(?P<year>\d{4})|'(?P<short_year>\d{2})))?"
MONTH_DAY = re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b" + _YEAR, re.IGNORECASE)
DAY_MONTH = re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + _YEAR, re.IGNORECASE)
MONTH_YEAR = re.compile(_MONTH + r"\s+(?P<year>\d{4})\b", re.IGNORECASE)

# Fixed offsets for explicit standard/daylight labels; bare "ET" follows the zone's rules.
_ZONES: dict[str, tzinfo] = {
    "est": timezone(timedelta(hours=-5)),
    "edt": timezone(timedelta(hours=-4)),
    "et": EASTERN,
    "cst": timezone(timedelta(hours=-6)),
    "cdt": timezone(timedelta(hours=-5)),
    "ct": ZoneInfo("America/Chicago"),
    "mst": timezone(timedelta(hours=-7)),
    "mdt": timezone(timedelta(hours=-6)),
    "pst": timezone(timedelta(hours=-8)),
    "pdt": timezone(timedelta(hours=-7)),
    "pt": ZoneInfo("America/Los_Angeles"),
    "utc": UTC,
    "gmt": UTC,
}
_ZONE = r"(?P<zone>" + "|".join(sorted(_ZONES, key=len, reverse=True)) + r")\b"
CLOCK = re.compile(
    r"\b(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?=\W|$)\s*"
    + r"(?:"
    + _ZONE
    + r")?",
    re.IGNORECASE,
)
CLOCK_24 = re.compile(r"\b(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)\s*" + _ZONE, re.IGNORECASE)
NOON = re.compile(r"\bnoon\b(?:\s*" + _ZONE + r")?", re.IGNORECASE)
NUMBER = re.compile(r"[-+]?\$?\s?\d[\d,]*(?:\.\d+)?")


def fold(text: str) -> str:
    """Lower case, ASCII quotes and dashes, single spaces: the form the parsers read."""
    text = unicodedata.normalize("NFKC", text)
    text = (
        text.replace("’", "'")
        .replace("‘", "'")
        .replace("“", '"')
        .replace("”", '"')
        .replace("–", "-")
        .replace("—", "-")
        .replace("≥", ">=")
        .replace("≤", "<=")
    )
    return re.sub(r"\s+", " ", text).strip().lower()


def to_number(text: str) -> Decimal | None:
    cleaned = text.replace("$", "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def zone(label: str | None) -> tzinfo | None:
    return _ZONES.get(label.lower()) if label else None


def _year_of(match: re.Match[str], anchor: datetime | None) -> int | None:
    if match.group("year"):
        return int(match.group("year"))
    if match.groupdict().get("short_year"):
        return 2000 + int(match.group("short_year"))
    return guess_year(MONTHS[match.group("month").lower()], int(match.group("day")), anchor)


def find_dates(text: str, anchor: datetime | None = None) -> list[tuple[int, date]]:
    """Every calendar date written in ``text`` with its position, in order of appearance.

    A date written without a year takes the year that puts it nearest ``anchor``; with no
    anchor it is skipped rather than guessed.
    """
    found: list[tuple[int, date]] = []
    for pattern in (MONTH_DAY, DAY_MONTH):
        for match in pattern.finditer(text):
            try:
                year = _year_of(match, anchor)
                if year is None:
                    continue
                day = date(year, MONTHS[match.group("month").lower()], int(match.group("day")))
            except ValueError:
                continue
            if any(abs(position - match.start()) < 3 for position, _ in found):
                continue
            found.append((match.start(), day))
    found.sort()
    return found


def first_date(text: str, anchor: datetime | None = None) -> date | None:
    dates = find_dates(text, anchor)
    return dates[0][1] if dates else None


def clock_times(text: str) -> list[tuple[int, time, tzinfo | None]]:
    """Clock times ("9:15 PM EST", "12:00 ET", "noon") with their position and zone."""
    found: list[tuple[int, time, tzinfo | None]] = []
    for match in CLOCK.finditer(text):
        hour = int(match.group("hour")) % 12
        if match.group("ampm").lower().startswith("p"):
            hour += 12
        if hour > 23:
            continue
        minute = int(match.group("minute") or 0)
        found.append((match.start(), time(hour, minute), zone(match.group("zone"))))
    for match in CLOCK_24.finditer(text):
        if any(start <= match.start() < start + 8 for start, _, _ in found):
            continue
        found.append(
            (
                match.start(),
                time(int(match.group("hour")), int(match.group("minute"))),
                zone(match.group("zone")),
            )
        )
    for match in NOON.finditer(text):
        found.append((match.start(), time(12, 0), zone(match.group("zone"))))
    found.sort(key=lambda item: item[0])
    return found


def localize(day: date, clock: time, tz: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time; ``fold=0`` picks the first of a repeated hour."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def guess_year(month: int, day: int, anchor: datetime | None) -> int | None:
    """The year that puts month/day nearest the anchor (a close time), for titles without one."""
    if anchor is None:
        return None
    best: tuple[float, int] | None = None
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            candidate = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
        distance = abs((candidate - anchor).total_seconds())
        if best is None or distance < best[0]:
            best = (distance, year)
    return best[1] if best else None


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
