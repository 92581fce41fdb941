"""Backtest fast-path throughput: recorded events per second through the live scanner,
strategies, risk rules and paper fills.

The seeded synthetic scenario (``pmarb.backtest.synthetic``: BTC ticks every second, an hourly
oracle-priced Kalshi market and an hourly matched Kalshi/Polymarket pair, books re-quoted every
one to two seconds) is generated first and not timed; the replay is timed on its own. Every
event goes through the same code a live update does (book store, scanner listener, fair values,
paper fills); no pre-filter skips any.

    .venv/bin/python benchmarks/backtest_bench.py [--hours 6] [--seed 1]

The last line printed is one JSON object: {"benchmark", "figures", "goals"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmarb.backtest.engine import Backtest, BacktestConfig
from pmarb.backtest.synthetic import ScenarioSettings, scenario

GOALS = {"events_per_second": 1_000_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = scenario(ScenarioSettings(hours=args.hours, seed=args.seed))
    engine = Backtest(data, BacktestConfig())
    started = time.process_time()
    result = engine.run()
    elapsed = time.process_time() - started
    rate = result.events / elapsed
    opportunities = len(result.decisions)
    verdict = "meets goal" if rate >= GOALS["events_per_second"] else "BELOW GOAL"
    print(
        f"fast path: {result.events:,} events ({args.hours:g} h synthetic) in {elapsed:.2f} "
        f"CPU s = {rate:,.0f} events/s   goal >= {GOALS['events_per_second']:,}/s ({verdict}); "
        f"{opportunities} opportunities decided"
    )
    figures = {
        "events_per_second": round(rate),
        "events": result.events,
        "cpu_seconds": round(elapsed, 3),
        "opportunities": opportunities,
    }
    print(json.dumps({"benchmark": "backtest", "figures": figures, "goals": GOALS}))


if __name__ == "__main__":
    main()
