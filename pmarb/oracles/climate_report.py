"""Parse the NWS daily climate report (CLI product text) for the day's maximum and minimum.

Kalshi's temperature markets settle on the first FINAL report for the climate day (issued early
the next morning, section "YESTERDAY"); the same-day preliminary ("VALID TODAY AS OF ...",
section "TODAY") can differ and does not count. The report's date comes from the
"...CLIMATE SUMMARY FOR <MONTH> <DAY> <YEAR>..." header, never from list order.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from pmarb.domain.oracle import ClimateReport


class ClimateReportError(ValueError):
    """The product text is not a CLI report we can read."""


_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "JANUARY",
            "FEBRUARY",
            "MARCH",
            "APRIL",
            "MAY",
            "JUNE",
            "JULY",
            "AUGUST",
            "SEPTEMBER",
            "OCTOBER",
            "NOVEMBER",
            "DECEMBER",
        ),
        start=1,
    )
}
_ZONES = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "UTC": 0,
    "GMT": 0,
}
_SUMMARY = re.compile(r"CLIMATE SUMMARY FOR\s+([A-Z]+)\s+(\d{1,2})\s+(\d{4})")
_STATION = re.compile(r"^\s*(CLI[A-Z0-9]{2,4})\s*$", re.MULTILINE)
_ISSUED = re.compile(
    r"^\s*(\d{1,4})\s+(AM|PM)\s+([A-Z]{3,4})\s+[A-Z]{3}\s+([A-Z]{3})\s+(\d{1,2})\s+(\d{4})\s*$",
    re.MULTILINE,
)
_SECTION = re.compile(r"TEMPERATURE \(F\)\s*\n\s*(YESTERDAY|TODAY)\b")
_VALUE = r"^\s*{label}\s+(-?\d+|MM)R?\b"
_MAXIMUM = re.compile(_VALUE.format(label="MAXIMUM"), re.MULTILINE)
_MINIMUM = re.compile(_VALUE.format(label="MINIMUM"), re.MULTILINE)
_MONTH_ABBREVIATIONS = {name[:3]: number for name, number in _MONTHS.items()}


def parse_climate_report(text: str, *, product_id: str | None = None) -> ClimateReport:
    upper = text.upper()
    summary = _SUMMARY.search(upper)
    if summary is None:
        raise ClimateReportError("no '...CLIMATE SUMMARY FOR <date>...' header in the CLI text")
    month = _MONTHS.get(summary.group(1))
    if month is None:
        raise ClimateReportError(f"unknown month {summary.group(1)!r} in the CLI header")
    report_date = date(int(summary.group(3)), month, int(summary.group(2)))
    section = _SECTION.search(upper)
    if section is None:
        raise ClimateReportError("no 'TEMPERATURE (F)' section in the CLI text")
    preliminary = "VALID TODAY AS OF" in upper or "VALID AS OF" in upper
    preliminary = preliminary or section.group(1) == "TODAY"
    # Only the temperature block: later blocks (e.g. degree days) reuse the same labels.
    block = upper[section.end() :]
    station = _STATION.search(upper)
    return ClimateReport(
        station=station.group(1) if station else "",
        report_date=report_date,
        max_f=_reading(_MAXIMUM, block),
        min_f=_reading(_MINIMUM, block),
        preliminary=preliminary,
        issued_at=_issued_at(upper),
        product_id=product_id,
    )


def _reading(pattern: re.Pattern[str], block: str) -> int | None:
    found = pattern.search(block)
    if found is None or found.group(1) == "MM":  # MM: missing
        return None
    return int(found.group(1))


def _issued_at(text: str) -> datetime | None:
    found = _ISSUED.search(text)
    if found is None:
        return None
    clock, half, zone, month, day, year = found.groups()
    offset = _ZONES.get(zone)
    month_number = _MONTH_ABBREVIATIONS.get(month)
    if offset is None or month_number is None:
        return None
    hours, minutes = divmod(int(clock), 100)
    hours = hours % 12 + (12 if half == "PM" else 0)
    return datetime(
        int(year),
        month_number,
        int(day),
        hours,
        minutes,
        tzinfo=timezone(timedelta(hours=offset)),
    )
