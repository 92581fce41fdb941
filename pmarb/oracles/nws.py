"""National Weather Service API (api.weather.gov): points → gridpoint forecasts, station
observations, and CLI climate reports.

NWS refuses requests without a User-Agent. Errors are RFC 7807 problem documents; they are
raised as :class:`WeatherSourceError` naming status, title, detail and correlation id. Links
inside responses point at the public host, so URLs are rebuilt from ids on the configured base
(which may be a local simulator). Forecast temperatures come either as an integer with
``temperatureUnit`` (default format) or as a QuantitativeValue in degC (feature flag
``forecast_temperature_qv``); both are read.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

import httpx
import msgspec

from pmarb.domain.oracle import (
    ClimateReport,
    ForecastPeriod,
    GeoPoint,
    OracleSource,
    WeatherForecast,
    WeatherObservation,
)
from pmarb.feeds.http import RETRYABLE_STATUSES, request_with_retry
from pmarb.oracles.climate_report import ClimateReportError, parse_climate_report
from pmarb.oracles.config import NwsSettings
from pmarb.oracles.stream import WallClock, utc_now
from pmarb.oracles.weather import WeatherSourceError, WeatherTarget, fahrenheit

log = logging.getLogger(__name__)

# A 500 from NWS carries a problem document worth showing; the poller's next cycle is the
# retry. Throttling and gateway errors are retried at once.
_RETRY_STATUSES = RETRYABLE_STATUSES - {500}


class QuantitativeValue(msgspec.Struct):
    unitCode: str = ""
    value: float | None = None


class PointProperties(msgspec.Struct):
    gridId: str
    gridX: int
    gridY: int
    timeZone: str | None = None
    observationStations: str | None = None


class PointDocument(msgspec.Struct):
    properties: PointProperties


class Period(msgspec.Struct):
    startTime: datetime
    endTime: datetime
    temperature: float | QuantitativeValue | None = None
    temperatureUnit: str | None = None
    isDaytime: bool | None = None
    name: str = ""


class ForecastProperties(msgspec.Struct):
    periods: list[Period]
    generatedAt: datetime | None = None
    updateTime: datetime | None = None


class ForecastDocument(msgspec.Struct):
    properties: ForecastProperties


class ObservationProperties(msgspec.Struct):
    timestamp: datetime
    temperature: QuantitativeValue | None = None
    rawMessage: str | None = None
    stationId: str | None = None
    station: str | None = None


class ObservationDocument(msgspec.Struct):
    properties: ObservationProperties


class StationProperties(msgspec.Struct):
    stationIdentifier: str


class StationFeature(msgspec.Struct):
    properties: StationProperties


class StationCollection(msgspec.Struct):
    features: list[StationFeature]


class ProductRef(msgspec.Struct, rename={"graph_id": "@id"}):
    id: str
    issuanceTime: datetime
    productCode: str = ""
    issuingOffice: str = ""
    graph_id: str | None = None


class ProductList(msgspec.Struct, rename={"graph": "@graph"}):
    graph: list[ProductRef]


class Product(msgspec.Struct):
    productText: str
    id: str | None = None
    issuanceTime: datetime | None = None


class Problem(msgspec.Struct):
    status: int | None = None
    title: str = ""
    detail: str = ""
    correlationId: str | None = None
    type: str | None = None


class NwsPoint(msgspec.Struct, frozen=True):
    grid_id: str
    grid_x: int
    grid_y: int
    time_zone: str | None


class NwsClient:
    provides_hourly = True
    source = OracleSource.NWS

    def __init__(
        self,
        settings: NwsSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: WallClock = utc_now,
    ) -> None:
        self.base_url = settings.base_url.rstrip("/")
        self._headers = {"User-Agent": settings.user_agent, "Accept": "application/geo+json"}
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_seconds)
        self._owns_client = client is None
        self._clock = clock
        self._points: dict[GeoPoint, NwsPoint] = {}

    async def __aenter__(self) -> NwsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, path: str, document: type[Any]) -> Any:
        url = f"{self.base_url}{path}"
        response = await request_with_retry(
            self._client, "GET", url, headers=self._headers, retry_statuses=_RETRY_STATUSES
        )
        if response.status_code >= 400:
            raise _problem_error(response)
        try:
            return msgspec.json.decode(response.content, type=document)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise WeatherSourceError(f"NWS {path}: unexpected response: {e}") from None

    async def point(self, point: GeoPoint) -> NwsPoint:
        cached = self._points.get(point)
        if cached is not None:
            return cached
        document: PointDocument = await self._get(f"/points/{point}", PointDocument)
        found = NwsPoint(
            grid_id=document.properties.gridId,
            grid_x=document.properties.gridX,
            grid_y=document.properties.gridY,
            time_zone=document.properties.timeZone,
        )
        self._points[point] = found  # a point's grid cell does not move
        return found

    async def forecast(self, target: WeatherTarget, *, hourly: bool = False) -> WeatherForecast:
        grid = await self.point(target.point)
        path = f"/gridpoints/{grid.grid_id}/{grid.grid_x},{grid.grid_y}/forecast"
        document: ForecastDocument = await self._get(
            path + ("/hourly" if hourly else ""), ForecastDocument
        )
        periods = tuple(_period(period) for period in document.properties.periods)
        return WeatherForecast(
            source=self.source,
            location=target.name,
            periods=periods,
            generated_at=document.properties.generatedAt or document.properties.updateTime,
            received_at=self._clock(),
            hourly=hourly,
        )

    async def stations(self, point: GeoPoint) -> list[str]:
        grid = await self.point(point)
        path = f"/gridpoints/{grid.grid_id}/{grid.grid_x},{grid.grid_y}/stations"
        document: StationCollection = await self._get(path, StationCollection)
        return [feature.properties.stationIdentifier for feature in document.features]

    async def latest_observation(self, target: WeatherTarget) -> WeatherObservation:
        station = target.station
        if station is None:
            nearby = await self.stations(target.point)
            if not nearby:
                raise WeatherSourceError(f"NWS lists no observation station near {target.point}")
            station = nearby[0]
        document: ObservationDocument = await self._get(
            f"/stations/{station}/observations/latest", ObservationDocument
        )
        properties = document.properties
        temperature = properties.temperature
        value = (
            fahrenheit(temperature.value, temperature.unitCode)
            if temperature is not None and temperature.value is not None
            else None
        )
        return WeatherObservation(
            source=self.source,
            station=properties.stationId or station,
            observed_at=properties.timestamp,
            temperature_f=value,
            received_at=self._clock(),
            raw_message=properties.rawMessage,
        )

    async def climate_products(self, location: str) -> list[ProductRef]:
        """CLI products for a location (e.g. ``NYC``), newest issuance first."""
        document: ProductList = await self._get(
            f"/products/types/CLI/locations/{location}", ProductList
        )
        return sorted(document.graph, key=lambda ref: ref.issuanceTime, reverse=True)

    async def climate_report(self, product_id: str) -> ClimateReport:
        product: Product = await self._get(f"/products/{product_id}", Product)
        try:
            report = parse_climate_report(product.productText, product_id=product_id)
        except ClimateReportError as e:
            raise WeatherSourceError(f"NWS product {product_id}: {e}") from None
        if report.issued_at is None and product.issuanceTime is not None:
            report = ClimateReport(
                station=report.station,
                report_date=report.report_date,
                max_f=report.max_f,
                min_f=report.min_f,
                preliminary=report.preliminary,
                issued_at=product.issuanceTime,
                product_id=product_id,
            )
        return report

    async def final_climate_report(self, location: str, day: date) -> ClimateReport | None:
        """The first final (non-preliminary) report for ``day``: what settlement uses."""
        finals: list[ClimateReport] = []
        for ref in await self.climate_products(location):
            if ref.issuanceTime.date() < day:
                break  # newest first: everything further is older than the day itself
            report = await self.climate_report(ref.id)
            if report.report_date == day and not report.preliminary:
                finals.append(report)
        if not finals:
            return None
        return min(
            finals,
            key=lambda r: (r.issued_at is None, r.issued_at.timestamp() if r.issued_at else 0.0),
        )


def _period(period: Period) -> ForecastPeriod:
    temperature = period.temperature
    if isinstance(temperature, QuantitativeValue):
        if temperature.value is None:
            raise WeatherSourceError(f"forecast period {period.name!r} has no temperature")
        value = fahrenheit(temperature.value, temperature.unitCode)
    elif temperature is not None:
        value = fahrenheit(temperature, period.temperatureUnit or "F")
    else:
        raise WeatherSourceError(f"forecast period {period.name!r} has no temperature")
    return ForecastPeriod(
        start=period.startTime,
        end=period.endTime,
        temperature_f=value,
        is_daytime=period.isDaytime,
        name=period.name,
    )


def _problem_error(response: httpx.Response) -> WeatherSourceError:
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return WeatherSourceError(
            f"NWS HTTP {response.status_code}: {response.text[:200]}", response.status_code
        )
    status = problem.status or response.status_code
    parts = [f"NWS HTTP {status}"]
    if problem.title:
        parts.append(f" {problem.title}")
    if problem.detail:
        parts.append(f": {problem.detail}")
    if problem.correlationId:
        parts.append(f" (correlation id {problem.correlationId})")
    return WeatherSourceError("".join(parts), status)
