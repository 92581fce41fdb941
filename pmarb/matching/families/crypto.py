"""Crypto price markets: fixed thresholds, up/down windows and touch (max/min) markets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from pmarb.domain.market import Market
from pmarb.matching.families.common import (
    MarketText,
    fallback_clauses,
    instants,
    parse_condition,
    settlement_source,
    structured_condition,
)
from pmarb.matching.proposition import Family, Interval, Proposition, YesCondition

ASSETS: dict[str, tuple[str, ...]] = {
    "BTC": ("bitcoin", "btc", "xbt"),
    "ETH": ("ethereum", "eth", "ether"),
    "SOL": ("solana", "sol"),
    "XRP": ("xrp", "ripple"),
    "DOGE": ("dogecoin", "doge"),
    "BNB": ("bnb",),
    "HYPE": ("hyperliquid", "hype"),
    "LTC": ("litecoin", "ltc"),
    "ADA": ("cardano", "ada"),
}
_ASSET_PATTERNS = tuple(
    (asset, re.compile(r"\b(?:" + "|".join(names) + r")\b")) for asset, names in ASSETS.items()
)
_PRICE_CONTEXT = re.compile(
    r"price|up or down|\bup in\b|above|below|between|range|\$\s?\d|\bhit\b|reach|how high|how low"
)
_UPDOWN = re.compile(
    r"up or down|price up in|price down in|at least the simple average of the sixty seconds"
    r"|greater than or equal to the (?:price|open)|close price is greater than or equal to the open"
)
_TOUCH = re.compile(
    r"how (?:high|low) will|\bhit\b|\breach(?:es)?\b|all[- ]time high|\bath\b|dip to"
    r"|at any (?:time|point)"
)
_PAIR = re.compile(r"\b([a-z]{2,5})\s?/\s?(usdt|usdc|usd)\b")
_AVERAGE = re.compile(r"average of the (sixty|thirty|\d+) seconds")
_TWAP = re.compile(
    r"(\d+)[- ]?(?:second|sec|s)\b[^.]{0,40}twap|twap[^.]{0,40}?(\d+)[- ]?(?:second|sec|s)\b"
)
_WORDS = {"sixty": 60, "thirty": 30}
_ZERO = Decimal(0)


def asset_of(text: MarketText) -> str | None:
    for scope in (text.heading, text.rules):
        for asset, pattern in _ASSET_PATTERNS:
            if pattern.search(scope):
                return asset
    return None


def applies(text: MarketText) -> bool:
    return asset_of(text) is not None and _PRICE_CONTEXT.search(text.heading) is not None


def _functional(text: MarketText, source: str | None, *, threshold: bool) -> str | None:
    body = text.rules
    twap = _TWAP.search(body)
    if twap is not None:
        return f"twap_{twap.group(1) or twap.group(2)}s"
    if "twap" in body:
        return None  # a TWAP of unstated length
    average = _AVERAGE.search(body)
    if average is not None:
        seconds = _WORDS.get(average.group(1)) or int(average.group(1))
        return f"average_{seconds}s_before"
    if re.search(r"1[- ]?h(?:our)?\"?\s*candle|\"1h\" candle|1 hour candle", body):
        return "candle_1h_close" if threshold else "candle_1h_close_vs_open"
    if re.search(r"1[- ]?m(?:inute)?\"?\s*candle|1 minute candle", body):
        return "candle_1m_close" if threshold else "candle_1m_close_vs_open"
    if source == "chainlink_data_streams" and "data stream" in body:
        return "stream_print"
    return None


def _instrument(text: MarketText, asset: str, source: str | None) -> str | None:
    if source == "cf_benchmarks_rti":
        # CF Benchmarks' real-time indices are USD composites by definition.
        return f"{asset}/USD real-time index"
    pairs = {f"{base.upper()}/{quote.upper()}" for base, quote in _PAIR.findall(text.rules)}
    pairs |= {f"{base.upper()}/{quote.upper()}" for base, quote in _PAIR.findall(text.source_hint)}
    pairs = {pair for pair in pairs if pair.split("/")[0] in (asset, *ASSETS[asset])}
    compact = re.search(asset.lower() + r"[_-]?(usdt|usdc|usd)\b", text.source_hint)
    if not pairs and compact is not None:
        pairs = {f"{asset}/{compact.group(1).upper()}"}
    if len(pairs) == 1:
        pair = pairs.pop()
        return f"{asset}/{pair.split('/')[1]}"
    return None


def _quote_currency(instrument: str | None) -> str | None:
    if instrument is None:
        return None
    return instrument.split("/")[1].split()[0]


def _window(functional: str | None, moments: list[datetime]) -> tuple[datetime, datetime] | None:
    if not moments:
        return None
    if functional is not None and functional.startswith("average_"):
        seconds = int(functional.split("_")[1].rstrip("s"))
        end = max(moments)
        return end - timedelta(seconds=seconds), end
    if functional is not None and functional.startswith("candle_1m"):
        start = moments[0]
        return start, start + timedelta(minutes=1)
    return None


def _stamp(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}".replace("+00:00", "Z")


def parse(market: Market, text: MarketText) -> Proposition:
    asset = asset_of(text)
    source = settlement_source(
        text,
        frozenset(
            {"cf_benchmarks_rti", "chainlink_data_streams", "binance", "coinbase", "pyth", "kraken"}
        ),
    )
    fallback = fallback_clauses(text)
    everything = f"{text.heading} {text.rules}"
    if _UPDOWN.search(everything):
        return _updown(market, text, asset, source, fallback)
    threshold_functional = _functional(text, source, threshold=True)
    quote = _instrument(text, asset, source) if asset else None
    condition = structured_condition(market) or parse_condition(text.rules, text.heading)
    condition = condition or parse_condition(text.subtitle) or parse_condition(text.title)
    touch = _TOUCH.search(everything) is not None
    moments = instants(text.rules, text.anchor) or instants(text.heading, text.anchor)
    if touch:
        # Max/min over a period: the path matters, not one print; the period itself is
        # rarely stated precisely enough to compare, so it stays unknown unless explicit.
        return Proposition(
            family=Family.CRYPTO_TOUCH,
            subject=asset,
            quantity="price path extreme",
            source=source,
            instrument=quote,
            functional="touch" if condition is not None else None,
            observation=None,
            yes_condition=YesCondition(interval=condition) if condition else None,
            unit=_quote_currency(quote),
            fallback=fallback,
            observed_at=max(moments) if moments else market.close_time,
        )
    window = _window(threshold_functional, moments)
    return Proposition(
        family=Family.CRYPTO_THRESHOLD,
        subject=asset,
        quantity="price",
        source=source,
        instrument=quote,
        functional=threshold_functional,
        observation=_stamp(*window) if window else None,
        yes_condition=YesCondition(interval=condition) if condition else None,
        unit=_quote_currency(quote),
        fallback=fallback,
        observed_at=window[1] if window else (max(moments) if moments else market.close_time),
    )


def _updown(
    market: Market,
    text: MarketText,
    asset: str | None,
    source: str | None,
    fallback: str | None,
) -> Proposition:
    functional = _functional(text, source, threshold=False)
    quote = _instrument(text, asset, source) if asset else None
    moments = instants(text.heading, text.anchor) or instants(text.rules, text.anchor)
    window: tuple[datetime, datetime] | None = None
    if len(moments) >= 2:
        window = min(moments), max(moments)
    elif (
        len(moments) == 1
        and functional is not None
        and functional.startswith("candle_1h")
        and re.search(r"\b(?:begins|starts|opens)\b", text.rules)
    ):
        window = moments[0], moments[0] + timedelta(hours=1)
    # Which named outcome pays on a rise: Polymarket lists ["Up", "Down"] as YES/NO.
    rises_pay_yes: bool | None = None
    yes_name, no_name = text.outcomes
    falls_named = re.search(r"\bdown\b", text.title) and "up or down" not in text.title
    if yes_name == "up" and no_name == "down":
        rises_pay_yes = True
    elif yes_name == "yes" and no_name == "no":
        rises_pay_yes = not falls_named
    elif yes_name == "down" and no_name == "up":
        rises_pay_yes = False
    rule_says_ge = re.search(r"greater than or equal|at least|>=", text.rules) is not None
    condition: YesCondition | None = None
    if rises_pay_yes is not None and rule_says_ge:
        up = Interval(_ZERO, True, None, False, "end-start")
        condition = YesCondition(interval=up if rises_pay_yes else up.complement(None))
    return Proposition(
        family=Family.CRYPTO_UPDOWN,
        subject=asset,
        quantity="price change over window",
        source=source,
        instrument=quote,
        functional=functional,
        observation=_stamp(*window) if window else None,
        yes_condition=condition,
        unit=_quote_currency(quote),
        fallback=fallback,
        observed_at=window[1] if window else market.close_time,
    )
