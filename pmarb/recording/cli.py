"""``pmarb record`` and ``pmarb scan --replay``."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmarb.durations import parse_duration

if TYPE_CHECKING:
    from pmarb.config import Settings
    from pmarb.domain.opportunity import Opportunity
    from pmarb.infra.runtime import Endpoints
    from pmarb.workers.marketdata import MarketDataService

PROGRESS_SECONDS = 5.0


def record(
    duration: Annotated[str, typer.Option(help="How long to record: 90s, 10m, 1h30m, 2d.")] = "10m",
    path: Annotated[
        Path | None,
        typer.Option(help="Recording directory (default: [recording] path, else a new one)."),
    ] = None,
) -> None:
    """Record venue books, oracle ticks, markets and matched pairs to Parquet. Never trades."""
    from pmarb.cli import settings_or_exit

    try:
        seconds = parse_duration(duration)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--duration") from None
    settings = settings_or_exit("record")
    asyncio.run(record_for(settings, seconds, path))


def _endpoints(settings: Settings) -> Endpoints:
    """The running system's database if there is one (for matched pairs); no Temporal needed."""
    from pmarb.infra.runtime import Endpoints, read_runtime

    runtime = read_runtime(settings)
    database_url = (
        settings.database_url.get_secret_value()
        if settings.database_url
        else (runtime.database_url if runtime else "")
    )
    return Endpoints(database_url, temporal_address="", temporal_ui_url=None, api_url="")


def _progress(service: MarketDataService, started: float) -> str:
    assert service.recorder is not None
    writer = service.recorder.writer
    counts = writer.rows_by_table
    return (
        f"pmarb record: {time.monotonic() - started:7.1f}s  books {counts['books']:,}  "
        f"trades {counts['trades']:,}  oracle {counts['oracle']:,}  markets {counts['markets']:,}  "
        f"pairs {counts['matches']:,}  buffered {writer.buffered_rows:,}  parts "
        f"{writer.parts_written:,}"
    )


async def record_for(
    settings: Settings,
    seconds: float,
    path: Path | None,
    *,
    stop: asyncio.Event | None = None,
    endpoints: Endpoints | None = None,
) -> Path:
    """Record for ``seconds`` (or until ``stop`` is set, or SIGINT/SIGTERM); return the path."""
    from pmarb.workers.marketdata import MarketDataService, open_recorder

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    recorder = open_recorder(
        settings, path, sources=("polymarket", "kalshi", "binance"), notes="pmarb record"
    )
    service = MarketDataService(settings, endpoints or _endpoints(settings), recorder=recorder)
    started = time.monotonic()
    sys.stdout.write(f"pmarb record: writing {recorder.writer.path} for {seconds:g}s\n")
    sys.stdout.flush()

    async def report() -> None:
        while not stop.is_set():
            remaining = seconds - (time.monotonic() - started)
            if remaining <= 0:
                stop.set()
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(PROGRESS_SECONDS, remaining))
            except TimeoutError:
                sys.stdout.write(_progress(service, started) + "\n")
                sys.stdout.flush()

    reporter = asyncio.create_task(report())
    try:
        await service.record(stop)
    finally:
        stop.set()
        await reporter
        for signum in installed:
            loop.remove_signal_handler(signum)
    sys.stdout.write(_progress(service, started) + "\n")
    if recorder.errors:
        sys.stdout.write(f"pmarb record: {recorder.errors} recorder errors (see the log)\n")
    sys.stdout.write(f"pmarb record: stopped; {recorder.writer.path}\n")
    sys.stdout.flush()
    return recorder.writer.path


def scan(
    replay: Annotated[
        Path, typer.Option("--replay", help="Recording directory to run the scanner over.")
    ],
    start: Annotated[
        datetime | None, typer.Option(help="Replay from this UTC time (inclusive).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(help="Replay up to this UTC time (inclusive).")
    ] = None,
) -> None:
    """Run the scanner over a recording; print each opportunity as one JSON line."""
    import json

    from pmarb.cli import fail, settings_or_exit
    from pmarb.recording.reader import open_recording
    from pmarb.recording.replay import ReplayScanner, opportunity_json
    from pmarb.recording.schema import RecordingError
    from pmarb.workers.marketdata import scanner_config

    settings = settings_or_exit("scan")
    count = 0

    def emit(opportunity: Opportunity) -> None:
        nonlocal count
        count += 1
        sys.stdout.write(json.dumps(opportunity_json(opportunity)) + "\n")

    try:
        recording = open_recording(replay)
        scanner = ReplayScanner(recording, emit, config=scanner_config(settings.risk))
        scanner.run(_utc(start), _utc(end))
    except RecordingError as e:
        raise fail(str(e)) from None
    sys.stdout.flush()
    sys.stderr.write(f"pmarb scan: {scanner.events:,} events, {count} opportunities\n")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def sim_record(path: Path, *, seed: int, hours: float, start: datetime | None, step: float) -> None:
    """``pmarb sim --record``: a synthetic recording with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from pmarb.cli import fail
    from pmarb.recording.schema import RecordingError
    from pmarb.recording.synthetic import DEFAULT_START, SyntheticSpec, generate

    if path.exists() and any(path.iterdir()):
        raise fail(f"{path} is not empty; a synthetic recording needs a new directory")
    spec = SyntheticSpec(
        seed=seed, hours=hours, start=_utc(start) or DEFAULT_START, step_seconds=step
    )
    console = Console(stderr=True)
    with Progress(
        TextColumn("pmarb sim --record"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}% of {task.fields[hours]:g} h"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("generate", total=1, hours=hours)

        def advance(step_index: int, total: int) -> None:
            progress.update(task, completed=step_index, total=total)

        try:
            summary = generate(path, spec, advance)
        except (RecordingError, ValueError) as e:
            raise fail(str(e)) from None
    rows = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items())
    situations = ", ".join(f"{k} {v}" for k, v in sorted(summary.situations.items())) or "none"
    sys.stdout.write(
        f"pmarb sim --record: {path} (synthetic, seed {seed}, {hours:g} h, {summary.steps:,} "
        f"steps of {step:g} s)\n  rows: {rows}\n  markets {summary.markets}, resolutions "
        f"{summary.resolutions}, injected situations: {situations}\n"
    )
    sys.stdout.flush()
