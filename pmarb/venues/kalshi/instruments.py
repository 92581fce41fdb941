"""Kalshi instrument ids: one market ticker, two outcomes, one shared ladder.

The YES instrument owns the book; the NO instrument is its parity view in the book store.
"""

from __future__ import annotations

from pmarb.domain.parity import Outcome

_SUFFIX = {Outcome.YES: ":yes", Outcome.NO: ":no"}


def instrument_id(ticker: str, outcome: Outcome) -> str:
    return ticker + _SUFFIX[outcome]


def yes_id(ticker: str) -> str:
    return ticker + ":yes"


def no_id(ticker: str) -> str:
    return ticker + ":no"


def parse_instrument(instrument: str) -> tuple[str, Outcome]:
    """``"KXHIGHNY-26MAY11-T69:no"`` → (ticker, NO); a bare ticker means YES."""
    ticker, sep, outcome = instrument.rpartition(":")
    if sep and outcome in ("yes", "no"):
        return ticker, Outcome(outcome)
    return instrument, Outcome.YES
