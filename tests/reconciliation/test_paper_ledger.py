"""The paper ledger reconciles to the cent (issue 13, item 4).

For several seeds, a random sequence of buys, sells, unwinds, market moves and settlements goes
through two paper venues (Kalshi and Polymarket, over the simulator's REST APIs, their books fed
from the simulator's books through the real stream handlers), the order activities and the
ledger. After every step, exactly (Decimal ==):

- each venue's cash — the paper venue's balance and the ledger's sum of its cash flows — is its
  starting balance less what its fills cost and their fees, plus what its sells raised and what
  its settlements paid, all worked out here from the venue's own fill records;
- what the ledger holds is what those fills and settlements leave, and what the venue holds;
- the valuation the market-data process records, and the API's portfolio, have
  value == cash + Σ size × mid, pnl == value − starting balance, cash == starting balance + the
  ledger's cash flows, with the mids read from the simulator's books.

Settlements take each of the three ways a paper market settles: through the settlement
activity, noticed by the paper venue first, and booked by the ledger first (the reconciler must
then not copy the venue's holdings back). At the end a restarted paper venue resumes the same
cash and holdings from the ledger, and a reconciliation pass finds nothing to repair.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from temporalio.testing import ActivityEnvironment

from pmarb.activities.orders import OrderActivities
from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from pmarb.domain.bid import PlannedOrder
from pmarb.domain.market import Market, VenueId
from pmarb.domain.orders import OrderPurpose, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.infra.runtime import Endpoints
from pmarb.lifecycle.messages import OrderToSend, PlaceOrdersInput, SettlementInput, UnwindInput
from pmarb.reconciliation.paper import resume_paper_venues
from pmarb.reconciliation.reconciler import Reconciler
from pmarb.sim import Simulator
from pmarb.sim.simulator import BookView
from pmarb.store.db import open_pool
from pmarb.store.orders import settle_positions
from pmarb.store.portfolio import venue_cash
from pmarb.venues.base import Venue
from pmarb.venues.factory import build_live_venues
from pmarb.venues.kalshi.stream import KalshiStreamHandler
from pmarb.venues.paper.venue import PaperConfig, PaperVenue
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.workers.marketdata import MarketDataService
from tests.api.fixtures import api_settings
from tests.marketdata.harness import settings_for
from tests.sim_support import make_keys, simulator
from tests.support import ServedApp

SEEDS = (1, 2, 3, 4)
CENT = D("0.01")
PLAN = ["buy"] * 10 + ["sell"] * 4 + ["unwind"] * 3 + ["move"] * 4 + ["settle"] * 3
SETTLEMENT_PATHS = ("activity", "venue_first", "ledger_first")

Key = tuple[VenueId, str, Outcome]  # venue, market, outcome


async def _instant(seconds: float) -> None:
    await asyncio.sleep(0)


@dataclass
class Lifecycle:
    workflow_id: str
    market: Market
    outcome: Outcome
    held: D = D(0)
    exits: int = 0

    @property
    def instrument_id(self) -> str:
        m = self.market
        return m.yes_instrument_id if self.outcome is Outcome.YES else m.no_instrument_id


class PaperWorld:
    """The paper venues and the ledger under test, and what this test expects of them."""

    def __init__(
        self,
        seed: int,
        sim: Simulator,
        live: dict[VenueId, Any],
        pool: AsyncConnectionPool[Any],
        http: httpx.AsyncClient,
        service: MarketDataService,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.sim = sim
        self.live = live
        self.pool = pool
        self.http = http
        self.service = service
        self.env = ActivityEnvironment()
        self.kalshi_feed = KalshiStreamHandler(live[VenueId.KALSHI].store, use_yes_price=False)
        self.poly_feed = MarketChannelHandler(live[VenueId.POLYMARKET].store)
        self.seq = 0
        self.info = {(VenueId(i.venue), i.market_id): i for i in sim.markets()}
        self.starting = {
            VenueId.KALSHI: D(self.rng.randint(3000, 5000)),
            VenueId.POLYMARKET: D(self.rng.randint(2000, 4000)),
        }
        # What this test expects, from the venues' fill records and the settlements it makes.
        self.cash = dict(self.starting)
        self.held: dict[Key, D] = {}
        self.fills_seen = dict.fromkeys(self.starting, 0)
        self.markets: list[Market] = []
        self.lifecycles: list[Lifecycle] = []
        self.paper = self._paper_venues(self.starting)
        self.activities = OrderActivities(self.paper, pool, paper=True)
        self.reconciler = Reconciler(
            pool,
            self.paper,
            instrument_of=self._instrument_of,
            market_of=self._market_of,
            grace=timedelta(0),
        )
        self.done: dict[str, int] = {}
        self.fees = D(0)

    def _paper_venues(self, balances: dict[VenueId, D]) -> dict[VenueId, Venue]:
        return {
            venue: PaperVenue(
                self.live[venue],
                self.live[venue].store,
                PaperConfig(starting_balance=balance, latency=0.0),
                sleep=_instant,
            )
            for venue, balance in balances.items()
        }

    def market(self, venue: VenueId, market_id: str) -> Market:
        return next(m for m in self.markets if (m.venue, m.market_id) == (venue, market_id))

    def _instrument_of(self, venue: VenueId, market_id: str, outcome: Outcome) -> str:
        market = self.market(venue, market_id)
        return market.yes_instrument_id if outcome is Outcome.YES else market.no_instrument_id

    def _market_of(self, venue: VenueId, instrument_id: str) -> str | None:
        return next(
            (
                m.market_id
                for m in self.markets
                if m.venue is venue and instrument_id in (m.yes_instrument_id, m.no_instrument_id)
            ),
            None,
        )

    # -- the world ---------------------------------------------------------------------------

    async def start(self) -> None:
        for venue, paper in self.paper.items():
            for market in await self.live[venue].discover_markets():
                paper.add_market(market)  # type: ignore[attr-defined]
                self.markets.append(market)
                self.feed(market)
        self.open = list(self.markets)
        await resume_paper_venues(self.pool, self.paper)  # writes the opening balances

    def feed(self, market: Market) -> None:
        """The simulator's current book for ``market``, through the venue's stream handler."""
        if market.venue is VenueId.KALSHI:
            view = self.sim.book(VenueId.KALSHI, market.market_id)
            self.seq += 1
            ladder = [[f"{p:.4f}", f"{s:.2f}"] for p, s in sorted(view.bids.items())]
            no_bids = [[f"{1 - p:.4f}", f"{s:.2f}"] for p, s in sorted(view.asks.items())]
            self.kalshi_feed.on_message(
                json.dumps(
                    {
                        "type": "orderbook_snapshot",
                        "sid": 1,
                        "seq": self.seq,
                        "msg": {
                            "market_ticker": market.market_id,
                            "yes_dollars_fp": ladder,
                            "no_dollars_fp": sorted(no_bids, key=lambda level: D(level[0])),
                        },
                    }
                )
            )
            return
        for token in (market.yes_instrument_id, market.no_instrument_id):
            view = self.sim.book(VenueId.POLYMARKET, token)
            self.poly_feed.on_message(
                json.dumps(
                    {
                        "event_type": "book",
                        "asset_id": token,
                        "market": market.market_id,
                        "bids": [{"price": str(p), "size": str(s)} for p, s in view.bids.items()],
                        "asks": [{"price": str(p), "size": str(s)} for p, s in view.asks.items()],
                    }
                )
            )

    def book(self, market: Market, outcome: Outcome) -> BookView:
        """The simulator's book of one outcome (its own instrument ids: a Kalshi YES book is
        the ticker's)."""
        info = self.info[(market.venue, market.market_id)]
        instrument = info.yes_instrument_id if outcome is Outcome.YES else info.no_instrument_id
        return self.sim.book(market.venue, instrument)

    def mid(self, market: Market, outcome: Outcome) -> D:
        view = self.book(market, outcome)
        assert view.best_bid is not None and view.best_ask is not None
        return (view.best_bid + view.best_ask) / 2

    # -- the steps ---------------------------------------------------------------------------

    async def run(self) -> None:
        plan = list(PLAN)
        self.rng.shuffle(plan)
        paths = list(SETTLEMENT_PATHS)
        self.rng.shuffle(paths)
        for step, action in enumerate(plan):
            holding = [lc for lc in self.lifecycles if lc.held > 0]
            if action in ("sell", "unwind") and not holding:
                action = "buy"
            if action == "buy":
                await self.buy()
            elif action == "sell":
                await self.sell(self.rng.choice(holding))
            elif action == "unwind":
                await self.unwind(self.rng.choice(holding))
            elif action == "move":
                self.move()
            else:
                while not holding:  # each way of settling is to settle something held
                    await self.buy()
                    holding = [lc for lc in self.lifecycles if lc.held > 0]
                await self.settle(paths.pop())
            self.done[action] = self.done.get(action, 0) + 1
            await self.check(f"seed {self.seed} step {step} {action}")

    async def buy(self) -> None:
        market = self.rng.choice(self.open)
        outcome = self.rng.choice((Outcome.YES, Outcome.NO))
        lifecycle = Lifecycle(f"ledger-{self.seed}-{len(self.lifecycles)}", market, outcome)
        self.feed(market)
        asks = list(self.book(market, outcome).asks.items())
        # Sizes in hundredths, and every other buy walks past the best level: its average price
        # is then a rounded quotient, and only the exact notional keeps the cash to the cent.
        lowest = 1 if market.venue is VenueId.KALSHI else 500
        size = D(self.rng.randint(lowest, 3000)) / 100
        limit = asks[0][0] + self.rng.choice((D(0), CENT, 3 * CENT))
        if self.rng.random() < 0.5:
            size += asks[0][1]
            limit = asks[1][0]
        tif = self.rng.choice((TimeInForce.FAK, TimeInForce.FOK))
        (bought,) = await self._send(
            lifecycle, "a", OrderPurpose.OPEN, Side.BUY, min(limit, D("0.99")), size, tif
        )
        lifecycle.held += bought.filled
        self.lifecycles.append(lifecycle)

    async def sell(self, lifecycle: Lifecycle) -> None:
        self.feed(lifecycle.market)
        bid = self.book(lifecycle.market, lifecycle.outcome).best_bid
        assert bid is not None
        share = D(self.rng.choice((25, 50, 75, 100))) / 100
        size = max(CENT, (lifecycle.held * share).quantize(CENT, rounding=ROUND_DOWN))
        limit = max(CENT, bid - self.rng.choice((D(0), CENT, 2 * CENT)))
        lifecycle.exits += 1
        (sold,) = await self._send(
            lifecycle,
            f"exit-{lifecycle.exits}",
            OrderPurpose.EXIT,
            Side.SELL,
            limit,
            min(size, lifecycle.held),
            TimeInForce.FAK,
        )
        lifecycle.held -= sold.filled

    async def _send(
        self,
        lifecycle: Lifecycle,
        leg: str,
        purpose: OrderPurpose,
        side: Side,
        limit: D,
        size: D,
        tif: TimeInForce,
    ) -> list[Any]:
        market = lifecycle.market
        planned = PlannedOrder(
            leg=leg,
            venue=market.venue,
            market_id=market.market_id,
            instrument_id=lifecycle.instrument_id,
            outcome=lifecycle.outcome,
            side=side,
            limit_price=limit,
            size=size,
            time_in_force=tif,
            expected_price=limit,
            fees=market.fees,
        )
        request = PlaceOrdersInput(
            lifecycle.workflow_id,
            "atomic-arb",
            purpose,
            (OrderToSend(f"{lifecycle.workflow_id}:{leg}", planned),),
        )
        return list(await self.env.run(self.activities.place_orders, request))

    async def unwind(self, lifecycle: Lifecycle) -> None:
        self.feed(lifecycle.market)
        market = lifecycle.market
        result = await self.env.run(
            self.activities.unwind,
            UnwindInput(
                lifecycle.workflow_id,
                "a",
                market.venue,
                market.market_id,
                lifecycle.instrument_id,
                lifecycle.outcome,
            ),
        )
        assert (result.sold, result.remaining) == (lifecycle.held, D(0))
        lifecycle.held = D(0)

    def move(self) -> None:
        self.sim.advance(self.rng.choice((1, 5, 15, 30)))
        for market in self.open:
            self.feed(market)

    async def settle(self, path: str) -> None:
        held_markets = {(lc.market.venue, lc.market.market_id) for lc in self.lifecycles if lc.held}
        candidates = [m for m in self.open if (m.venue, m.market_id) in held_markets]
        market = self.rng.choice(candidates)
        held = next(lc.outcome for lc in self.lifecycles if lc.market is market and lc.held)
        # The first settlement pays its holder, so that every seed has a payout to account for.
        winner = held if not self.done.get("settle") else self.rng.choice(list(Outcome))
        self.sim.resolve_market(self.info[(market.venue, market.market_id)].key, winner)
        yes_payout = D(1) if winner is Outcome.YES else D(0)
        paper = self.paper[market.venue]
        if path == "activity":
            paid = await self.env.run(
                self.activities.await_settlement,
                SettlementInput(market.venue, market.market_id, poll_seconds=0.01),
            )
            assert paid == yes_payout
        elif path == "venue_first":
            assert (await paper.market_resolution(market.market_id)).yes_payout == yes_payout
            await self.reconciler.reconcile()
        else:
            async with self.pool.connection() as conn:
                await settle_positions(conn, market.venue.value, market.market_id, yes_payout)
            # The venue still holds the market: the pass must settle it, not copy it back.
            await self.reconciler.reconcile()
        await self.sync_fills()
        for outcome in (Outcome.YES, Outcome.NO):
            size = self.held.pop((market.venue, market.market_id, outcome), D(0))
            pays = yes_payout if outcome is Outcome.YES else 1 - yes_payout
            self.cash[market.venue] += size * pays
        for lifecycle in self.lifecycles:
            if lifecycle.market is market:
                lifecycle.held = D(0)
        self.open.remove(market)

    # -- the checks --------------------------------------------------------------------------

    async def sync_fills(self) -> None:
        """Take in the fills the venues report since last time: each one's cash and shares."""
        for venue, paper in self.paper.items():
            fills = list(await paper.fills())
            for fill in fills[self.fills_seen[venue] :]:
                market_id = self._market_of(venue, fill.instrument_id)
                assert market_id is not None
                key = (venue, market_id, fill.outcome)
                notional = fill.price * fill.size
                if fill.side is Side.BUY:
                    self.cash[venue] -= notional + fill.fee
                    self.held[key] = self.held.get(key, D(0)) + fill.size
                else:
                    self.cash[venue] += notional - fill.fee
                    self.held[key] = self.held.get(key, D(0)) - fill.size
                self.fees += fill.fee
            self.fills_seen[venue] = len(fills)
        self.held = {key: size for key, size in self.held.items() if size != 0}

    async def check(self, where: str) -> None:
        await self.sync_fills()
        expected_cash = sum(self.cash.values(), D(0))
        starting = sum(self.starting.values(), D(0))
        marks: dict[tuple[VenueId, str], tuple[D, D]] = {}
        for (venue, market_id, outcome), size in self.held.items():
            market = self.market(venue, market_id)
            instrument = self._instrument_of(venue, market_id, outcome)
            marks[(venue, instrument)] = (size, self.mid(market, outcome))
        expected_value = expected_cash + sum((size * mid for size, mid in marks.values()), D(0))

        for venue, paper in self.paper.items():
            assert await paper.balance() == self.cash[venue], where
            venue_held = {
                (venue, p.market_id, p.outcome): p.size for p in await paper.positions() if p.size
            }
            assert venue_held == {k: s for k, s in self.held.items() if k[0] is venue}, where
        async with self.pool.connection() as conn:
            for venue in self.paper:
                assert await venue_cash(conn, venue) == self.cash[venue], where
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "select venue, market_id, outcome, size from positions where size <> 0"
            )
            ledger_held = {
                (VenueId(r["venue"]), r["market_id"], Outcome(r["outcome"])): D(r["size"])
                for r in await cursor.fetchall()
            }
            await cursor.execute(
                "select coalesce(sum(amount), 0) as moved from cash_flows where kind <> 'opening'"
            )
            row = await cursor.fetchone()
            assert row is not None
            moved = D(row["moved"])
        assert ledger_held == self.held, where

        # The market-data process's valuation, at the live books.
        await self.service.value_portfolio()
        async with self.pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "select value, cash from portfolio_snapshots order by id desc limit 1"
            )
            snapshot = await cursor.fetchone()
        assert snapshot is not None
        assert (D(snapshot["value"]), D(snapshot["cash"])) == (expected_value, expected_cash), where

        # The API: the same figures, and the identities between them.
        body = (await self.http.get("/api/portfolio")).json()
        value, cash = D(body["value"]), D(body["cash"])
        assert (value, cash, D(body["starting_balance"])) == (
            expected_value,
            expected_cash,
            starting,
        ), where
        assert value == cash + D(body["positions_value"]), where
        assert D(body["pnl"]) == value - starting, where
        assert cash == starting + moved, where
        assert D(body["pnl"]) == D(body["realized_pnl"]) + D(body["unrealized_pnl"]), where
        lines = {
            (VenueId(p["venue"]), p["instrument_id"]): (D(p["size"]), D(p["mark"]))
            for p in body["positions"]
        }
        assert lines == marks, where
        assert all(p["mark_source"] == "mid" for p in body["positions"]), where
        assert all(D(p["value"]) == D(p["size"]) * D(p["mark"]) for p in body["positions"])
        assert D(body["positions_value"]) == sum((D(p["value"]) for p in body["positions"]), D(0))
        positions = (await self.http.get("/api/positions")).json()
        assert D(positions["value"]) == D(body["positions_value"]), where

    async def finish(self) -> None:
        """A clean reconciliation, then a restart that resumes the same cash and holdings."""
        reports = await self.reconciler.reconcile()
        assert all(r.clean for r in reports), reports
        await self.check(f"seed {self.seed} after reconciling")
        for paper in self.paper.values():
            await paper.aclose()
        # A changed starting-balance setting does not rewrite a running ledger.
        restarted = self._paper_venues(dict.fromkeys(self.paper, D(1)))
        for venue, paper in restarted.items():
            for market in self.markets:
                if market.venue is venue:
                    paper.add_market(market)  # type: ignore[attr-defined]
        await resume_paper_venues(self.pool, restarted)
        for venue, paper in restarted.items():
            assert await paper.balance() == self.cash[venue]
            held = {(venue, p.market_id, p.outcome): p.size for p in await paper.positions()}
            assert {k: s for k, s in held.items() if s} == {
                k: s for k, s in self.held.items() if k[0] is venue
            }
            await paper.aclose()


