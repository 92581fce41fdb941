"""NWS and OpenWeatherMap clients against a local HTTP server serving the recorded documents."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from pmarb.domain.oracle import GeoPoint, OracleSource
from pmarb.oracles.climate_report import ClimateReportError, parse_climate_report
from pmarb.oracles.config import NwsSettings, OpenWeatherMapSettings
from pmarb.oracles.nws import NwsClient
from pmarb.oracles.openweathermap import OpenWeatherMapClient
from pmarb.oracles.weather import WeatherFeed, WeatherSourceError, WeatherTarget, fahrenheit
from tests.oracles.support import document
from tests.support import ServedApp

CENTRAL_PARK = WeatherTarget("NYC Central Park", GeoPoint(40.7831, -73.9712), station="KNYC")
CHICAGO = WeatherTarget("Chicago", GeoPoint(41.7868, -87.7522))
USER_AGENT = "pmarb-test (ops@example.invalid)"
CLI = document("nws", "products_CLI_CLINYC_2026-08-27_final_excerpt.json")


def preliminary_text() -> str:
    """The same report as the same-day preliminary would read (NWS wording)."""
    text: str = CLI["productText"]
    return (
        text.replace("257 AM EDT FRI AUG 28 2026", "430 PM EDT THU AUG 27 2026")
        .replace("CLIMATE SUMMARY FOR AUGUST 27 2026...", "CLIMATE SUMMARY FOR AUGUST 27 2026...\n"
                 "VALID TODAY AS OF 0400 PM LOCAL TIME.")
        .replace(" YESTERDAY\n", " TODAY\n")
        .replace("MAXIMUM         77", "MAXIMUM         76")
    )  # fmt: skip


def json_response(body: Any, status: int = 200, media: str = "application/geo+json") -> Response:
    return Response(content=json.dumps(body), status_code=status, media_type=media)


def nws_app(seen_agents: list[str]) -> FastAPI:
    app = FastAPI()
    problem = "application/problem+json"
    chicago_point = copy.deepcopy(document("nws", "points_40.7831,-73.9712.json"))
    chicago_point["properties"].update(gridId="LOT", gridX=72, gridY=69)
    documents = {
        "/points/40.7831,-73.9712": document("nws", "points_40.7831,-73.9712.json"),
        "/points/41.7868,-87.7522": chicago_point,
        "/gridpoints/OKX/33,37/forecast": document(
            "nws", "gridpoints_OKX_33,37_forecast_qv_trimmed.json"
        ),
        "/gridpoints/OKX/33,37/forecast/hourly": document(
            "nws", "gridpoints_OKX_33,37_forecast_hourly_qv_trimmed.json"
        ),
        "/gridpoints/LOT/72,69/forecast": document(
            "nws", "gridpoints_LOT_72,69_forecast_default_format_trimmed.json"
        ),
        "/gridpoints/OKX/33,37/stations": document("nws", "gridpoints_OKX_33,37_stations.json"),
        "/stations/KNYC/observations/latest": document(
            "nws", "stations_KNYC_observations_latest.json"
        ),
        "/stations/KLGA/observations/latest": document(
            "nws", "stations_KNYC_observations_latest_2026-07-27_trimmed.json"
        ),
        # GeoPoint refuses 999,999 itself; the server's rejection is replayed for this one.
        "/points/-89.0000,179.0000": (document("nws", "problem_400_invalid_point.json"), 400),
        "/stations/KXXX/observations/latest": (document("nws", "problem_500_unexpected.json"), 500),
        "/products/types/CLI/locations/NYC": {
            "@graph": [
                # Listed out of issuance order on purpose: order must not matter.
                {
                    "id": "prelim-0827",
                    "issuanceTime": "2026-08-27T20:30:00+00:00",
                    "productCode": "CLI",
                    "issuingOffice": "KOKX",
                },
                {
                    "id": "final-0827",
                    "issuanceTime": "2026-08-28T06:57:00+00:00",
                    "productCode": "CLI",
                    "issuingOffice": "KOKX",
                },
                {
                    "id": "final-0826",
                    "issuanceTime": "2026-08-27T06:50:00+00:00",
                    "productCode": "CLI",
                    "issuingOffice": "KOKX",
                },
            ]
        },
        "/products/final-0827": {"id": "final-0827", **CLI},
        "/products/prelim-0827": {"id": "prelim-0827", "productText": preliminary_text()},
        "/products/final-0826": {
            "id": "final-0826",
            "productText": CLI["productText"].replace("AUGUST 27 2026", "AUGUST 26 2026"),
        },
    }

    @app.get("/{path:path}")
    async def serve(path: str, request: Request) -> Response:
        seen_agents.append(request.headers.get("user-agent", ""))
        found = documents.get("/" + path)
        if found is None:
            return json_response({"title": "Not Found", "status": 404}, 404, problem)
        if isinstance(found, tuple):
            body, status = found
            return json_response(body, status, problem)
        return json_response(found)

    return app


@pytest.fixture
async def nws() -> Any:
    agents: list[str] = []
    async with ServedApp(nws_app(agents)) as served:
        client = NwsClient(NwsSettings(base_url=served.url, user_agent=USER_AGENT))
        try:
            yield client, agents
        finally:
            await client.aclose()


async def test_nws_point_to_gridpoint_forecast_in_fahrenheit(nws: Any) -> None:
    client, agents = nws
    point = await client.point(CENTRAL_PARK.point)
    assert (point.grid_id, point.grid_x, point.grid_y) == ("OKX", 33, 37)
    forecast = await client.forecast(CENTRAL_PARK)
    raw_periods = document("nws", "gridpoints_OKX_33,37_forecast_qv_trimmed.json")["properties"][
        "periods"
    ]
    assert len(forecast.periods) == len(raw_periods)
    thursday = forecast.periods[1]
    assert thursday.is_daytime and thursday.name == "Thursday"
    # 13.333… °C is the forecast "High near 56".
    assert thursday.temperature_f == pytest.approx(56.0)
    assert forecast.generated_at == datetime(2023, 3, 2, 7, 24, 39, tzinfo=UTC)
    day = forecast.max_between(thursday.start, thursday.end)
    assert day == pytest.approx(56.0)
    assert set(agents) == {USER_AGENT}, "NWS requires a User-Agent on every request"


async def test_nws_hourly_and_default_integer_format(nws: Any) -> None:
    client, _ = nws
    hourly = await client.forecast(CENTRAL_PARK, hourly=True)
    assert hourly.hourly and len(hourly.periods) == 4
    assert hourly.periods[-1].temperature_f == pytest.approx(43.0)  # 6.111 °C
    chicago = await client.forecast(CHICAGO)
    assert [p.temperature_f for p in chicago.periods] == [78.0, 90.0]
    assert chicago.periods[1].start.utcoffset() is not None


async def test_nws_latest_observation_and_stations(nws: Any) -> None:
    client, _ = nws
    observation = await client.latest_observation(CENTRAL_PARK)
    assert observation.source is OracleSource.NWS
    assert observation.temperature_f == pytest.approx(6.7 * 9 / 5 + 32)
    assert observation.raw_message is not None and observation.raw_message.startswith("KNYC")
    assert observation.observed_at == datetime(2023, 3, 4, 20, 51, tzinfo=UTC)
    assert await client.stations(CENTRAL_PARK.point) == ["KNYC", "KLGA", "KTEB"]
    trimmed = await client.latest_observation(WeatherTarget("LGA", CENTRAL_PARK.point, "KLGA"))
    assert trimmed.station == "KNYC" and trimmed.temperature_f == pytest.approx(71.06)
    # Without a station the first station of the grid cell is used.
    unnamed = await client.latest_observation(WeatherTarget("grid", CENTRAL_PARK.point))
    assert unnamed.station == "KNYC"


async def test_nws_problem_documents_become_clear_errors(nws: Any) -> None:
    client, _ = nws
    bad_point = document("nws", "problem_400_invalid_point.json")
    with pytest.raises(WeatherSourceError) as invalid:
        await client.forecast(WeatherTarget("nowhere", GeoPoint(-89.0, 179.0)))
    assert invalid.value.status == 400
    message = str(invalid.value)
    assert f"NWS HTTP 400 {bad_point['title']}: {bad_point['detail']}" in message
    assert bad_point["correlationId"] in message
    with pytest.raises(WeatherSourceError) as missing:
        await client.forecast(WeatherTarget("elsewhere", GeoPoint(-88.0, 170.0)))
    assert missing.value.status == 404
    unexpected = document("nws", "problem_500_unexpected.json")
    with pytest.raises(WeatherSourceError) as server_error:
        await client.latest_observation(WeatherTarget("x", CENTRAL_PARK.point, "KXXX"))
    assert server_error.value.status == 500
    assert f"NWS HTTP 500 {unexpected['title']}: {unexpected['detail']}" in str(server_error.value)


async def test_nws_final_climate_report_skips_the_preliminary(nws: Any) -> None:
    client, _ = nws
    products = await client.climate_products("NYC")
    assert [p.id for p in products] == ["final-0827", "prelim-0827", "final-0826"]
    preliminary = await client.climate_report("prelim-0827")
    assert preliminary.preliminary and preliminary.max_f == 76
    report = await client.final_climate_report("NYC", date(2026, 8, 27))
    assert report is not None and not report.preliminary
    assert (report.report_date, report.max_f, report.min_f) == (date(2026, 8, 27), 77, 68)
    assert report.product_id == "final-0827"
    assert await client.final_climate_report("NYC", date(2026, 8, 29)) is None


def test_climate_report_text_parsing() -> None:
    report = parse_climate_report(CLI["productText"])
    assert report.station == "CLINYC"
    assert report.issued_at is not None
    assert report.issued_at.isoformat() == "2026-08-28T02:57:00-04:00"
    missing = CLI["productText"].replace("MAXIMUM         77", "MAXIMUM         MM")
    assert parse_climate_report(missing).max_f is None
    record = CLI["productText"].replace("MAXIMUM         77 ", "MAXIMUM        102R")
    assert parse_climate_report(record).max_f == 102
    with pytest.raises(ClimateReportError, match="CLIMATE SUMMARY"):
        parse_climate_report("000\nSOMETHING ELSE ENTIRELY\n")


def test_temperature_units() -> None:
    assert fahrenheit(100.0, "wmoUnit:degC") == pytest.approx(212.0)
    assert fahrenheit(273.15, "wmoUnit:K") == pytest.approx(32.0)
    assert fahrenheit(50.0, "F") == 50.0
    with pytest.raises(WeatherSourceError, match="unknown temperature unit"):
        fahrenheit(1.0, "wmoUnit:furlong")


async def test_weather_feed_polls_latest_values_and_records_failures(nws: Any) -> None:
    client, _ = nws
    broken = WeatherTarget("broken station", CENTRAL_PARK.point, station="KXXX")
    feed = WeatherFeed(client, [CENTRAL_PARK, broken], poll_seconds=60)
    await feed.poll_once()
    forecast = feed.latest_forecast(CENTRAL_PARK)
    assert forecast is not None and not forecast.hourly
    hourly = feed.latest_forecast(CENTRAL_PARK, hourly=True)
    assert hourly is not None and hourly.hourly
    observation = feed.latest_observation(CENTRAL_PARK)
    assert observation is not None and observation.station == "KNYC"
    assert feed.health.is_fresh(WeatherFeed.observation_key(CENTRAL_PARK), max_age=60)
    assert not feed.health.is_fresh(WeatherFeed.observation_key(broken), max_age=60)
    assert "500" in (feed.health.last_error or "")
    assert feed.max_observed_since(CENTRAL_PARK, datetime(2023, 3, 4, tzinfo=UTC)) == (
        pytest.approx(observation.temperature_f)
    )
    assert feed.max_observed_since(CENTRAL_PARK, datetime(2023, 3, 5, tzinfo=UTC)) is None


# --- OpenWeatherMap ----------------------------------------------------------------------------
# No recording exists in shared/fixtures; these bodies follow the documented /data/2.5 shapes.

OWM_KEY = "owm-test-key-5f3a9c"
OWM_FORECAST = {
    "cod": "200",
    "message": 0,
    "cnt": 2,
    "list": [
        {"dt": 1785153600, "main": {"temp": 84.2, "feels_like": 88.0, "temp_min": 82.9,
         "temp_max": 84.2, "pressure": 1012, "humidity": 60}, "weather": [{"id": 800}],
         "dt_txt": "2026-07-27 12:00:00"},
        {"dt": 1785164400, "main": {"temp": 89.6, "temp_min": 89.1, "temp_max": 90.3},
         "dt_txt": "2026-07-27 15:00:00"},
    ],
    "city": {"id": 5128581, "name": "New York", "coord": {"lat": 40.7831, "lon": -73.9712},
             "timezone": -14400},
}  # fmt: skip
OWM_CURRENT = {
    "coord": {"lon": -73.9712, "lat": 40.7831},
    "main": {"temp": 71.06, "temp_min": 69.8, "temp_max": 72.5, "humidity": 71},
    "dt": 1785142260,
    "name": "New York",
    "id": 5128581,
    "cod": 200,
}


def owm_app(queries: list[dict[str, str]]) -> FastAPI:
    app = FastAPI()

    @app.get("/data/2.5/{product}")
    async def serve(product: str, request: Request) -> Response:
        query = dict(request.query_params)
        queries.append(query)
        if query.get("appid") != OWM_KEY:
            return json_response(
                {"cod": 401, "message": "Invalid API key. Please see the FAQ."}, 401
            )
        return json_response(OWM_FORECAST if product == "forecast" else OWM_CURRENT)

    return app


async def test_openweathermap_forecast_and_current_behind_the_same_protocol() -> None:
    queries: list[dict[str, str]] = []
    async with ServedApp(owm_app(queries)) as served:
        settings = OpenWeatherMapSettings(base_url=served.url, api_key=OWM_KEY)
        async with OpenWeatherMapClient(settings) as client:
            feed = WeatherFeed(client, [CENTRAL_PARK], poll_seconds=60)
            await feed.poll_once()
    forecast = feed.latest_forecast(CENTRAL_PARK)
    assert forecast is not None and forecast.source is OracleSource.OPENWEATHERMAP
    assert [p.temperature_f for p in forecast.periods] == [84.2, 89.6]
    assert forecast.max_between(forecast.periods[0].start, forecast.periods[-1].end) == 90.3
    observation = feed.latest_observation(CENTRAL_PARK)
    assert observation is not None and observation.temperature_f == 71.06
    assert {q["units"] for q in queries} == {"imperial"}
    assert {(q["lat"], q["lon"]) for q in queries} == {("40.7831", "-73.9712")}
    assert len(queries) == 2, "no separate hourly product is polled"


async def test_openweathermap_key_never_reaches_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queries: list[dict[str, str]] = []
    wrong_key = "wrong-key-7d1e2b"
    caplog.set_level(logging.DEBUG)
    async with ServedApp(owm_app(queries)) as served:
        settings = OpenWeatherMapSettings(base_url=served.url, api_key=wrong_key)
        async with OpenWeatherMapClient(settings) as client:
            assert wrong_key not in repr(client)
            with pytest.raises(WeatherSourceError) as caught:
                await client.forecast(CENTRAL_PARK)
            feed = WeatherFeed(client, [CENTRAL_PARK], poll_seconds=60)
            await feed.poll_once()
    assert caught.value.status == 401 and "Invalid API key" in str(caught.value)
    assert wrong_key not in str(caught.value)
    assert queries and all(q["appid"] == wrong_key for q in queries), "sent, as a parameter"
    assert wrong_key not in (feed.health.last_error or "")
    assert all(wrong_key not in record.getMessage() for record in caplog.records)


def test_openweathermap_refuses_to_start_without_a_key() -> None:
    with pytest.raises(WeatherSourceError, match="API_KEY"):
        OpenWeatherMapClient(OpenWeatherMapSettings(api_key=None))


async def test_unreachable_weather_service_is_a_transient_error_without_secrets() -> None:
    settings = OpenWeatherMapSettings(base_url="http://127.0.0.1:9", api_key=OWM_KEY)
    async with httpx.AsyncClient(timeout=1) as http:
        client = OpenWeatherMapClient(settings, client=http)
        with pytest.raises(Exception) as caught:
            await client.latest_observation(CENTRAL_PARK)
    assert OWM_KEY not in str(caught.value)
