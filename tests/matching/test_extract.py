"""Proposition extraction on recorded market objects and rule texts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pmarb.matching.extract import extract
from pmarb.matching.proposition import Family, Interval
from tests.matching.fixture_markets import MATCHING, ORACLES, gamma_market, kalshi_market, load
from tests.matching.fixture_pairs import casebook_pairs, weather_rule_examples

PAIRS = load(MATCHING / "crypto_15m_1h_real_market_pairs_2026-02.json")


def test_kalshi_15_minute_market_is_an_average_versus_average_window() -> None:
    proposition = extract(kalshi_market(PAIRS["raw"]["kalshi_market"]))
    assert proposition.family is Family.CRYPTO_UPDOWN
    assert (proposition.subject, proposition.source) == ("BTC", "cf_benchmarks_rti")
    assert proposition.functional == "average_60s_before"
    # 9:00-9:15 PM EST on Feb 20 is 02:00-02:15Z on Feb 21.
    assert proposition.observation == "2026-02-21T02:00:00Z/2026-02-21T02:15:00Z"
    assert proposition.yes_condition is not None
    assert proposition.yes_condition.interval == Interval(
        Decimal(0), True, None, False, "end-start"
    )


def test_polymarket_15_minute_market_reads_window_from_title_and_oracle_from_rules() -> None:
    proposition = extract(gamma_market(PAIRS["raw"]["polymarket_market"]))
    assert proposition.family is Family.CRYPTO_UPDOWN
    assert proposition.source == "chainlink_data_streams"
    assert proposition.instrument == "BTC/USD"
    assert proposition.observation == "2026-02-21T02:15:00Z/2026-02-21T02:30:00Z"


def test_polymarket_hourly_market_is_the_binance_candle_that_begins_at_the_titled_hour() -> None:
    market = gamma_market(
        load(
            ORACLES
            / "polymarket_gamma"
            / "market_bitcoin-up-or-down-february-20-9pm-et_captured_2026-02-21.json"
        )
    )
    proposition = extract(market)
    assert (proposition.source, proposition.instrument) == ("binance", "BTC/USDT")
    assert proposition.functional == "candle_1h_close_vs_open"
    assert proposition.observation == "2026-02-21T02:00:00Z/2026-02-21T03:00:00Z"


def test_kalshi_hourly_threshold_keeps_the_strict_comparator_on_the_odd_strike() -> None:
    raw = load(ORACLES / "kalshi" / "rules_examples_partial_market_objects.json")[0]
    proposition = extract(kalshi_market(raw))
    assert proposition.family is Family.CRYPTO_THRESHOLD
    assert proposition.observation == "2025-09-21T20:59:00Z/2025-09-21T21:00:00Z"
    assert proposition.yes_condition is not None
    # "above 115749.99" is not "$115,750 or above" unless the value is on a cent grid.
    assert proposition.yes_condition.interval == Interval(Decimal("115749.99"), False, None, False)


def test_kalshi_weather_rules_name_station_source_day_and_bracket() -> None:
    by_ticker = {market.market_id: extract(market) for market in weather_rule_examples()}
    nws = by_ticker["KXHIGHNY-26AUG12-T90"]
    assert (nws.subject, nws.instrument, nws.source) == ("New York City", "KNYC", "nws_cli")
    assert nws.observation == "2026-08-12 climate day (local standard time)"
    assert nws.yes_condition is not None
    assert str(nws.yes_condition) == "[91, +inf)"  # "greater than 90°" on whole degrees
    assert nws.unit == "°F, whole degrees"
    twc = by_ticker["KXHIGHNY-26SEP16-B81.5"]
    assert (twc.instrument, twc.source) == ("KNYC", "the_weather_company")
    assert twc.yes_condition is not None and twc.yes_condition.interval is not None
    interval = twc.yes_condition.interval
    assert (interval.low, interval.high) == (Decimal(81), Decimal(82))


def test_polymarket_weather_rule_names_laguardia_and_wunderground() -> None:
    document = load(MATCHING / "weather_settlement_stations_kalshi_vs_polymarket.json")
    market = gamma_market(
        {
            "id": "poly-nyc",
            "question": "Will the highest temperature in NYC be between 80-81°F on June 11?",
            "description": document["polymarket_rule_text_example"],
            "endDate": "2026-06-12T12:00:00Z",
        }
    )
    proposition = extract(market)
    assert (proposition.instrument, proposition.source) == ("KLGA", "wunderground")
    assert proposition.observation == "2026-06-11 calendar day (local time)"
    assert str(proposition.yes_condition) == "[80, 81]"


def test_fed_buckets_read_rounding_and_fallback_clauses() -> None:
    fed = next(pair for pair in casebook_pairs() if "Federal Reserve" in pair.name)
    kalshi, polymarket = extract(fed.kalshi), extract(fed.polymarket)
    assert kalshi.family is polymarket.family is Family.FED_DECISION
    assert kalshi.observation == polymarket.observation == "FOMC meeting 2026-09"
    assert str(kalshi.yes_condition) == "[-25, -25]"
    assert kalshi.unit != polymarket.unit
    assert polymarket.unit is not None and "rounded up" in polymarket.unit
    assert kalshi.fallback is not None and polymarket.fallback is not None
    assert kalshi.fallback != polymarket.fallback


def test_unparsed_markets_leave_fields_unknown_rather_than_guess() -> None:
    president = casebook_pairs()[0]
    proposition = extract(president.kalshi)
    assert proposition.family is Family.GENERIC
    assert all(proposition.value(name) is None for name in ("source", "observation", "unit"))


def test_a_year_less_title_date_takes_the_year_nearest_the_close_time() -> None:
    market = gamma_market(
        {
            "id": "x",
            "question": "Bitcoin Up or Down - December 31, 11:45PM-12:00AM ET",
            "description": "Up if the end price is greater than or equal to the start price, per "
            "the Chainlink BTC/USD data stream.",
            "outcomes": '["Up", "Down"]',
            "endDate": "2027-01-01T05:00:00Z",
        }
    )
    proposition = extract(market)
    assert proposition.observed_at == datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    assert proposition.observation == "2027-01-01T04:45:00Z/2027-01-01T05:00:00Z"
