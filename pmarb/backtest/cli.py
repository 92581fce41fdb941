"""``pmarb backtest``: replay a recording (or the seeded synthetic scenario) and report."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pmarb.domain.risk import RiskLimits

errors = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _moment(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    from pmarb.backtest.events import to_ns

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option}: not an ISO 8601 time: {text!r}") from None
    return to_ns(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _limits(risk: Path | None, bankroll: str | None) -> RiskLimits:
    values: dict[str, Any] = {}
    if risk is not None:
        try:
            text = risk.read_text()
        except OSError as e:
            raise _fail(f"--risk: cannot read {risk}: {e}") from None
        try:
            loaded = tomllib.loads(text) if risk.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
            kind = risk.suffix.lstrip(".") or "JSON"
            raise _fail(f"--risk: {risk} is not valid {kind}: {e}") from None
        values.update(loaded.get("risk", loaded))
    if bankroll is not None:
        try:
            values["bankroll"] = Decimal(bankroll)
        except InvalidOperation:
            raise _fail(f"--bankroll: not a number: {bankroll!r}") from None
    try:
        return RiskLimits.model_validate(values)
    except ValidationError as e:
        raise _fail(f"risk profile: {e}") from None


def backtest(
    path: Annotated[
        Path | None, typer.Argument(help="Recording directory (format v1); omit with --synthetic.")
    ] = None,
    synthetic: Annotated[
        float | None,
        typer.Option(help="Replay the seeded synthetic scenario of this many hours instead."),
    ] = None,
    data_seed: Annotated[int, typer.Option(help="Seed of the synthetic scenario.")] = 1,
    start: Annotated[str | None, typer.Option(help="Replay from this ISO time (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Replay up to this ISO time (UTC).")] = None,
    strategies: Annotated[
        str | None, typer.Option(help="Comma-separated strategies (default: all).")
    ] = None,
    bankroll: Annotated[str | None, typer.Option(help="Starting capital in dollars.")] = None,
    risk: Annotated[
        Path | None, typer.Option(help="Risk profile: JSON or TOML with RiskLimits fields.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the latency model.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the summary here.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")] = None,
    lifecycle: Annotated[
        bool,
        typer.Option(
            help="Also run a sample of the detected opportunities through the real "
            "OpportunityWorkflow in Temporal's time-skipping environment and compare."
        ),
    ] = False,
    sample: Annotated[int, typer.Option(help="Opportunities for --lifecycle.")] = 20,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Replay recorded books and oracle ticks through the live scanner, strategies, allocator,
    risk rules and paper fill model; print the summary and write the reports."""
    from pmarb.backtest import data as recording
    from pmarb.backtest.engine import Backtest, BacktestConfig
    from pmarb.backtest.html import render
    from pmarb.backtest.report import summarise_result
    from pmarb.backtest.synthetic import ScenarioSettings, scenario

    if (path is None) == (synthetic is None):
        raise _fail("give a recording PATH or --synthetic HOURS (one of them)")
    limits = _limits(risk, bankroll)
    chosen = tuple(s.strip() for s in strategies.split(",") if s.strip()) if strategies else ()
    try:
        config = BacktestConfig(
            limits=limits,
            strategies=chosen or BacktestConfig().strategies,
            seed=seed,
            start_ns=_moment(start, "--start"),
            end_ns=_moment(end, "--end"),
        )
    except ValueError as e:
        raise _fail(str(e)) from None
    if synthetic is not None:
        if synthetic <= 0:
            raise _fail("--synthetic: hours must be positive")
        dataset = scenario(ScenarioSettings(hours=synthetic, seed=data_seed))
    else:
        assert path is not None
        try:
            dataset = recording.load(path)
        except recording.RecordingError as e:
            raise _fail(str(e)) from None
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=errors,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=None)
        engine = Backtest(dataset, config, progress=lambda n: bar.advance(task, n))
        result = engine.run()
    summary = summarise_result(result)
    if lifecycle:
        from pmarb.backtest.lifecycle import compare_lifecycles

        summary["lifecycle"] = compare_lifecycles(dataset, result, sample)
    text = json.dumps(summary, indent=2, sort_keys=True)
    if json_out is not None:
        json_out.write_text(text + "\n")
    if html_out is not None:
        html_out.write_text(render(result, summary))
    typer.echo(json.dumps({"portfolio": summary["portfolio"], "success": summary["success"]}))
    if lifecycle:
        compared = summary["lifecycle"]
        styles = ", ".join(
            f"{style} {counts['agreed']}/{counts['cases']}"
            for style, counts in compared["styles"].items()
        )
        errors.print(
            f"lifecycle: {compared['agreed']} of {compared['compared']} lifecycles agree "
            f"(by style: {styles})"
            + (
                f"; no case of {', '.join(compared['styles_missing'])} in this recording"
                if compared["styles_missing"]
                else ""
            )
        )
        if not compared["agree"]:
            raise typer.Exit(1)
