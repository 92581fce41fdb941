"""``pmarb sim``: run the exchange simulator in real time until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pmarb.sim.simulator import SimConfig


SERVERS = ("gamma", "clob", "kalshi", "admin", "polymarket_ws", "kalshi_ws", "binance_ws")


def sim(
    scenario: Annotated[str, typer.Option(help="Scenario name.")] = "default",
    seed: Annotated[int, typer.Option(help="Seed: the same seed replays the same markets.")] = 0,
    step: Annotated[float, typer.Option(help="Seconds per simulation step.")] = 0.25,
    lag: Annotated[float, typer.Option(help="Venue quotes lag the BTC price by this (s).")] = 0.0,
    port: Annotated[
        list[str] | None,
        typer.Option(help="SERVER=PORT (servers: " + ", ".join(SERVERS) + "); default free."),
    ] = None,
    kalshi_public_key: Annotated[
        typer.FileBinaryRead | None,
        typer.Option(help="PEM public key that Kalshi requests must be signed with."),
    ] = None,
    random_faults: Annotated[
        float, typer.Option(help="Probability per step of a random fault (0 = none).")
    ] = 0.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the URLs as one JSON line.")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option(help="Write a synthetic recording here instead of serving (simulated time)."),
    ] = None,
    hours: Annotated[
        float, typer.Option(help="With --record: simulated hours to generate.", min=0.01)
    ] = 24.0,
    start: Annotated[
        datetime | None, typer.Option(help="With --record: simulated start (UTC).")
    ] = None,
    record_step: Annotated[
        float, typer.Option(help="With --record: simulated seconds per step.", min=0.25)
    ] = 5.0,
) -> None:
    """Run the local Polymarket/Kalshi/Binance simulator in real time and print its URLs;
    with --record, generate a synthetic recording from its models in simulated time."""
    if record is not None:
        # The recording side decodes markets with the venue adapters, so it lives outside sim/.
        from pmarb.recording.cli import sim_record

        sim_record(record, seed=seed, hours=hours, start=start, step=record_step)
        return
    from pmarb.sim.simulator import SimConfig

    ports: dict[str, int] = {}
    for item in port or []:
        name, _, value = item.partition("=")
        if name not in SERVERS or not value.isdigit():
            raise typer.BadParameter(f"expected SERVER=PORT with SERVER in {SERVERS}: {item!r}")
        ports[name] = int(value)
    config = SimConfig(
        seed=seed,
        scenario=scenario,
        step_seconds=step,
        realtime=True,
        oracle_lag_seconds=lag,
        kalshi_public_key_pem=kalshi_public_key.read() if kalshi_public_key else None,
        random_faults_probability=random_faults,
        ports=ports,
    )
    try:
        asyncio.run(_serve(config, as_json))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


async def _serve(config: SimConfig, as_json: bool) -> None:
    from pmarb.sim.simulator import Simulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Simulator(config) as simulator:
        urls = simulator.urls.as_dict()
        if as_json:
            sys.stdout.write(json.dumps(urls) + "\n")
        else:
            width = max(len(name) for name in urls)
            sys.stdout.write(f"pmarb sim: scenario {config.scenario}, seed {config.seed}\n")
            for name, url in urls.items():
                sys.stdout.write(f"  {name:<{width}}  {url}\n")
            sys.stdout.write("Ctrl-C stops the simulator.\n")
        sys.stdout.flush()
        await stop.wait()
    sys.stdout.write("pmarb sim: stopped\n")
    sys.stdout.flush()
