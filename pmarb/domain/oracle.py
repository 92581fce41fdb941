"""Oracle observations: exchange prices, published indices and weather, normalised across sources.

Prices are Decimal (parsed from the source's text, never through a float). Temperatures are
degrees Fahrenheit as float: they are measurements feeding statistics, not money, and every
settlement that uses them rounds to whole degrees anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pmarb.domain.parity import Side


class OracleSource(StrEnum):
    """Where a value originates (not which socket carried it)."""

    BINANCE = "binance"
    BINANCE_USDM = "binance_usdm"
    COINBASE_EXCHANGE = "coinbase_exchange"
    COINBASE_ADVANCED = "coinbase_advanced"
    # Polymarket's real-time data socket relays two origins: a Binance price and Chainlink.
    RTDS_BINANCE = "rtds_binance"
    CHAINLINK = "chainlink"
    NWS = "nws"
    OPENWEATHERMAP = "openweathermap"


class TickKind(StrEnum):
    TRADE = "trade"  # one trade print
    MID = "mid"  # best bid/ask midpoint (bid and ask are on the tick)
    LAST = "last"  # a relayed last price with no book behind it
    INDEX = "index"  # a published reference index value (Chainlink Data Streams)
    TWAP = "twap"  # an index's time-weighted average over ``window_seconds``


@dataclass(frozen=True, slots=True)
class OracleTick:
    source: OracleSource
    symbol: str
    kind: TickKind
    value: Decimal
    source_time: datetime
    received_at: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    size: Decimal | None = None
    aggressor: Side | None = None
    window_seconds: int | None = None

    @property
    def series(self) -> str:
        """The key one latest value is kept under: source, symbol, kind (and TWAP window)."""
        return series_key(self.source, self.symbol, self.kind, self.window_seconds)


def series_key(
    source: OracleSource, symbol: str, kind: TickKind, window_seconds: int | None = None
) -> str:
    suffix = f"{kind}{window_seconds}" if window_seconds is not None else str(kind)
    return f"{source}:{symbol}:{suffix}"


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.latitude <= 90.0 and -180.0 <= self.longitude <= 180.0):
            raise ValueError(f"not a coordinate: {self.latitude},{self.longitude}")

    def __str__(self) -> str:
        return f"{self.latitude:.4f},{self.longitude:.4f}"


@dataclass(frozen=True, slots=True)
class ForecastPeriod:
    start: datetime
    end: datetime
    temperature_f: float
    is_daytime: bool | None = None
    name: str = ""
    # Some sources give the period's own extremes (OpenWeatherMap 3-hour steps).
    max_temperature_f: float | None = None
    min_temperature_f: float | None = None


@dataclass(frozen=True, slots=True)
class WeatherForecast:
    source: OracleSource
    location: str
    periods: tuple[ForecastPeriod, ...]
    generated_at: datetime | None
    received_at: datetime
    hourly: bool = False

    def max_between(self, start: datetime, end: datetime) -> float | None:
        """The highest forecast temperature among periods overlapping [start, end)."""
        values = [
            period.max_temperature_f
            if period.max_temperature_f is not None
            else period.temperature_f
            for period in self.periods
            if period.start < end and period.end > start
        ]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class WeatherObservation:
    source: OracleSource
    station: str
    observed_at: datetime
    temperature_f: float | None
    received_at: datetime
    raw_message: str | None = None


@dataclass(frozen=True, slots=True)
class ClimateReport:
    """A daily climate summary (NWS CLI): what Kalshi's temperature markets settle on."""

    station: str
    report_date: date
    max_f: int | None
    min_f: int | None
    preliminary: bool
    issued_at: datetime | None = None
    product_id: str | None = None
