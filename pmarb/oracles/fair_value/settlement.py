"""What a market settles on, read from its own rule text — never assumed from its title.

No Kalshi crypto contract shares a settlement index with a Polymarket one:

* Kalshi crypto: CF Benchmarks BRTI, simple mean of the 60 one-second values before the time
  (15-minute up/down: against the same 60 s mean before the window opened, "at least");
  ladders: "above 77999.99" is strict;
* Polymarket 5/15-minute up/down: Chainlink BTC/USD Data Stream — spot in early 2026, a 60 s
  (5-minute windows: 30 s) TWAP since mid-2026 — end ≥ start, ties go Up;
* Polymarket hourly up/down: the Binance BTC/USDT 1-hour candle, close ≥ open;
* Polymarket daily "above": the Binance BTC/USDT 1-minute candle close, strictly higher;
* weather: a named station and vendor (Kalshi: NWS CLI, later The Weather Company; Polymarket:
  Wunderground), whole °F.

Rules change under live series, so the spec is derived per market from its rules and
resolution source; anything unrecognised raises :class:`UnknownSettlement` (fail closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.market import Market
from pmarb.oracles.fair_value.models import Comparison


class UnknownSettlement(ValueError):
    """The market's rules do not match a settlement we know how to price."""


class SettlementIndex(StrEnum):
    CF_BRTI = "cf_brti"
    CHAINLINK_SPOT = "chainlink_spot"
    CHAINLINK_TWAP = "chainlink_twap"
    BINANCE_CANDLE = "binance_candle"
    NWS_CLI = "nws_cli"
    WEATHER_COMPANY = "weather_company"
    WUNDERGROUND = "wunderground"


class Reference(StrEnum):
    STRIKE = "strike"  # a fixed number in the rules
    WINDOW_OPEN = "window_open"  # the index's value (or average) when the window opened


@dataclass(frozen=True, slots=True)
class CryptoSettlement:
    index: SettlementIndex
    asset: str
    quote: str
    # 0: one print (candle close, a Data Streams report); else the mean/TWAP over this many s.
    averaging_seconds: int
    comparison: Comparison
    reference: Reference
    strike: Decimal | None = None
    cap: Decimal | None = None  # a range market's upper bound (YES iff strike ≤ value ≤ cap)
    window_start: datetime | None = None
    settles_at: datetime | None = None
    tick: Decimal = Decimal("0.01")

    @property
    def window_seconds(self) -> float | None:
        if self.window_start is None or self.settles_at is None:
            return None
        return (self.settles_at - self.window_start).total_seconds()


@dataclass(frozen=True, slots=True)
class WeatherSettlement:
    vendor: SettlementIndex
    station: str
    quantity: str  # "max" or "min" for the climate day
    low: int | None  # reported whole °F, inclusive; None is open-ended
    high: int | None
    settles_at: datetime | None = None


Settlement = CryptoSettlement | WeatherSettlement

_ASSETS = {
    "BITCOIN": "BTC",
    "BTC": "BTC",
    "ETHEREUM": "ETH",
    "ETH": "ETH",
    "SOLANA": "SOL",
    "SOL": "SOL",
    "XRP": "XRP",
    "DOGECOIN": "DOGE",
    "DOGE": "DOGE",
    "BRTI": "BTC",  # CF Benchmarks' Bitcoin Real-Time Index
    "ETHUSD_RTI": "ETH",
}
_ASSET = re.compile(r"\b(" + "|".join(_ASSETS) + r")\b", re.IGNORECASE)
_NUMBER = r"\$?([0-9][0-9,]*(?:\.[0-9]+)?)"
_ABOVE = re.compile(r"\bis (?:above|greater than|higher than|over) " + _NUMBER, re.IGNORECASE)
_BELOW = re.compile(r"\bis (?:below|less than|lower than|under) " + _NUMBER, re.IGNORECASE)
_BETWEEN = re.compile(r"\bbetween " + _NUMBER + r"\s*(?:and|to|-)\s*" + _NUMBER, re.IGNORECASE)
_TWAP_SECONDS = re.compile(r"(\d+)[- ]?s(?:econd)?s?[- ]twap|twap[- ](\d+)s", re.IGNORECASE)

# Settlement stations by the names rule texts use.
_STATIONS = {
    "CENTRAL PARK": "KNYC",
    "CLINYC": "KNYC",
    "LAGUARDIA": "KLGA",
    "LA GUARDIA": "KLGA",
    "MIDWAY": "KMDW",
    "CLIMDW": "KMDW",
    "O'HARE": "KORD",
    "OHARE": "KORD",
    "HOBBY": "KHOU",
    "CLIHOU": "KHOU",
    "LOVE FIELD": "KDAL",
}
_STATION_CODE = re.compile(r"/(K[A-Z]{3})\b|\((K[A-Z]{3})\)|\bstation (K[A-Z]{3})\b")


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _asset(text: str) -> str:
    found = _ASSET.search(text)
    if found is None:
        raise UnknownSettlement("no known crypto asset named in the rules")
    return _ASSETS[found.group(1).upper()]


