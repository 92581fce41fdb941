"""A quote's age in a replay is the time since its book was last known valid, not since its price
last changed: a quiet book on a live feed trades, a book whose feed fell silent is stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from pmarb.backtest.data import load
from pmarb.backtest.engine import Backtest, BacktestConfig, BacktestResult
from pmarb.backtest.events import (
    NANOS,
    BookUpdate,
    Dataset,
    Event,
    FeedHeartbeat,
    Resolution,
    in_memory,
)
from pmarb.domain.fees import NO_FEES, FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.parity import Outcome
from pmarb.recording.schema import to_ns
from pmarb.scanner.detectors import MatchedPair
from tests.backtest.support import write_recording

START = datetime(2026, 3, 2, 12, tzinfo=UTC)
CLOSE = START + timedelta(minutes=4)
KALSHI_FEES = FeeSchedule(taker_rate=D("0.07"), exponent=1, rounding_step=D("0.01"))


def event_market(venue: VenueId, market_id: str, yes: str, no: str, fees: FeeSchedule) -> Market:
    return Market(
        venue=venue,
        market_id=market_id,
        title="Will the quiet event happen?",
        yes_instrument_id=yes,
        no_instrument_id=no,
        rules="Resolves Yes if the quiet event happens before the close.",
        close_time=CLOSE,
        category="Test",
        fees=fees,
    )


KALSHI = event_market(
    VenueId.KALSHI, "KXQUIET-26MAR02", "KXQUIET-26MAR02:yes", "KXQUIET-26MAR02:no", KALSHI_FEES
)
POLYMARKET = event_market(VenueId.POLYMARKET, "0xquiet", "7001", "7002", NO_FEES)
GAP_AT = 60  # seconds after the start: when Polymarket's NO ask drops and opens the gap


def micros(price: str) -> int:
    return int(D(price) * 1_000_000)


def book(second: float, venue: VenueId, instrument: str, bid: str, ask: str) -> BookUpdate:
    size = (micros("200"),)
    return BookUpdate(
        to_ns(START) + round(second * NANOS),
        venue,
        instrument,
        (micros(bid),),
        size,
        (micros(ask),),
        size,
    )


def world(kalshi_feed_silent_after: float | None) -> Dataset:
    """Kalshi's book is set once and never changes; a minute later Polymarket's NO ask drops so
    that YES on Kalshi plus NO on Polymarket costs 0.90. Kalshi's feed beats every second (its
    other markets keep it busy) until ``kalshi_feed_silent_after``; Polymarket's always beats.
    Both markets close three minutes after the gap and resolve YES."""
    events: list[Event] = [
        book(0, VenueId.KALSHI, KALSHI.yes_instrument_id, "0.38", "0.40"),
        book(0, VenueId.POLYMARKET, POLYMARKET.yes_instrument_id, "0.58", "0.60"),
        book(0, VenueId.POLYMARKET, POLYMARKET.no_instrument_id, "0.58", "0.60"),
        book(GAP_AT, VenueId.POLYMARKET, POLYMARKET.no_instrument_id, "0.48", "0.50"),
    ]
    for second in range(1, GAP_AT + 240):
        ts = to_ns(START) + second * NANOS - NANOS // 2
        events.append(FeedHeartbeat(ts, VenueId.POLYMARKET))
        if kalshi_feed_silent_after is None or second <= kalshi_feed_silent_after:
            events.append(FeedHeartbeat(ts, VenueId.KALSHI))
    settled = to_ns(CLOSE) + NANOS
    for market in (KALSHI, POLYMARKET):
        events.append(Resolution(settled, market.venue, market.market_id, Outcome.YES))
    pair = MatchedPair(1, KALSHI, POLYMARKET, inverted=False)
    return in_memory([KALSHI, POLYMARKET], [pair], events, seed=1)


def run(dataset: Dataset) -> BacktestResult:
    return Backtest(dataset, BacktestConfig(strategies=("atomic-arb",))).run()


def cross_venue(result: BacktestResult) -> list[str]:
    return [d.risk or d.status for d in result.decisions if d.kind == "cross_venue"]


def test_a_book_unchanged_for_a_minute_on_a_live_feed_trades() -> None:
    result = run(world(kalshi_feed_silent_after=None))
    decisions = [d for d in result.decisions if d.kind == "cross_venue"]
    assert decisions, "the gap is detected"
    assert all(d.risk != "STALE_QUOTE" for d in decisions), cross_venue(result)
    traded = [d for d in decisions if d.orders]
    assert traded, f"a quiet book on a live feed is fresh; it trades: {cross_venue(result)}"
    filled = [o for d in traded for o in d.orders if o.filled > 0]
    assert {o.leg for o in filled} == {"kalshi-yes", "polymarket-no"}, "both venues' legs filled"


@pytest.mark.parametrize("silent_for", [6, 9])
def test_the_same_book_after_its_feed_fell_silent_past_the_limit_is_stale(silent_for: int) -> None:
    limit = BacktestConfig().limits.stale_quote_seconds
    assert silent_for > limit
    result = run(world(kalshi_feed_silent_after=GAP_AT - silent_for))
    decisions = [d for d in result.decisions if d.kind == "cross_venue"]
    assert decisions, "still detected: the scanner allows twice the limit before it drops a book"
    assert all(d.risk == "STALE_QUOTE" for d in decisions), cross_venue(result)
    assert not any(d.orders for d in decisions)


def test_heartbeats_survive_the_recording_and_replay_the_same(tmp_path: Path) -> None:
    for silent_after in (None, GAP_AT - 9):
        dataset = world(kalshi_feed_silent_after=silent_after)
        loaded = load(write_recording(dataset, tmp_path / f"rec-{silent_after}"))
        beats = [e for e in loaded.replay() if isinstance(e, FeedHeartbeat)]
        assert len(beats) == len([e for e in dataset.replay() if isinstance(e, FeedHeartbeat)])
        assert cross_venue(run(loaded)) == cross_venue(run(dataset))
