"""Every benchmark in this folder, one after another, within a time budget; one JSON report.

    .venv/bin/python benchmarks/run_all.py [--budget 280] [--out benchmarks.json]

Each script runs in its own process with the arguments below (shorter runs than their
defaults where the default would not fit the budget; the figure's meaning is unchanged). What a
script prints is kept; its figures and goals come from its last line when that is a JSON object
``{"benchmark", "figures", "goals"}``, otherwise its printed lines are the figures. A script
that fails or runs out of time is reported as such, and the others still run. The report opens
with the machine: CPU count and model, Python, platform.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Quick arguments per script; a script not listed runs with its defaults.
ARGUMENTS: dict[str, list[str]] = {
    "book_bench.py": ["--messages", "50000", "--repeats", "2"],
    "scanner_bench.py": ["--updates", "300000"],
    "fair_value_bench.py": ["--seconds", "0.3"],
    "decision_latency_bench.py": ["--samples", "30"],
    "backtest_bench.py": ["--hours", "4"],
}
# Slowest last, so that a tight budget loses the fewest figures.
ORDER = (
    "book_bench.py",
    "scanner_bench.py",
    "fair_value_bench.py",
    "backtest_bench.py",
    "sim_throughput.py",
    "matching_bench.py",
    "decision_latency_bench.py",
)


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def scripts() -> list[Path]:
    found = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    rank = {name: n for n, name in enumerate(ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(ORDER)), p.name))


def parse(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if lines:
        try:
            last = json.loads(lines[-1])
        except json.JSONDecodeError:
            last = None
        if isinstance(last, dict) and "figures" in last:
            return {
                "figures": last.get("figures"),
                "goals": last.get("goals"),
                "printed": lines[:-1],
            }
    return {"figures": None, "goals": None, "printed": lines}


def run(script: Path, timeout: float) -> dict[str, Any]:
    command = [sys.executable, str(script), *ARGUMENTS.get(script.name, [])]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
        )
    except subprocess.TimeoutExpired as e:
        output = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return {
            "script": script.name,
            "status": "timeout",
            "seconds": round(time.monotonic() - started, 1),
            **parse(output),
        }
    result = {
        "script": script.name,
        "status": "ok" if done.returncode == 0 else f"exit {done.returncode}",
        "seconds": round(time.monotonic() - started, 1),
        **parse(done.stdout),
    }
    if done.returncode != 0:
        result["stderr_tail"] = done.stderr.splitlines()[-5:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=280.0, help="seconds for everything")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget
    results = []
    for script in scripts():
        left = deadline - time.monotonic()
        if left < 5:
            results.append({"script": script.name, "status": "skipped: budget spent"})
            continue
        print(f"running {script.name} (≤ {left:.0f} s) ...", file=sys.stderr, flush=True)
        result = run(script, left)
        results.append(result)
        for line in result.get("printed", []):
            print(f"  {script.name}: {line}", file=sys.stderr)
        if result.get("figures"):
            print(f"  {script.name}: {json.dumps(result['figures'])}", file=sys.stderr)
    report = {"machine": machine(), "budget_seconds": args.budget, "benchmarks": results}
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