def settlement_for(market: Market, *, strike: Decimal | None = None) -> Settlement:
    """The settlement spec for ``market``. ``strike`` overrides a number parsed from the rules
    (Kalshi publishes ``floor_strike``, which can differ by a cent from the display text)."""
    # The title comes last: it may name the asset, but comparisons are read from the rules.
    parts = (market.rules, market.settlement_source or "", market.title)
    text = " ".join(part for part in parts if part)
    upper = text.upper()
    if "TEMPERATURE" in upper:
        return _weather(market, upper)
    if "CF BENCHMARKS" in upper or "BRTI" in upper or "REAL-TIME INDEX" in upper:
        return _kalshi_crypto(market, text, upper, strike)
    if "CHAINLINK" in upper:
        return _chainlink_up_down(market, text, upper)
    if "BINANCE" in upper:
        return _binance_candle(market, text, upper, strike)
    raise UnknownSettlement(f"{market.venue}:{market.market_id}: unrecognised settlement source")


def _kalshi_crypto(
    market: Market, text: str, upper: str, strike: Decimal | None
) -> CryptoSettlement:
    if "SIXTY SECONDS" not in upper and "60 RTI PRICES" not in upper:
        raise UnknownSettlement("BRTI rules without the 60-second average")
    asset = _asset(text)
    settles_at = market.observation_time or market.close_time
    if "IS AT LEAST THE SIMPLE AVERAGE" in upper:
        # Up/down: the 60 s average before the end against the 60 s average before the start.
        minutes = re.search(r"NEXT (\d+) MIN", market.title.upper()) or re.search(
            r"(\d+)M$", (market.series_id or "").upper()
        )
        window_start = (
            settles_at - timedelta(minutes=int(minutes.group(1)))
            if settles_at is not None and minutes is not None
            else None
        )
        return CryptoSettlement(
            index=SettlementIndex.CF_BRTI,
            asset=asset,
            quote="USD",
            averaging_seconds=60,
            comparison=Comparison.GE,
            reference=Reference.WINDOW_OPEN,
            strike=strike,
            window_start=window_start,
            settles_at=settles_at,
        )
    between = _BETWEEN.search(text)
    if between is not None:
        low, high = _number(between.group(1)), _number(between.group(2))
        return CryptoSettlement(
            index=SettlementIndex.CF_BRTI,
            asset=asset,
            quote="USD",
            averaging_seconds=60,
            comparison=Comparison.GE,
            reference=Reference.STRIKE,
            strike=strike if strike is not None else low,
            cap=high,
            settles_at=settles_at,
        )
    for pattern, comparison in ((_ABOVE, Comparison.GT), (_BELOW, Comparison.LT)):
        found = pattern.search(text)
        if found is not None:
            return CryptoSettlement(
                index=SettlementIndex.CF_BRTI,
                asset=asset,
                quote="USD",
                averaging_seconds=60,
                comparison=comparison,
                reference=Reference.STRIKE,
                strike=strike if strike is not None else _number(found.group(1)),
                settles_at=settles_at,
            )
    raise UnknownSettlement("BRTI rules without a recognisable comparison")


def _chainlink_up_down(market: Market, text: str, upper: str) -> CryptoSettlement:
    if "GREATER THAN OR EQUAL TO THE PRICE AT THE BEGINNING" not in upper:
        raise UnknownSettlement("Chainlink rules that are not an up/down window")
    twap = _TWAP_SECONDS.search(text)
    if twap is not None:
        index, averaging = SettlementIndex.CHAINLINK_TWAP, int(twap.group(1) or twap.group(2))
    elif "TWAP" in upper:
        raise UnknownSettlement("a Chainlink TWAP settlement without its window length")
    else:
        index, averaging = SettlementIndex.CHAINLINK_SPOT, 0
    return CryptoSettlement(
        index=index,
        asset=_asset(text),
        quote="USD",
        averaging_seconds=averaging,
        comparison=Comparison.GE,
        reference=Reference.WINDOW_OPEN,
        window_start=_window_start(market),
        settles_at=market.close_time,
    )


_SLUG_MINUTES = re.compile(r"updown-(\d+)m\b", re.IGNORECASE)
_TITLE_RANGE = re.compile(
    r"(\d{1,2})(?::(\d{2}))?\s*(AM|PM)\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*(AM|PM)", re.IGNORECASE
)


