"""``pmarb book replay`` and ``pmarb fees`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pmarb.cli import app
from tests.venues.conftest import fixture_path, load_fixture

runner = CliRunner()


def replay(venue: str, path: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["book", "replay", "--venue", venue, str(path), *extra])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def as_map(levels: list[dict[str, str]]) -> dict[str, str]:
    return {level["price"]: level["size"] for level in levels}


def test_polymarket_excerpt_reproduces_the_final_book() -> None:
    sequence = load_fixture("polymarket", "ws_market_sequence_excerpt.json")
    last = sequence[-1]
    out = replay("polymarket", fixture_path("polymarket", "ws_market_sequence_excerpt.json"))
    # Only the asset with a snapshot has a knowable book; the NO token never got one.
    assert list(out) == [last["asset_id"]]
    book = out[last["asset_id"]]
    assert book["bids"] == as_map(last["bids"])
    assert book["asks"] == as_map(last["asks"])
    assert list(book["bids"]) == sorted(book["bids"], key=float, reverse=True)
    assert (book["best_bid"], book["best_ask"]) == ("0.29", "0.301")


def test_polymarket_json_lines_with_arrays_and_a_tick_size_reset(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            [
                {
                    "event_type": "book",
                    "asset_id": "A",
                    "bids": [{"price": ".48", "size": "30"}, {"price": "0.50", "size": "10.10"}],
                    "asks": [{"price": "0.55", "size": "1"}, {"price": "0.53", "size": "2"}],
                },
                {"event_type": "book", "asset_id": "B", "bids": [], "asks": []},
            ]
        ),
        json.dumps(
            {
                "event_type": "price_change",
                "asset_id": "A",
                "price": "0.50",
                "size": "0",
                "side": "BUY",
            }
        ),
        json.dumps({"event_type": "tick_size_change", "asset_id": "B", "new_tick_size": "0.001"}),
        "garbage",
    ]
    path = tmp_path / "rec.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = replay("polymarket", path)
    assert out == {
        "A": {
            "best_bid": "0.48",
            "best_ask": "0.53",
            "bids": {"0.48": "30"},
            "asks": {"0.53": "2", "0.55": "1"},
        }
    }


def kalshi_recording(use_yes_price: bool) -> list[dict[str, Any]]:
    snapshot = load_fixture("kalshi", "ws_orderbook_snapshot.json")
    ticker = snapshot["msg"]["market_ticker"]
    if use_yes_price:
        snapshot["msg"]["no_dollars_fp"] = [["0.46", "20.00"], ["0.44", "146.00"]]

    def delta(seq: int, price: str, change: str, side: str) -> dict[str, Any]:
        return {
            "type": "orderbook_delta",
            "sid": 2,
            "seq": seq,
            "msg": {
                "market_ticker": ticker,
                "price_dollars": price,
                "delta_fp": change,
                "side": side,
            },
        }

    no_best = "0.44" if use_yes_price else "0.56"
    no_new = "0.43" if use_yes_price else "0.57"
    return [
        snapshot,
        delta(3, "0.2200", "-33.00", "yes"),
        delta(4, no_best, "-46.00", "no"),
        delta(5, no_new, "2.50", "no"),
        delta(6, "0.0800", "-300.00", "yes"),
    ]


EXPECTED_KALSHI = {
    "FED-23DEC-T3.00": {
        "best_bid": "0.22",
        "best_ask": "0.43",
        "bids": {"0.22": "300"},
        "asks": {"0.43": "2.5", "0.44": "100", "0.46": "20"},
    }
}


def test_kalshi_snapshot_and_deltas_both_conventions(tmp_path: Path) -> None:
    for flag in (False, True):
        messages = kalshi_recording(flag)
        as_lines = tmp_path / f"k-{flag}.jsonl"
        as_lines.write_text("\n".join(json.dumps(m) for m in messages))
        assert replay("kalshi", as_lines, "--use-yes-price", str(flag).lower()) == EXPECTED_KALSHI
        # Told by the recorded subscribe command.
        command = {
            "id": 1,
            "cmd": "subscribe",
            "params": {"channels": ["orderbook_delta"], "use_yes_price": flag},
        }
        ack = {"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 2}}
        with_command = tmp_path / f"k-cmd-{flag}.json"
        with_command.write_text(json.dumps([command, ack, *messages]))
        assert replay("kalshi", with_command) == EXPECTED_KALSHI
        # Neither: inferred (the wrong convention makes this book crossed).
        assert replay("kalshi", as_lines) == EXPECTED_KALSHI


def test_kalshi_seq_gap_drops_books_until_resnapshot(tmp_path: Path) -> None:
    messages = kalshi_recording(False)
    snapshot = load_fixture("kalshi", "ws_orderbook_snapshot.json")
    gap = [*messages[:2], messages[3]]  # seq 4 lost
    path = tmp_path / "gap.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in gap))
    assert replay("kalshi", path, "--use-yes-price", "false") == {}
    snapshot["seq"] = 6
    path.write_text("\n".join(json.dumps(m) for m in [*gap, snapshot]))
    out = replay("kalshi", path, "--use-yes-price", "false")
    assert out["FED-23DEC-T3.00"]["bids"] == {"0.22": "333", "0.08": "300"}


def test_replay_reports_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["book", "replay", "--venue", "kalshi", str(tmp_path / "nope")])
    assert result.exit_code == 1


def fee(*args: str) -> str:
    result = runner.invoke(app, ["fees", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_fee_worked_examples() -> None:
    assert fee("--venue", "kalshi", "--price", "0.50", "--count", "100") == "1.75"
    assert fee("--venue", "kalshi", "--price", "0.50", "--count", "1") == "0.02"
    assert fee("--venue", "kalshi", "--price", "0.10", "--count", "10") == "0.07"
    assert fee("--venue", "kalshi", "--price", "0.50", "--count", "100", "--maker") == "0.44"
    assert fee("--venue", "kalshi", "--price", "0.5", "--count", "100", "--rate", "0.035") == "0.88"
    assert fee("--venue", "polymarket", "--price", "0.5", "--count", "100") == "1.75"
    assert fee("--venue", "polymarket", "--price", "0.53", "--count", "10", "--rate", "0.04") == (
        "0.09964"
    )
    assert fee("--venue", "polymarket", "--price", "0.5", "--count", "10", "--maker") == "0.00"
    bad = runner.invoke(app, ["fees", "--venue", "kalshi", "--price", "1.5", "--count", "1"])
    assert bad.exit_code != 0
