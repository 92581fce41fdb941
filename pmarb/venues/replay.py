"""Replay recorded venue WebSocket messages through the live stream handlers.

A recording is JSON lines (one raw message per line; a line may itself be a JSON array of
events) or one JSON document holding an array of messages. Each message goes through exactly
the handler the live feed uses, into a :class:`~pmarb.venues.store.BookStore`.

Books that are not known at the end (never snapshotted, dropped after a tick-size change,
invalidated by a sequence gap and not re-snapshotted) are left out of the report: their state
cannot be known from the recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from pmarb.domain.market import VenueId
from pmarb.feeds.health import FeedHealth
from pmarb.venues.book import OrderBook
from pmarb.venues.fixedpoint import format_micros
from pmarb.venues.kalshi.instruments import parse_instrument
from pmarb.venues.kalshi.stream import KalshiStreamHandler
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.venues.store import BookStore


def read_messages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    try:
        whole: Any = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return [line for line in data.splitlines() if line.strip()]
    if isinstance(whole, list):
        return [msgspec.json.encode(element) for element in whole]
    return [data]


@dataclass
class ReplayResult:
    store: BookStore
    books: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def book_report(book: OrderBook) -> dict[str, Any]:
    bid, ask = book.best_bid(), book.best_ask()
    return {
        "best_bid": None if bid is None else format_micros(bid),
        "best_ask": None if ask is None else format_micros(ask),
        "bids": {format_micros(p): format_micros(s) for p, s in book.bids.descending()},
        "asks": {format_micros(p): format_micros(s) for p, s in book.asks.ascending()},
    }


def _health_notes(health: FeedHealth, dropped: list[str]) -> list[str]:
    notes = [f"{health.messages} data messages, {health.malformed} malformed"]
    if health.last_error:
        notes.append(f"last problem: {health.last_error}")
    if dropped:
        notes.append(f"left out (book unknown at the end): {', '.join(dropped)}")
    return notes


def replay_polymarket(messages: Iterable[bytes]) -> ReplayResult:
    store = BookStore(VenueId.POLYMARKET)
    handler = MarketChannelHandler(store)
    for raw in messages:
        handler.on_message(raw)
    books: dict[str, dict[str, Any]] = {}
    dropped: list[str] = []
    for instrument in store.instruments():
        book = store.book(instrument)
        if book is not None and book.valid:
            books[instrument] = book_report(book)
        elif book is not None:
            dropped.append(instrument)
    notes = _health_notes(store.health, dropped)
    if handler.best_mismatches:
        notes.append(f"{handler.best_mismatches} best bid/ask disagreements (resync wanted)")
    if handler.ignored_without_snapshot:
        notes.append(f"{handler.ignored_without_snapshot} changes ignored: no snapshot yet")
    return ReplayResult(store, books, notes)


def _run_kalshi(
    messages: list[bytes], use_yes_price: bool
) -> tuple[BookStore, KalshiStreamHandler]:
    store = BookStore(VenueId.KALSHI)
    handler = KalshiStreamHandler(store, use_yes_price=use_yes_price, audit=True)
    for raw in messages:
        handler.on_message(raw)
    return store, handler


def _explicit_convention(messages: list[bytes]) -> bool:
    """Does the recording hold a subscribe command that sets ``use_yes_price``?"""
    return any(b"use_yes_price" in raw and b'"cmd"' in raw for raw in messages)


def replay_kalshi(messages: Iterable[bytes], use_yes_price: bool | None = None) -> ReplayResult:
    """``use_yes_price`` None: from the recorded subscribe command, else inferred.

    Inference replays both conventions and keeps the one whose books are crossed less often (a
    crossed or locked book cannot exist on a matching venue), then the one with the tighter
    spreads (the wrong convention mirrors the NO ladder away from the YES bids); on a tie,
    Kalshi's documented default (False: NO levels at NO-leg prices) wins.
    """
    recorded = list(messages)
    notes: list[str] = []
    if use_yes_price is not None or _explicit_convention(recorded):
        store, handler = _run_kalshi(recorded, bool(use_yes_price))
        if use_yes_price is None:
            notes.append("use_yes_price taken from the recorded subscribe command")
    else:
        legacy = _run_kalshi(recorded, False)
        unified = _run_kalshi(recorded, True)

        def implausibility(run: tuple[BookStore, KalshiStreamHandler]) -> tuple[int, int]:
            return run[1].crossed_updates, run[1].spread_total

        chosen = implausibility(unified) < implausibility(legacy)
        store, handler = unified if chosen else legacy
        notes.append(
            f"use_yes_price inferred as {str(chosen).lower()} (crossed updates, summed spread: "
            f"false={implausibility(legacy)}, true={implausibility(unified)})"
        )
    books: dict[str, dict[str, Any]] = {}
    dropped: list[str] = []
    for instrument in list(store.instruments()):
        book = store.book(instrument)
        if book is None:
            continue  # the NO parity view
        ticker, _ = parse_instrument(instrument)
        if book.valid:
            books[ticker] = book_report(book)
        else:
            dropped.append(ticker)
    notes[:0] = _health_notes(store.health, dropped)
    if handler.gaps:
        notes.append(f"{handler.gaps} sequence gaps")
    if handler.ignored_without_snapshot:
        notes.append(f"{handler.ignored_without_snapshot} deltas ignored: no valid snapshot")
    return ReplayResult(store, books, notes)
