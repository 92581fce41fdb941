"""Weather sources behind one protocol, and a poller keeping the latest forecast and observations
per target with their freshness.

NWS is the primary source (Kalshi's temperature markets settle on its CLI report); a second
source (OpenWeatherMap) gives an independent forecast for the same coordinates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pmarb.domain.oracle import (
    GeoPoint,
    OracleSource,
    WeatherForecast,
    WeatherObservation,
)
from pmarb.feeds.health import FeedHealth

log = logging.getLogger(__name__)

_OBSERVATIONS_KEPT = 48  # two days of hourly reports: enough for any climate day's running max


class WeatherSourceError(Exception):
    """The weather service answered with an error; the message names status and detail."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class WeatherTarget:
    """A place a market settles on: its coordinates and, where there is one, its station."""

    name: str
    point: GeoPoint
    station: str | None = None


class WeatherSource(Protocol):
    source: OracleSource
    # Whether ``forecast(hourly=True)`` is a distinct product worth polling.
    provides_hourly: bool

    async def forecast(self, target: WeatherTarget, *, hourly: bool = False) -> WeatherForecast: ...

    async def latest_observation(self, target: WeatherTarget) -> WeatherObservation: ...


def fahrenheit(value: float, unit_code: str) -> float:
    """Convert a value with a WMO/UCUM unit code (``wmoUnit:degC``, ``unit:degF``, K) to °F."""
    unit = unit_code.rsplit(":", 1)[-1].lower()
    if unit in ("degf", "f"):
        return value
    if unit in ("degc", "c", "cel"):
        return value * 9.0 / 5.0 + 32.0
    if unit in ("k", "kelvin"):
        return (value - 273.15) * 9.0 / 5.0 + 32.0
    raise WeatherSourceError(f"unknown temperature unit {unit_code!r}")


class WeatherFeed:
    """Polls one source for each target: forecast (daily and hourly) and latest observation."""

    def __init__(
        self,
        source: WeatherSource,
        targets: Sequence[WeatherTarget],
        *,
        poll_seconds: float,
        name: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.source = source
        self.targets = tuple(targets)
        self.poll_seconds = poll_seconds
        self.health = FeedHealth(name or f"weather-{source.source}", **_clock_kwargs(clock))
        self._forecasts: dict[str, WeatherForecast] = {}
        self._observations: dict[str, deque[WeatherObservation]] = {}

    @staticmethod
    def forecast_key(target: WeatherTarget, *, hourly: bool = False) -> str:
        return f"forecast{'-hourly' if hourly else ''}:{target.name}"

    @staticmethod
    def observation_key(target: WeatherTarget) -> str:
        return f"observation:{target.name}"

    def latest_forecast(
        self, target: WeatherTarget, *, hourly: bool = False
    ) -> WeatherForecast | None:
        return self._forecasts.get(self.forecast_key(target, hourly=hourly))

    def latest_observation(self, target: WeatherTarget) -> WeatherObservation | None:
        kept = self._observations.get(self.observation_key(target))
        return kept[-1] if kept else None

    def max_observed_since(self, target: WeatherTarget, start: datetime) -> float | None:
        """The highest temperature observed at the target since ``start`` (the running max of a
        climate day, which can only rise from here)."""
        kept = self._observations.get(self.observation_key(target), ())
        values = [
            o.temperature_f for o in kept if o.observed_at >= start and o.temperature_f is not None
        ]
        return max(values) if values else None

    async def poll_once(self) -> None:
        for target in self.targets:
            for hourly in (False, True) if self.source.provides_hourly else (False,):
                key = self.forecast_key(target, hourly=hourly)
                try:
                    forecast = await self.source.forecast(target, hourly=hourly)
                except Exception as e:
                    self._failed(key, e)
                else:
                    self._forecasts[key] = forecast
                    self.health.record_message(key)
            key = self.observation_key(target)
            try:
                observation = await self.source.latest_observation(target)
            except Exception as e:
                self._failed(key, e)
            else:
                self._record_observation(key, observation)

    def _record_observation(self, key: str, observation: WeatherObservation) -> None:
        kept = self._observations.setdefault(key, deque(maxlen=_OBSERVATIONS_KEPT))
        if not kept or observation.observed_at > kept[-1].observed_at:
            kept.append(observation)
        self.health.record_message(key)

    def _failed(self, key: str, error: Exception) -> None:
        self.health.record_error(f"{key}: {error}")
        log.warning("%s: %s failed: %s", self.health.name, key, error)

    async def run(self, stop: asyncio.Event) -> None:
        self.health.connected = True
        try:
            while not stop.is_set():
                await self.poll_once()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            self.health.connected = False


def _clock_kwargs(clock: Callable[[], float] | None) -> dict[str, Callable[[], float]]:
    return {} if clock is None else {"clock": clock}
