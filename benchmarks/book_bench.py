"""Book hot-path throughput: decode + apply + best bid/ask, per venue, on one core.

    .venv/bin/python benchmarks/book_bench.py [--messages N]

Feeds pre-encoded WebSocket frames through the same stream handlers the live feeds use, into
the book store, and reads the best bid and ask after every frame, as the scanner would. Prints
price-level changes per CPU-second (one core) next to the goal: the best of ``--repeats`` runs,
and their median (the machine is shared, so one run can be slowed by its neighbours).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from pmarb.domain.market import VenueId
from pmarb.venues.kalshi.stream import KalshiStreamHandler
from pmarb.venues.polymarket.stream import MarketChannelHandler
from pmarb.venues.store import BookStore

GOALS = {"polymarket price_change": 400_000, "kalshi orderbook_delta": 400_000}
YES, NO = "1" * 77, "2" * 77


def _fmt(ticks: int) -> str:
    return f"{ticks / 1000:.3f}"


def polymarket_frames(count: int, rng: random.Random) -> tuple[list[bytes], list[bytes], int]:
    """A YES/NO pair; every change arrives twice (YES BUY at p, NO SELL at 1 − p)."""
    bids = {p: rng.randint(1, 5000) for p in range(300, 480, 3)}
    asks = {p: rng.randint(1, 5000) for p in range(500, 700, 3)}

    def book(asset: str, b: dict[int, int], a: dict[int, int]) -> bytes:
        return json.dumps(
            {
                "event_type": "book",
                "asset_id": asset,
                "market": "0xm",
                "bids": [{"price": _fmt(p), "size": str(s)} for p, s in sorted(b.items())],
                "asks": [
                    {"price": _fmt(p), "size": str(s)} for p, s in sorted(a.items(), reverse=True)
                ],
            }
        ).encode()

    setup = [
        book(YES, bids, asks),
        book(NO, {1000 - p: s for p, s in asks.items()}, {1000 - p: s for p, s in bids.items()}),
    ]
    frames: list[bytes] = []
    changes = 0
    for _ in range(count):
        buy = rng.random() < 0.5
        side = bids if buy else asks
        price = rng.randrange(300, 480) if buy else rng.randrange(500, 700)
        size = 0 if (price in side and rng.random() < 0.3) else rng.randint(1, 5000)
        if size:
            side[price] = size
        else:
            side.pop(price, None)
        best_bid, best_ask = max(bids), min(asks)
        frames.append(
            json.dumps(
                {
                    "market": "0xm",
                    "price_changes": [
                        {
                            "asset_id": YES,
                            "price": _fmt(price),
                            "size": str(size),
                            "side": "BUY" if buy else "SELL",
                            "hash": "b7623b6417b3ae46dbe5d608a65474c9cec84ef9",
                            "best_bid": _fmt(best_bid),
                            "best_ask": _fmt(best_ask),
                        },
                        {
                            "asset_id": NO,
                            "price": _fmt(1000 - price),
                            "size": str(size),
                            "side": "SELL" if buy else "BUY",
                            "hash": "c0978ce48e525b35579b9fb4556a08538ebf265a",
                            "best_bid": _fmt(1000 - best_ask),
                            "best_ask": _fmt(1000 - best_bid),
                        },
                    ],
                    "timestamp": "1790658674035",
                    "event_type": "price_change",
                }
            ).encode()
        )
        changes += 2
    return setup, frames, changes


def kalshi_frames(count: int, rng: random.Random) -> tuple[list[bytes], list[bytes], int]:
    yes = {p: rng.randint(1, 500) for p in range(20, 45)}
    no = {p: rng.randint(1, 500) for p in range(20, 50)}
    snapshot = {
        "type": "orderbook_snapshot",
        "sid": 1,
        "seq": 1,
        "msg": {
            "market_ticker": "KXBENCH-26-T1",
            "yes_dollars_fp": [[f"0.{p:02d}00", f"{s}.00"] for p, s in sorted(yes.items())],
            "no_dollars_fp": [[f"0.{p:02d}00", f"{s}.00"] for p, s in sorted(no.items())],
        },
    }
    frames = []
    for seq in range(2, count + 2):
        side = "yes" if rng.random() < 0.5 else "no"
        levels = yes if side == "yes" else no
        price = rng.randrange(20, 45 if side == "yes" else 50)
        delta = rng.randint(1, 300) * (-1 if levels.get(price, 0) > 300 else 1)
        levels[price] = levels.get(price, 0) + delta
        frames.append(
            json.dumps(
                {
                    "type": "orderbook_delta",
                    "sid": 1,
                    "seq": seq,
                    "msg": {
                        "market_ticker": "KXBENCH-26-T1",
                        "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
                        "price_dollars": f"0.{price:02d}00",
                        "delta_fp": f"{delta}.00",
                        "side": side,
                        "ts_ms": 1669149841000,
                    },
                }
            ).encode()
        )
    return [json.dumps(snapshot).encode()], frames, count


def measure(
    setup: list[bytes],
    frames: list[bytes],
    changes: int,
    make: Callable[[BookStore], Callable[[str | bytes], None]],
    venue: VenueId,
    instrument: str,
    repeats: int,
) -> list[float]:
    rates: list[float] = []
    for _ in range(repeats):
        store = BookStore(venue)
        on_message = make(store)
        for raw in setup:
            on_message(raw)
        best_bid_ask = store.best_bid_ask
        book = store.book(instrument)
        assert book is not None
        # CPU time of this process: the machine is shared, and wall time would also count the
        # time other processes hold the core.
        start = time.process_time()
        for raw in frames:
            on_message(raw)
            book.best_bid()
            book.best_ask()
        elapsed = time.process_time() - start
        best_bid_ask(instrument)  # the Decimal view works after the run
        assert book.valid and not book.suspect, "benchmark data must keep the book consistent"
        rates.append(changes / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    results = {
        "polymarket price_change": measure(
            *polymarket_frames(args.messages, rng),
            lambda store: MarketChannelHandler(store).on_message,
            VenueId.POLYMARKET,
            YES,
            args.repeats,
        ),
        "kalshi orderbook_delta": measure(
            *kalshi_frames(args.messages, rng),
            lambda store: KalshiStreamHandler(store, use_yes_price=False).on_message,
            VenueId.KALSHI,
            "KXBENCH-26-T1:yes",
            args.repeats,
        ),
    }
    for name, rates in results.items():
        goal = GOALS[name]
        best, median = max(rates), statistics.median(rates)
        verdict = "meets" if best >= goal else "BELOW"
        print(
            f"{name:26s} {best:>11,.0f} price changes/s   goal ≥ {goal:,}/s  ({verdict})"
            f"   median of {len(rates)}: {median:,.0f}/s"
        )
    print("reference: NautilusTrader's Python adapter path ~195,000/s on this kind of machine")


if __name__ == "__main__":
    main()