def _clock_minutes(hour: str, minute: str | None, half: str) -> int:
    return (int(hour) % 12 + (12 if half.upper() == "PM" else 0)) * 60 + int(minute or 0)


def _window_start(market: Market) -> datetime | None:
    """An up/down window's opening time: its end less its length, read from the slug
    (``btc-updown-15m-<start>``) or from the title's time range ("9:15PM-9:30PM ET")."""
    if market.close_time is None:
        return None
    for text in (market.market_id, market.event_id or "", market.series_id or ""):
        if found := _SLUG_MINUTES.search(text):
            return market.close_time - timedelta(minutes=int(found.group(1)))
    if found := _TITLE_RANGE.search(market.title):
        start = _clock_minutes(found.group(1), found.group(2), found.group(3))
        end = _clock_minutes(found.group(4), found.group(5), found.group(6))
        return market.close_time - timedelta(minutes=(end - start) % (24 * 60))
    raise UnknownSettlement("an up/down window whose length is in neither slug nor title")


def _binance_candle(
    market: Market, text: str, upper: str, strike: Decimal | None
) -> CryptoSettlement:
    asset = _asset(text)
    if "CLOSE PRICE IS GREATER THAN OR EQUAL TO THE OPEN PRICE" in upper:
        hours = 1 if re.search(r"\b1 ?H(OUR)?\b", upper) else None
        if hours is None:
            raise UnknownSettlement("a Binance candle up/down without a recognised candle length")
        settles_at = market.close_time
        return CryptoSettlement(
            index=SettlementIndex.BINANCE_CANDLE,
            asset=asset,
            quote="USDT",
            averaging_seconds=0,
            comparison=Comparison.GE,
            reference=Reference.WINDOW_OPEN,
            window_start=settles_at - timedelta(hours=hours) if settles_at else None,
            settles_at=settles_at,
        )
    # The daily "above" rules say "higher than the price specified in the title".
    found = (
        _ABOVE.search(market.rules)
        or re.search(r"higher than " + _NUMBER, market.rules, re.IGNORECASE)
        or re.search(r"\babove " + _NUMBER, market.title, re.IGNORECASE)
    )
    if "HIGHER THAN" in upper and (found is not None or strike is not None):
        return CryptoSettlement(
            index=SettlementIndex.BINANCE_CANDLE,
            asset=asset,
            quote="USDT",
            averaging_seconds=0,
            comparison=Comparison.GT,
            reference=Reference.STRIKE,
            strike=strike if strike is not None else _number(found.group(1)) if found else None,
            settles_at=market.observation_time or market.close_time,
        )
    raise UnknownSettlement("Binance rules that are neither a candle up/down nor 'higher than'")


_DEGREES = r"(-?\d+(?:\.\d+)?)\s*°?"


def _weather(market: Market, upper: str) -> WeatherSettlement:
    if "CLIMATOLOGICAL REPORT" in upper or "CLIMATE REPORT" in upper:
        vendor = SettlementIndex.NWS_CLI
    elif "WEATHER COMPANY" in upper:
        vendor = SettlementIndex.WEATHER_COMPANY
    elif "WUNDERGROUND" in upper:
        vendor = SettlementIndex.WUNDERGROUND
    else:
        raise UnknownSettlement("temperature rules without a known reporting vendor")
    if "HIGHEST" in upper or "MAXIMUM" in upper:
        quantity = "max"
    elif "LOWEST" in upper or "MINIMUM" in upper:
        quantity = "min"
    else:
        raise UnknownSettlement("an hourly or other temperature quantity, not a daily extreme")
    station = next((code for name, code in _STATIONS.items() if name in upper), None)
    if station is None:
        code = _STATION_CODE.search(upper)
        station = next((group for group in code.groups() if group), None) if code else None
    if station is None:
        raise UnknownSettlement("temperature rules naming no station we know")
    low: int | None
    high: int | None
    if found := re.search(r"BETWEEN " + _DEGREES + r"\s*(?:-|TO|AND)\s*" + _DEGREES, upper):
        low, high = round(float(found.group(1))), round(float(found.group(2)))
    elif found := re.search(r"(?:GREATER THAN|ABOVE) " + _DEGREES, upper):
        low, high = int(float(found.group(1)) // 1) + 1, None
    elif found := re.search(r"LESS THAN " + _DEGREES, upper):
        value = float(found.group(1))
        low, high = None, -int((-value) // 1) - 1
    else:
        raise UnknownSettlement("temperature rules without a recognisable bracket")
    return WeatherSettlement(
        vendor=vendor,
        station=station,
        quantity=quantity,
        low=low,
        high=high,
        settles_at=market.close_time,
    )
