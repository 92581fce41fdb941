"""The situation ledger: every listed situation is accounted for, with what pmarb did about it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from pmarb.backtest.events import Dataset
from pmarb.backtest.report import summarise_result
from pmarb.backtest.situations import OlderRecordingError, parse
from tests.backtest.test_quote_age import GAP_AT, KALSHI, POLYMARKET, START, run, world


def situation(ident: str, kind: str, start_s: float, end_s: float, *markets: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "kind": kind,
        "start": (START + timedelta(seconds=start_s)).isoformat(),
        "end": (START + timedelta(seconds=end_s)).isoformat(),
        "markets": [{"venue": m.venue.value, "market_id": m.market_id} for m in markets],
        "available_size": "50",
        "available_edge": "3.10",
    }


def listed(*entries: dict[str, Any]) -> Dataset:
    return replace(world(kalshi_feed_silent_after=None), situations=entries)


def test_a_traded_gap_is_captured_and_the_others_are_missed_or_not_traded() -> None:
    gap = situation("s1", "cross_venue", GAP_AT - 1, GAP_AT + 5, KALSHI, POLYMARKET)
    elsewhere = situation(
        "s2", "cross_venue", GAP_AT - 1, GAP_AT + 5, replace(KALSHI, market_id="KXOTHER")
    )
    wrong_kind = situation("s3", "oracle_lag", GAP_AT - 1, GAP_AT + 5, KALSHI)
    report = summarise_result(run(listed(gap, elsewhere, wrong_kind)))
    ledger = report["situations"]
    assert ledger["injected"] == 3
    assert (ledger["captured"], ledger["detected_not_traded"], ledger["missed"]) == (1, 0, 2)
    rows = {row["id"]: row for row in ledger["list"]}
    assert rows["s1"]["result"] == "traded" and rows["s1"]["trades"]
    trade = rows["s1"]["trades"][0]
    assert trade["strategy"] == "atomic-arb"
    assert D(trade["pnl"]) > 0, "YES on Kalshi plus NO on Polymarket for 0.90 pays 1 at settlement"
    assert D(rows["s1"]["pnl"]) == sum(D(t["pnl"]) for t in rows["s1"]["trades"])
    assert (rows["s2"]["result"], rows["s3"]["result"]) == ("missed", "missed")
    assert ledger["by_kind"]["cross_venue"] == {
        "injected": 2,
        "captured": 1,
        "detected": 0,
        "missed": 1,
    }
    assert ledger["edge_available"] == "9.30"
    assert D(ledger["edge_captured"]) == D(rows["s1"]["pnl"])
    assert ledger["unprompted"]["trades"] == 0
    answered = [row for row in report["trades"] if row["situation"] == "s1"]
    assert answered and all(row["strategy"] == "atomic-arb" for row in answered)


def test_a_gap_detected_but_refused_says_why() -> None:
    gap = situation("s1", "cross_venue", GAP_AT - 1, GAP_AT + 5, KALSHI, POLYMARKET)
    stale = replace(world(kalshi_feed_silent_after=GAP_AT - 7), situations=(gap,))
    row = summarise_result(run(stale))["situations"]["list"][0]
    assert row["result"] == "detected"
    assert row["reasons"] == ["rejected STALE_QUOTE"]
    assert row["trades"] == []


def test_with_nothing_listed_every_trade_is_unprompted() -> None:
    report = summarise_result(run(world(kalshi_feed_silent_after=None)))
    ledger = report["situations"]
    assert ledger["injected"] == 0 and ledger["list"] == []
    traded = list(report["trades"])
    assert traded and all(row["situation"] is None for row in traded)
    assert ledger["unprompted"]["trades"] == len(traded)
    assert D(ledger["unprompted"]["pnl"]) == sum(D(row["pnl"]) for row in traded)


def test_a_recording_without_the_ledger_fields_is_named_as_older() -> None:
    with pytest.raises(OlderRecordingError, match="predates the situation ledger"):
        parse([{"kind": "cross_venue", "start": START.isoformat()}])
