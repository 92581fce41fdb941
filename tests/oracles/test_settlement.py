"""Markets map to what they actually settle on — read from the recorded markets' own rules —
and are priced by the model that settlement calls for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pmarb.domain.market import Market, VenueId
from pmarb.oracles.fair_value import (
    Comparison,
    CryptoInputs,
    CryptoSettlement,
    Reference,
    SettlementIndex,
    UnknownSettlement,
    Volatility,
    WeatherSettlement,
    average_digital,
    price_crypto,
    settlement_for,
    up_down_spot,
)
from pmarb.oracles.rtds import _E18
from tests.oracles.support import document, message_fixtures

VOL = Volatility.annualised(0.5)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def kalshi_market(raw: dict[str, Any]) -> Market:
    rules = "\n".join(raw.get(key) or "" for key in ("rules_primary", "rules_secondary"))
    sources = raw.get("settlement_sources") or []
    return Market(
        venue=VenueId.KALSHI,
        market_id=raw["ticker"],
        title=raw.get("title", ""),
        yes_instrument_id=f"{raw['ticker']}:yes",
        no_instrument_id=f"{raw['ticker']}:no",
        rules=rules,
        close_time=when(raw["close_time"]) if raw.get("close_time") else None,
        event_id=raw.get("event_ticker"),
        series_id=raw.get("series_ticker") or raw["ticker"].split("-")[0],
        settlement_source=" ".join(f"{s['name']} {s['url']}" for s in sources) or None,
    )


def polymarket_market(raw: dict[str, Any]) -> Market:
    return Market(
        venue=VenueId.POLYMARKET,
        market_id=raw["slug"],
        title=raw["question"] if "question" in raw else raw["title"],
        yes_instrument_id="up",
        no_instrument_id="down",
        rules=raw["description"],
        close_time=when(raw["endDate"]),
        settlement_source=raw.get("resolutionSource"),
        outcome_names=("Up", "Down"),
    )


KXBTC15M = document("kalshi", "market_KXBTC15M-26FEB202115-15_captured_2026-02-21.json")
RULES = {
    item["ticker"]: item
    for item in document("kalshi", "rules_examples_partial_market_objects.json")
}


def test_kalshi_15_minute_is_a_brti_average_against_the_opening_average() -> None:
    spec = settlement_for(kalshi_market(KXBTC15M), strike=Decimal(str(KXBTC15M["floor_strike"])))
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.asset, spec.quote) == (SettlementIndex.CF_BRTI, "BTC", "USD")
    assert (spec.averaging_seconds, spec.comparison) == (60, Comparison.GE)
    assert spec.reference is Reference.WINDOW_OPEN
    assert spec.settles_at == when(KXBTC15M["close_time"])
    assert spec.window_start == when(KXBTC15M["open_time"]), "15 minutes before the close"
    # The published floor_strike (67948.03), not the subtitle's display text (67,948.02).
    assert spec.strike == Decimal("67948.03")


def test_kalshi_hourly_ladder_is_strictly_above_the_printed_strike() -> None:
    spec = settlement_for(
        kalshi_market({**RULES["KXBTCD-25SEP2117-T115749.99"], "close_time": None})
    )
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.comparison, spec.reference) == (
        SettlementIndex.CF_BRTI,
        Comparison.GT,
        Reference.STRIKE,
    )
    assert spec.strike == Decimal("115749.99")


def test_kalshi_weather_eras_and_brackets() -> None:
    cli_above = settlement_for(kalshi_market(RULES["KXHIGHNY-26AUG12-T90"]))
    assert cli_above == WeatherSettlement(
        vendor=SettlementIndex.NWS_CLI,
        station="KNYC",
        quantity="max",
        low=91,
        high=None,
        settles_at=when(RULES["KXHIGHNY-26AUG12-T90"]["close_time"]),
    )
    below = settlement_for(kalshi_market({**RULES["KXHIGHNY-26JUL16-T89"], "close_time": None}))
    assert isinstance(below, WeatherSettlement) and (below.low, below.high) == (None, 88)
    twc = settlement_for(kalshi_market({**RULES["KXHIGHNY-26SEP16-B81.5"], "close_time": None}))
    assert isinstance(twc, WeatherSettlement)
    assert (twc.vendor, twc.station, twc.low, twc.high) == (
        SettlementIndex.WEATHER_COMPANY,
        "KNYC",
        81,
        82,
    )
    # The hourly temperature series settles on one reading, not a daily extreme: not priced.
    with pytest.raises(UnknownSettlement):
        settlement_for(kalshi_market(RULES["KXTEMPNYCH-26JUL1523-T80.99"]))


@pytest.mark.parametrize(
    "name",
    [
        "market_btc-updown-15m-1771640100_captured_2026-02-21.json",
        "event_btc-updown-15m-1771643700_captured_2026-02-21.json",
    ],
)
def test_polymarket_15_minute_spot_era_settles_on_chainlink(name: str) -> None:
    raw = document("polymarket_gamma", name)
    market_raw = raw["markets"][0] if "markets" in raw else raw
    spec = settlement_for(polymarket_market(market_raw))
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.averaging_seconds) == (SettlementIndex.CHAINLINK_SPOT, 0)
    assert (spec.comparison, spec.reference) == (Comparison.GE, Reference.WINDOW_OPEN)
    assert spec.window_start == when(market_raw["eventStartTime"])
    assert spec.window_seconds == 900


def test_polymarket_twap_era_settles_on_the_twap_named_in_the_rules() -> None:
    raw = document("polymarket_gamma", "market_btc-updown-15m-1771640100_captured_2026-02-21.json")
    raw = {
        **raw,
        "slug": "btc-updown-5m-1788600300",
        "description": raw["description"]
        + "\nPrices are 60-second TWAPs computed from the Chainlink BTC/USD data stream.",
        "resolutionSource": "https://data.chain.link/streams/btc-usd-twap-60s-streams",
    }
    spec = settlement_for(polymarket_market(raw))
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.averaging_seconds, spec.window_seconds) == (
        SettlementIndex.CHAINLINK_TWAP,
        60,
        300,
    )


def test_polymarket_hourly_settles_on_the_binance_candle() -> None:
    raw = document(
        "polymarket_gamma", "market_bitcoin-up-or-down-february-20-9pm-et_captured_2026-02-21.json"
    )
    spec = settlement_for(polymarket_market(raw))
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.quote, spec.averaging_seconds) == (
        SettlementIndex.BINANCE_CANDLE,
        "USDT",
        0,
    )
    assert spec.window_start == when(raw["eventStartTime"])


def test_unrecognised_rules_fail_closed() -> None:
    market = Market(VenueId.KALSHI, "X", "Will it rain?", "y", "n", rules="If it rains...")
    with pytest.raises(UnknownSettlement):
        settlement_for(market)


def test_chainlink_streams_scale_prices_by_1e18() -> None:
    schema = document("chainlink_data_streams", "report_schema_v3.json")
    price = next(field for field in schema["fields"] if field["name"] == "price")
    assert "18 decimals" in price["description"] and Decimal(10) ** 18 == _E18
    assert message_fixtures("chainlink_data_streams") == ["report_schema_v3.json"]


# --- pricing the specs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "bot_snapshot_poly15m_vs_KXBTC15M_2026-02-21T15-46.json",
        "bot_snapshot_poly15m_vs_KXBTC15M_2026-02-21T15-50.json",
    ],
)
def test_the_same_window_is_priced_differently_on_each_venue(name: str) -> None:
    """Same 15 minutes, different strikes (BRTI average vs Chainlink print): each venue's side
    follows its own strike — at 15:46 the price sat between them, so Kalshi leaned YES while
    Polymarket leaned Down. A correlated hedge, not an arbitrage."""
    snapshot = document("kalshi", name)
    kalshi, poly = snapshot["kalshi"]["market"], snapshot["polymarket"]
    spot = float(poly["current_price"])
    close = when(kalshi["close_time"])
    now = close - timedelta(minutes=5)
    kalshi_spec = settlement_for(
        kalshi_market({**KXBTC15M, "close_time": kalshi["close_time"]}),
        strike=Decimal(str(kalshi["floor_strike"])),
    )
    assert isinstance(kalshi_spec, CryptoSettlement)
    kalshi_fair = price_crypto(
        kalshi_spec, CryptoInputs(now=now, spot=spot, vol=VOL, open_value=kalshi["floor_strike"])
    )
    expected = average_digital(spot, float(kalshi["floor_strike"]), VOL, 300, 60, tick=0.01)
    assert kalshi_fair == expected
    poly_raw = document(
        "polymarket_gamma", "market_btc-updown-15m-1771640100_captured_2026-02-21.json"
    )
    poly_spec = settlement_for(
        polymarket_market({**poly_raw, "endDate": kalshi["close_time"], "slug": poly["slug"]})
    )
    assert isinstance(poly_spec, CryptoSettlement)
    poly_fair = price_crypto(
        poly_spec, CryptoInputs(now=now, spot=spot, vol=VOL, open_value=poly["price_to_beat"])
    )
    assert poly_fair == up_down_spot(
        spot, VOL, 300, 900, open_value=float(poly["price_to_beat"]), tick=0.01
    )
    half = Decimal("0.5")
    assert (kalshi_fair.probability > half) == (spot > kalshi["floor_strike"])
    assert (poly_fair.probability > half) == (spot > poly["price_to_beat"])


def test_range_and_pre_window_pricing() -> None:
    close = datetime(2026, 2, 21, 3, 0, tzinfo=UTC)
    band = CryptoSettlement(
        index=SettlementIndex.CF_BRTI,
        asset="BTC",
        quote="USD",
        averaging_seconds=60,
        comparison=Comparison.GE,
        reference=Reference.STRIKE,
        strike=Decimal("67750"),
        cap=Decimal("67999.99"),
        settles_at=close,
    )
    inputs = CryptoInputs(now=close - timedelta(minutes=30), spot=67_900.0, vol=VOL)
    inside = price_crypto(band, inputs)
    wider = price_crypto(replace(band, cap=Decimal("68499.99")), inputs)
    assert 0 < inside.probability < wider.probability < 1
    # Before a 15-minute averaged window opens, up/down is a coin flip.
    up_down = CryptoSettlement(
        index=SettlementIndex.CF_BRTI,
        asset="BTC",
        quote="USD",
        averaging_seconds=60,
        comparison=Comparison.GE,
        reference=Reference.WINDOW_OPEN,
        window_start=close - timedelta(minutes=15),
        settles_at=close,
        tick=Decimal(0),
    )
    early = CryptoInputs(now=close - timedelta(minutes=20), spot=67_900.0, vol=VOL)
    assert price_crypto(up_down, early).probability == Decimal("0.5")


def test_polymarket_daily_above_is_strict_on_the_binance_minute_close() -> None:
    market = Market(
        VenueId.POLYMARKET,
        "bitcoin-above-110k-on-september-21",
        "Bitcoin above $110,000 on September 21?",
        "yes",
        "no",
        rules='This market will resolve to "Yes" if the Binance 1 minute candle for BTC/USDT '
        '12:00 in the ET timezone (noon) on the date specified in the title has a final "Close" '
        "price higher than the price specified in the title.",
        close_time=datetime(2026, 9, 21, 16, 1, tzinfo=UTC),
    )
    spec = settlement_for(market)
    assert isinstance(spec, CryptoSettlement)
    assert (spec.index, spec.quote, spec.comparison) == (
        SettlementIndex.BINANCE_CANDLE,
        "USDT",
        Comparison.GT,
    )
    assert (spec.reference, spec.strike) == (Reference.STRIKE, Decimal("110000"))
