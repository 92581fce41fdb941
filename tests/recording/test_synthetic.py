"""Synthetic scenarios: simulated time, byte-identical for a seed, resolutions and rolling
markets, and injected situations that the real scanner finds in the replay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from pmarb.cli import app
from pmarb.domain.market import MarketStatus, VenueId
from pmarb.domain.opportunity import OpportunityKind
from pmarb.recording.reader import open_recording
from pmarb.recording.replay import replay_opportunities
from pmarb.recording.schema import BookUpdate, Resolution, from_ns, to_ns
from pmarb.recording.synthetic import DEFAULT_START, SyntheticSpec, generate


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_data(tmp_path: Path) -> None:
    spec = SyntheticSpec(seed=5, hours=0.3, situation_every_minutes=3)
    generate(tmp_path / "a", spec)
    generate(tmp_path / "b", spec)
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert len(a) > 5 and a == b
    generate(tmp_path / "c", SyntheticSpec(seed=6, hours=0.3, situation_every_minutes=3))
    c = files_of(tmp_path / "c")
    assert c.keys() & a.keys() and any(c[k] != a[k] for k in c.keys() & a.keys())


def test_markets_close_settle_and_roll(tmp_path: Path) -> None:
    summary = generate(tmp_path / "r", SyntheticSpec(seed=2, hours=1, situation_every_minutes=0))
    recording = open_recording(tmp_path / "r")
    assert recording.metadata.synthetic and recording.metadata.seed == 2
    assert recording.metadata.start == DEFAULT_START
    assert recording.metadata.end == DEFAULT_START + timedelta(hours=1)
    events = list(recording.events())
    resolutions = [e for e in events if isinstance(e, Resolution)]
    # Four 15-minute rounds close in an hour, each listed on both venues.
    assert len(resolutions) == summary.resolutions == 8
    closes = sorted({from_ns(r.ts_ns) for r in resolutions})
    assert closes == [DEFAULT_START + timedelta(minutes=15 * i) for i in range(1, 5)]
    # Nothing settles before its close time, and the settled definition says how it resolved.
    definitions = {(m.venue, m.market_id): m for _, m in recording.market_history}
    start_ns = to_ns(DEFAULT_START)
    for resolution in resolutions:
        market = definitions[(resolution.venue, resolution.market_id)]
        assert market.status is MarketStatus.SETTLED
        assert market.settled_outcome is resolution.outcome
        assert market.close_time is not None and to_ns(market.close_time) <= resolution.ts_ns
        # Its book was recorded empty when it closed: nobody quotes a settled market.
        rows = [
            e
            for e in events
            if isinstance(e, BookUpdate)
            and e.venue is resolution.venue
            and e.instrument_id == market.yes_instrument_id
        ]
        assert rows[-1].ts_ns == resolution.ts_ns and not (rows[-1].bid_px or rows[-1].ask_px)
    # New rounds roll in as old ones close, so there is always a live 15-minute market.
    rolled = [m for ts, m in recording.market_history if ts > start_ns and not m.settled_outcome]
    assert len(rolled) == 8
    assert {m.venue for m in rolled} == {VenueId.KALSHI, VenueId.POLYMARKET}
    # Only a pair that really is one contract is recorded as tradable.
    assert [(p.a.venue, p.b.venue) for p in recording.pairs] == [
        (VenueId.KALSHI, VenueId.POLYMARKET)
    ]
    assert "Fed" in recording.pairs[0].a.title


def test_injected_situations_are_found_by_the_replay(tmp_path: Path) -> None:
    generate(tmp_path / "s", SyntheticSpec(seed=11, hours=1.5, situation_every_minutes=6))
    recording = open_recording(tmp_path / "s")
    schedule = recording.metadata.extra["situations"]
    found = list(replay_opportunities(recording))
    kinds = {s["kind"] for s in schedule}
    assert {"cross_venue", "intra_venue"} <= kinds, schedule
    for situation in schedule:
        begin = datetime.fromisoformat(situation["start"])
        end = datetime.fromisoformat(situation["end"]) + timedelta(seconds=10)
        matching = [
            o for o in found if o.kind.value == situation["kind"] and begin <= o.detected_at <= end
        ]
        assert matching, situation
        if situation["kind"] == OpportunityKind.CROSS_VENUE.value:
            assert {leg.venue for leg in matching[0].legs} == {VenueId.KALSHI, VenueId.POLYMARKET}
    # A gap between situations is never a cross-venue or intra-venue arbitrage.
    windows = [
        (
            datetime.fromisoformat(s["start"]),
            datetime.fromisoformat(s["end"]) + timedelta(seconds=10),
        )
        for s in schedule
    ]
    for opportunity in found:
        if opportunity.kind is OpportunityKind.ORACLE_LAG:
            continue
        assert any(lo <= opportunity.detected_at <= hi for lo, hi in windows), opportunity


def test_sim_record_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sim", "--record", str(tmp_path / "cli"), "--hours", "0.2", "--seed", "3"],
        env={"PMARB_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert "synthetic, seed 3, 0.2 h" in result.stdout
    metadata = json.loads((tmp_path / "cli" / "metadata.json").read_text())
    assert metadata["synthetic"] is True and metadata["seed"] == 3
    again = CliRunner().invoke(
        app, ["sim", "--record", str(tmp_path / "cli")], env={"PMARB_DATA_DIR": str(tmp_path)}
    )
    assert again.exit_code != 0 and "not empty" in again.output
