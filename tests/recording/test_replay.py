"""``pmarb scan --replay``: the real scanner over a recording finds exactly the gap put in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from pmarb.cli import app
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import OpportunityKind
from pmarb.domain.parity import Outcome, Side
from pmarb.recording.reader import open_recording
from pmarb.recording.replay import replay_opportunities
from pmarb.recording.schema import to_micros, to_ns
from pmarb.recording.writer import RecordingWriter

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
S = 1_000_000_000  # one second in ns


def market(venue: VenueId, market_id: str, yes: str, no: str) -> Market:
    return Market(venue, market_id, f"Will {market_id} happen?", yes, no)


POLY_GAP = market(VenueId.POLYMARKET, "0xgap", "101", "102")
POLY_FAIR = market(VenueId.POLYMARKET, "0xfair", "201", "202")
KALSHI = market(VenueId.KALSHI, "KXTEST-1", "KXTEST-1:yes", "KXTEST-1:no")


def side(*levels: tuple[str, str]) -> tuple[list[int], list[int]]:
    return [to_micros(Decimal(p)) for p, _ in levels], [to_micros(Decimal(s)) for _, s in levels]


def write_book(
    writer: RecordingWriter,
    ts_ns: int,
    m: Market,
    instrument: str,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
) -> None:
    bid_px, bid_sz = side(*bids)
    ask_px, ask_sz = side(*asks)
    writer.book(ts_ns, m.venue, instrument, bid_px, bid_sz, ask_px, ask_sz)


def gap_recording(path: Path) -> int:
    """Two Polymarket markets and a Kalshi one, all fair, then one intra-venue gap at +10 s
    on 0xgap that lasts 10 s (the Kalshi NO book exists only as its YES ladder's complement)."""
    t0 = to_ns(T0)
    with RecordingWriter(path) as writer:
        for m in (POLY_GAP, POLY_FAIR, KALSHI):
            writer.market(t0, m)
        for m in (POLY_GAP, POLY_FAIR):
            write_book(writer, t0 + S, m, m.yes_instrument_id, [("0.50", "100")], [("0.52", "100")])
            write_book(writer, t0 + S, m, m.no_instrument_id, [("0.48", "100")], [("0.50", "100")])
        write_book(
            writer, t0 + S, KALSHI, KALSHI.yes_instrument_id, [("0.40", "50")], [("0.61", "50")]
        )
        gap_at = t0 + 10 * S
        yes = POLY_GAP.yes_instrument_id
        write_book(
            writer, gap_at, POLY_GAP, yes, [("0.43", "100")], [("0.45", "80"), ("0.51", "500")]
        )
        write_book(
            writer, gap_at + S, POLY_GAP, yes, [("0.43", "100")], [("0.45", "70"), ("0.51", "500")]
        )
        write_book(writer, t0 + 20 * S, POLY_GAP, yes, [("0.50", "100")], [("0.52", "100")])
        for i in range(30):  # quiet, fair activity afterwards
            write_book(
                writer,
                t0 + (21 + i) * S,
                POLY_FAIR,
                POLY_FAIR.yes_instrument_id,
                [("0.50", str(100 + i))],
                [("0.52", "100")],
            )
            write_book(
                writer,
                t0 + (21 + i) * S,
                KALSHI,
                KALSHI.yes_instrument_id,
                [("0.40", "50")],
                [("0.61", str(50 + i))],
            )
    return gap_at


def test_replay_finds_exactly_the_injected_gap(tmp_path: Path) -> None:
    gap_at = gap_recording(tmp_path / "rec")
    found = list(replay_opportunities(open_recording(tmp_path / "rec")))
    assert len(found) == 1
    opportunity = found[0]
    assert opportunity.kind is OpportunityKind.INTRA_VENUE
    assert to_ns(opportunity.detected_at) == gap_at
    legs = {(leg.instrument_id, leg.side, leg.limit_price) for leg in opportunity.legs}
    assert legs == {("101", Side.BUY, Decimal("0.45")), ("102", Side.BUY, Decimal("0.50"))}
    assert opportunity.size == Decimal("80")  # the depth at both best asks
    assert opportunity.edge == Decimal("0.05")  # no fees on these markets
    assert {leg.outcome for leg in opportunity.legs} == {Outcome.YES, Outcome.NO}


def test_a_kalshi_no_book_is_the_complement_of_its_yes_ladder(tmp_path: Path) -> None:
    t0 = to_ns(T0)
    with RecordingWriter(tmp_path / "k") as writer:
        writer.market(t0, KALSHI)
        # YES ask 0.50 and YES bid 0.56 → NO ask 0.44: YES + NO costs 0.94.
        write_book(
            writer, t0 + S, KALSHI, KALSHI.yes_instrument_id, [("0.56", "40")], [("0.50", "30")]
        )
    found = list(replay_opportunities(open_recording(tmp_path / "k")))
    assert len(found) == 1
    legs = {(leg.instrument_id, leg.limit_price, leg.size) for leg in found[0].legs}
    assert legs == {
        ("KXTEST-1:yes", Decimal("0.50"), Decimal("30")),
        ("KXTEST-1:no", Decimal("0.44"), Decimal("30")),
    }


def test_scan_cli_prints_json_lines(tmp_path: Path) -> None:
    gap_at = gap_recording(tmp_path / "rec")
    runner = CliRunner()
    result = runner.invoke(
        app, ["scan", "--replay", str(tmp_path / "rec")], env={"PMARB_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1
    (line,) = lines
    assert line["kind"] == "intra_venue"
    assert line["key"] == line["business_key"]
    assert line["edge"] == "0.05"
    assert datetime.fromisoformat(line["detected_at"]) == T0 + timedelta(seconds=10)
    assert to_ns(datetime.fromisoformat(line["detected_at"])) == gap_at
    assert {leg["instrument_id"] for leg in line["legs"]} == {"101", "102"}
    # Bounds: the gap is outside the window, so nothing is found.
    late = runner.invoke(
        app,
        [
            "scan",
            "--replay",
            str(tmp_path / "rec"),
            "--start",
            (T0 + timedelta(seconds=30)).isoformat(),
        ],
        env={"PMARB_DATA_DIR": str(tmp_path)},
    )
    assert late.exit_code == 0 and late.stdout == ""


def test_scan_cli_names_a_bad_recording(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["scan", "--replay", str(tmp_path / "nothing")], env={"PMARB_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code != 0
    assert "no such recording directory" in " ".join(result.output.split())