@asynccontextmanager
async def paper_world(seed: int, database_url: str, tmp_path: Path) -> AsyncIterator[PaperWorld]:
    keys = make_keys()
    async with simulator(keys, seed=seed) as sim:
        settings = settings_for(sim, keys, database_url, "127.0.0.1:1", tmp_path)
        live = build_live_venues(settings.venues)
        pool = await open_pool(database_url, max_size=4)
        api = api_settings(database_url, tmp_path / "api")
        service = MarketDataService(
            settings, Endpoints(database_url, "127.0.0.1:1", None, "http://127.0.0.1:1")
        )
        service.live, service.pool = live, pool
        try:
            async with ServedApp(create_app(api), lifespan="on") as served:
                token = token_path(api.data_dir).read_text()
                async with httpx.AsyncClient(
                    base_url=served.url, headers={"Authorization": f"Bearer {token}"}
                ) as http:
                    world = PaperWorld(seed, sim, live, pool, http, service)
                    await world.start()
                    yield world
        finally:
            await pool.close()
            for venue in live.values():
                await venue.aclose()


@pytest.mark.parametrize("seed", SEEDS)
async def test_the_paper_ledger_reconciles_to_the_cent(
    seed: int, database_url: str, tmp_path: Path
) -> None:
    async with paper_world(seed, database_url, tmp_path) as world:
        await world.check(f"seed {seed} at the start")
        await world.run()
        await world.finish()
        # The sequence did what it is for: every kind of step, fees paid, settled positions
        # paid out, and positions still open (marked at the mid) at the end.
        assert {"buy", "sell", "unwind", "move", "settle"} <= set(world.done), world.done
        assert world.fees > 0 and world.held
        async with world.pool.connection() as conn:
            cursor = await conn.execute(
                "select sum(amount) as paid from cash_flows where kind = 'payout'"
            )
            row = await cursor.fetchone()
        assert row is not None and row["paid"] > 0
