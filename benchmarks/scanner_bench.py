"""Scanner throughput and detection latency on one core.

5,000 instruments (2,500 binary markets on two venues) and 500 matched cross-venue pairs, in the
real book store and the real scanner. Each update changes one level of one book and goes through
the store's listener into the scanner, exactly as a venue stream handler applies it. Most updates
create nothing (the top-of-book check rejects them); every thousandth opens a cross-venue gap.

    .venv/bin/python benchmarks/scanner_bench.py [--updates 1000000]

Throughput is updates per CPU second through the scanner (the same updates replayed without and
with the scanner attached, the difference being the scanner's own cost; book apply has its own
benchmark), with apply + scan reported beside it. Detection latency is the time from the start
of applying an update to the scanner emitting the opportunity it reveals. The last line printed
is one JSON object: {"benchmark", "figures", "goals"}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmarb.domain.fees import FeeSchedule
from pmarb.domain.market import Market, VenueId
from pmarb.domain.opportunity import Opportunity
from pmarb.feeds.health import FeedHealth
from pmarb.scanner.config import ScannerConfig
from pmarb.scanner.detectors import MatchedPair
from pmarb.scanner.scanner import Scanner
from pmarb.venues.store import FEED_KEY, BookStore

GOALS = {"updates_per_second": 400_000, "detection_p99_ms": 1.0}
MICROS = 1_000_000
MARKETS_PER_VENUE = 1_250  # × 2 outcomes × 2 venues = 5,000 instruments
PAIRS = 500
FEES = FeeSchedule(taker_rate=D("0.07"), rounding_step=D("0.01"))


def build() -> tuple[dict[VenueId, BookStore], list[Market], list[MatchedPair]]:
    stores = {}
    markets: list[Market] = []
    for venue in (VenueId.POLYMARKET, VenueId.KALSHI):
        store = BookStore(venue, FeedHealth(f"{venue}-bench"))
        stores[venue] = store
        store.health.connected = True
        for n in range(MARKETS_PER_VENUE):
            market = Market(
                venue=venue,
                market_id=f"{venue}-{n}",
                title=f"m{n}",
                yes_instrument_id=f"{venue}-{n}:yes",
                no_instrument_id=f"{venue}-{n}:no",
                fees=FEES,
                close_time=datetime.now(UTC) + timedelta(days=1),
            )
            markets.append(market)
            for instrument, mid in (
                (market.yes_instrument_id, 500_000),
                (market.no_instrument_id, 500_000),
            ):
                book = store.ensure(instrument)
                book.bids.replace([(mid - 10_000 * k, 100 * MICROS) for k in range(1, 6)])
                book.asks.replace([(mid + 10_000 * k, 100 * MICROS) for k in range(1, 6)])
                book.valid = True
                store.applied_snapshot(book)
        store.health.record_message(FEED_KEY)
    by_venue = {v: [m for m in markets if m.venue is v] for v in stores}
    pairs = [
        MatchedPair(n, by_venue[VenueId.POLYMARKET][n], by_venue[VenueId.KALSHI][n], False)
        for n in range(PAIRS)
    ]
    return stores, markets, pairs


def run(updates: int) -> dict[str, Any]:
    stores, markets, pairs = build()
    emitted: list[float] = []
    started = [0.0]

    def emit(opportunity: Opportunity) -> None:
        emitted.append(time.perf_counter() - started[0])

    scanner = Scanner(
        stores, emit, config=ScannerConfig(max_book_age_seconds=1e9, dedupe_bucket_seconds=0.0)
    )
    for market in markets:
        scanner.add_binary_market(market)
    for pair in pairs:
        scanner.add_pair(pair)
    for venue, store in stores.items():
        store.add_listener(scanner.listener_for(venue))

    rng = random.Random(1)
    plan = []
    paired = [(p.a, p.b) for p in pairs]
    for n in range(updates):
        if n % 1000 == 999:
            a, b = paired[rng.randrange(len(paired))]
            # A deep ask on one venue opens a cross-venue gap against the other's NO ask.
            plan.append((stores[a.venue], a.yes_instrument_id, 1, 440_000, 200 * MICROS))
            plan.append((stores[b.venue], b.no_instrument_id, 1, 440_000, 200 * MICROS))
            # The gap is gone again (taken or withdrawn) before the next update to it.
            plan.append((stores[a.venue], a.yes_instrument_id, 1, 440_000, 0))
            plan.append((stores[b.venue], b.no_instrument_id, 1, 440_000, 0))
            continue
        market = markets[rng.randrange(len(markets))]
        instrument = market.yes_instrument_id if rng.random() < 0.5 else market.no_instrument_id
        side = 0 if rng.random() < 0.5 else 1
        price = 500_000 + (-1 if side == 0 else 1) * 10_000 * rng.randint(1, 5)
        plan.append((stores[market.venue], instrument, side, price, rng.randint(0, 300) * MICROS))

    def replay(with_scanner: bool) -> float:
        listeners = {venue: list(store.listeners) for venue, store in stores.items()}
        if not with_scanner:
            for store in stores.values():
                store.listeners.clear()
        cpu = time.process_time()
        for store, instrument, side, price, size in plan:
            started[0] = time.perf_counter()
            book = store.books[instrument]
            (book.bids if side == 0 else book.asks).set(price, size)
            store.applied(book)
        elapsed = time.process_time() - cpu
        for venue, store in stores.items():
            store.listeners[:] = listeners[venue]
        return elapsed

    apply_only = replay(with_scanner=False)
    emitted.clear()
    apply_and_scan = replay(with_scanner=True)
    scan = max(apply_and_scan - apply_only, 1e-9)
    latencies = sorted(e * 1000 for e in emitted)
    return {
        "updates": len(plan),
        "instruments": sum(len(s.books) for s in stores.values()),
        "matched_pairs": len(pairs),
        "updates_per_second": round(len(plan) / scan),
        "apply_and_scan_updates_per_second": round(len(plan) / apply_and_scan),
        "opportunities": len(latencies),
        "detection_p50_ms": round(statistics.median(latencies), 4) if latencies else None,
        "detection_p99_ms": round(latencies[max(0, round(0.99 * len(latencies)) - 1)], 4)
        if latencies
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1_000_000)
    figures = run(parser.parse_args().updates)
    print(
        f"scanner: {figures['updates_per_second']:,} updates/s "
        f"(goal ≥ {GOALS['updates_per_second']:,}; apply + scan "
        f"{figures['apply_and_scan_updates_per_second']:,}/s); detection p99 "
        f"{figures['detection_p99_ms']} ms (goal ≤ {GOALS['detection_p99_ms']}) over "
        f"{figures['instruments']:,} instruments and {figures['matched_pairs']} pairs"
    )
    print(json.dumps({"benchmark": "scanner", "figures": figures, "goals": GOALS}))


if __name__ == "__main__":
    main()
