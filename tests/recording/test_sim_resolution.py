"""Market resolution in the simulator, read through the real venue adapters over HTTP: Kalshi's
``status``/``result`` and Polymarket's ``closed`` with final ``outcomePrices``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pmarb.domain.market import VenueId
from pmarb.domain.parity import Outcome
from pmarb.venues.factory import build_live_venues
from tests.marketdata.harness import settings_for
from tests.sim_support import make_keys, simulator


async def test_resolve_market_is_visible_in_each_venues_shape(tmp_path: Path) -> None:
    keys = make_keys()
    async with simulator(keys, start_time_ms=1_790_000_000_000) as sim:
        settings = settings_for(sim, keys, "postgresql://unused", "unused:7233", tmp_path)
        live = build_live_venues(settings.venues)
        try:
            kalshi, poly = live[VenueId.KALSHI], live[VenueId.POLYMARKET]
            pair = sim.pair("fed-dec-cut")
            k_market, p_market = pair[VenueId.KALSHI], pair[VenueId.POLYMARKET]
            assert not (await kalshi.market_resolution(k_market.market_id)).resolved
            assert not (await poly.market_resolution(p_market.market_id)).resolved

            sim.resolve_market(k_market.key, Outcome.YES)
            sim.resolve_market(p_market.key, Outcome.NO)
            k_resolution = await kalshi.market_resolution(k_market.market_id)
            p_resolution = await poly.market_resolution(p_market.market_id)
            assert (k_resolution.resolved, k_resolution.yes_payout) == (True, Decimal(1))
            assert (p_resolution.resolved, p_resolution.yes_payout) == (True, Decimal(0))
            # Closed markets leave discovery and take no more orders or quotes.
            listed = {
                m.market_id for venue in live.values() for m in await venue.discover_markets()
            }
            assert k_market.market_id not in listed and p_market.market_id not in listed
            assert sim.book(VenueId.KALSHI, k_market.market_id).bids == {}
        finally:
            for venue in live.values():
                await venue.aclose()


@pytest.mark.parametrize("minutes", [16])
async def test_markets_close_on_time_and_new_rounds_open(tmp_path: Path, minutes: int) -> None:
    keys = make_keys()
    async with simulator(keys, start_time_ms=1_790_000_000_000, step_seconds=5.0) as sim:
        settings = settings_for(sim, keys, "postgresql://unused", "unused:7233", tmp_path)
        live = build_live_venues(settings.venues)
        try:
            before = {m.market_id: m for v in live.values() for m in await v.discover_markets()}
            first_round = [m for m in sim.markets() if "15" in m.title or "Up or Down" in m.title]
            assert len(first_round) == 2
            sim.advance(minutes * 60)
            after = {m.market_id: m for v in live.values() for m in await v.discover_markets()}
            for info in first_round:
                assert info.market_id not in after  # closed at 15 minutes
                adapter = live[info.venue]
                resolution = await adapter.market_resolution(info.market_id)
                assert resolution.resolved and resolution.yes_payout in (Decimal(0), Decimal(1))
            new = set(after) - set(before)
            assert len(new) == 2  # the next round, on each venue
            assert {after[m].venue for m in new} == {VenueId.KALSHI, VenueId.POLYMARKET}
        finally:
            for venue in live.values():
                await venue.aclose()
