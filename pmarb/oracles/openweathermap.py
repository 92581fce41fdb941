"""OpenWeatherMap: a second, independent forecast for the same coordinates
(``/data/2.5/forecast``, 3-hour steps over 5 days) and current conditions (``/data/2.5/weather``).

The API key travels as the ``appid`` query parameter, so it is passed through ``params`` (never
in a URL string that could reach a log or an exception), registered with the log redaction, and
never repeated in an error. OpenWeatherMap's model output is for coordinates, not a station.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from pmarb import logs
from pmarb.domain.oracle import (
    ForecastPeriod,
    OracleSource,
    WeatherForecast,
    WeatherObservation,
)
from pmarb.feeds.http import request_with_retry
from pmarb.oracles.config import OpenWeatherMapSettings
from pmarb.oracles.stream import WallClock, utc_now
from pmarb.oracles.weather import WeatherSourceError, WeatherTarget

_STEP = timedelta(hours=3)


class MainReadings(msgspec.Struct):
    temp: float
    temp_min: float | None = None
    temp_max: float | None = None


class ForecastStep(msgspec.Struct):
    dt: int
    main: MainReadings


class ForecastDocument(msgspec.Struct):
    steps: list[ForecastStep] = msgspec.field(name="list")


class CurrentDocument(msgspec.Struct):
    dt: int
    main: MainReadings
    name: str = ""
    id: int | None = None


class ErrorDocument(msgspec.Struct):
    cod: int | str | None = None
    message: str = ""


def _redact_logger(name: str) -> None:
    logger = logging.getLogger(name)
    if not any(isinstance(f, logs.RedactSecrets) for f in logger.filters):
        logger.addFilter(logs.RedactSecrets())


class OpenWeatherMapClient:
    provides_hourly = False
    source = OracleSource.OPENWEATHERMAP

    def __init__(
        self,
        settings: OpenWeatherMapSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: WallClock = utc_now,
    ) -> None:
        if settings.api_key is None:
            raise WeatherSourceError(
                "OpenWeatherMap needs an API key: set PMARB_ORACLES__OPENWEATHERMAP__API_KEY"
            )
        self._api_key = settings.api_key.get_secret_value()
        logs.register_secret(self._api_key)
        # httpx logs each request URL, and this API only takes the key in the query string.
        _redact_logger("httpx")
        self.base_url = settings.base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_seconds)
        self._owns_client = client is None
        self._clock = clock

    def __repr__(self) -> str:
        return f"OpenWeatherMapClient(base_url={self.base_url!r}, api_key=***)"

    async def __aenter__(self) -> OpenWeatherMapClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, path: str, target: WeatherTarget, document: type[Any]) -> Any:
        params = {
            "lat": f"{target.point.latitude}",
            "lon": f"{target.point.longitude}",
            "units": "imperial",
            "appid": self._api_key,
        }
        response = await request_with_retry(
            self._client, "GET", f"{self.base_url}{path}", params=params
        )
        if response.status_code >= 400:
            raise self._error(path, response)
        try:
            return msgspec.json.decode(response.content, type=document)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise WeatherSourceError(f"OpenWeatherMap {path}: unexpected response: {e}") from None

    def _error(self, path: str, response: httpx.Response) -> WeatherSourceError:
        try:
            detail = msgspec.json.decode(response.content, type=ErrorDocument).message
        except (msgspec.DecodeError, msgspec.ValidationError):
            detail = response.text[:200]
        detail = detail.replace(self._api_key, "***")
        return WeatherSourceError(
            f"OpenWeatherMap {path}: HTTP {response.status_code}: {detail}", response.status_code
        )

    async def forecast(self, target: WeatherTarget, *, hourly: bool = False) -> WeatherForecast:
        """The 3-hour forecast; there is no separate hourly product on this API."""
        document: ForecastDocument = await self._get("/data/2.5/forecast", target, ForecastDocument)
        periods = tuple(
            ForecastPeriod(
                start=(start := datetime.fromtimestamp(step.dt, tz=UTC)),
                end=start + _STEP,
                temperature_f=step.main.temp,
                max_temperature_f=step.main.temp_max,
                min_temperature_f=step.main.temp_min,
            )
            for step in document.steps
        )
        return WeatherForecast(
            source=self.source,
            location=target.name,
            periods=periods,
            generated_at=None,
            received_at=self._clock(),
            hourly=False,
        )

    async def latest_observation(self, target: WeatherTarget) -> WeatherObservation:
        document: CurrentDocument = await self._get("/data/2.5/weather", target, CurrentDocument)
        return WeatherObservation(
            source=self.source,
            station=target.station or target.name,
            observed_at=datetime.fromtimestamp(document.dt, tz=UTC),
            temperature_f=document.main.temp,
            received_at=self._clock(),
        )
