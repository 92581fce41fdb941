"""Market → proposition, by the first family parser that recognises the market."""

from __future__ import annotations

from pmarb.domain.market import Market
from pmarb.matching.families import crypto, fed, generic, temperature
from pmarb.matching.families.common import MarketText
from pmarb.matching.proposition import Proposition


def extract(market: Market) -> Proposition:
    text = MarketText.of(market)
    if temperature.applies(text):
        return temperature.parse(market, text)
    if fed.applies(text):
        return fed.parse(market, text)
    if crypto.applies(text):
        return crypto.parse(market, text)
    return generic.parse(market, text)
