"""``pmarb``: the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from pmarb import logs
from pmarb.api import cli_client
from pmarb.backtest.cli import backtest
from pmarb.config import ConfigError, Settings, load_settings
from pmarb.matching.cli import match_app, matches_app, review_app
from pmarb.oracles.cli import fair_value
from pmarb.recording import cli as recording_cli
from pmarb.sim import cli as sim_cli
from pmarb.venues import cli as venues_cli

app = typer.Typer(
    name="pmarb",
    help="Prediction-market arbitrage: paper trading by default, a kill switch that works.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.command("fair-value")(fair_value)
app.add_typer(match_app, name="match")
app.add_typer(matches_app, name="matches")
app.command("sim")(sim_cli.sim)
app.add_typer(venues_cli.book_app, name="book")
app.command("fees")(venues_cli.fees)
app.command("record")(recording_cli.record)
app.command("scan")(recording_cli.scan)
app.command("backtest")(backtest)

console = Console()
errors = Console(stderr=True)

EXIT_CONFIG = 2


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an operator-facing error (never as markup: it may contain brackets) and exit."""
    errors.print(f"pmarb: {message}", style="bold red", markup=False, highlight=False)
    return typer.Exit(code)


def settings_or_exit(process: str) -> Settings:
    """Load settings or exit non-zero with a message naming each bad field."""
    try:
        settings = load_settings()
    except ConfigError as e:
        raise fail(str(e), EXIT_CONFIG) from None
    logs.configure(settings.log_level, process)
    venues = settings.venues
    if settings.database_url is not None:
        from urllib.parse import urlsplit

        logs.register_secret(urlsplit(settings.database_url.get_secret_value()).password)
    for secret in (
        settings.temporal_api_key,
        settings.secret_key,
        settings.anthropic_api_key,
        venues.polymarket.private_key,
        venues.polymarket.api_secret,
        venues.polymarket.api_passphrase,
        venues.kalshi.private_key_pem,
        settings.oracles.openweathermap.api_key,
    ):
        if secret is not None:
            logs.register_secret(secret.get_secret_value())
    return settings


def _print_urls(urls: Any) -> None:
    lines = [
        f"API            {urls.api}",
        f"Temporal UI    {urls.temporal_ui or 'external: ' + urls.temporal_address}",
        f"Temporal gRPC  {urls.temporal_address}",
        f"PostgreSQL     {urls.database}",
    ]
    console.print(
        Panel("\n".join(lines), title="pmarb is up — Ctrl-C stops everything", expand=False)
    )


def _run_stack(settings: Settings, **options: Any) -> None:
    from pmarb.infra.stack import Stack, StackError

    stack = Stack(settings, report=lambda line: console.print(f"· {line}"), **options)
    try:
        code = asyncio.run(stack.run(_print_urls))
    except StackError as e:
        raise fail(str(e)) from None
    raise typer.Exit(code)


@app.command()
def up() -> None:
    """Start PostgreSQL and Temporal (embedded unless configured), the worker and the API."""
    _run_stack(settings_or_exit("up"))


@app.command()
def demo(
    duration: Annotated[
        str | None,
        typer.Option(
            help="Stop by itself after this long (90s, 10m, 1h) and print the run's figures."
        ),
    ] = None,
    venue_faults: Annotated[
        float,
        typer.Option(
            help="Probability per simulator step of a random venue fault (disconnect, silent "
            "feed, 429/425/5xx, malformed frame, Kalshi seq gap); needs --duration.",
            min=0.0,
            max=1.0,
        ),
    ] = 0.0,
) -> None:
    """Everything `up` starts, on paper, with no account, key or network."""
    from pmarb.durations import parse_duration
    from pmarb.infra import demo as demo_setup
    from pmarb.infra import fault_run
    from pmarb.infra.stack import require_free_port
    from pmarb.infra.supervisor import Supervisor

    settings = settings_or_exit("demo")
    if not settings.paper:
        raise fail("demo always trades on paper; unset PMARB_PAPER", EXIT_CONFIG)
    seconds: float | None = None
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as e:
            raise fail(f"--duration: {e}", EXIT_CONFIG) from None
    elif venue_faults > 0:
        raise fail(
            "--venue-faults needs --duration (the run judges itself at the end)", EXIT_CONFIG
        )
    for offset in range(len(demo_setup.SIM_SERVERS)):
        try:
            require_free_port("127.0.0.1", settings.sim_port_base + offset, "PMARB_SIM_PORT_BASE")
        except Exception as e:
            raise fail(str(e)) from None
    setup = demo_setup.prepare(settings)

    def say(line: str) -> None:
        console.print(f"· {line}")

    async def simulator_ready(_: Any) -> None:
        await demo_setup.wait_for_simulator(setup.admin_url)
        say(f"simulator ready (admin {setup.admin_url})")

    async def confirm_pair(database_url: str) -> None:
        await demo_setup.confirm_demo_pair(setup.admin_url, database_url, say)

    async def director(_: str) -> None:
        await demo_setup.direct(setup.admin_url, say)

    async def bounded_run(database_url: str, supervisor: Supervisor) -> int:
        assert seconds is not None
        result = await fault_run.run_with_venue_faults(
            admin_url=setup.admin_url,
            database_url=database_url,
            supervisor=supervisor,
            duration=seconds,
            probability=venue_faults,
            stale_after=settings.risk.stale_quote_seconds,
            report=say,
        )
        fault_run.print_report(result, say)
        return 0 if result.ok else 1

    _run_stack(
        settings,
        extra_children=[setup.sim],
        extra_env=setup.env,
        before_services=simulator_ready,
        background=[confirm_pair, director],
        finale=bounded_run if seconds is not None else None,
    )


@app.command()
def worker() -> None:
    """Run the Temporal worker (workflows and activities)."""
    from pmarb.infra.runtime import NotRunningError, resolve_endpoints
    from pmarb.workers.process_exit import exit_without_finalizing
    from pmarb.workers.worker import run_worker

    settings = settings_or_exit("worker")
    try:
        endpoints = resolve_endpoints(settings)
    except NotRunningError as e:
        raise fail(str(e)) from None
    asyncio.run(run_worker(settings, endpoints))
    exit_without_finalizing()


@app.command()
def marketdata() -> None:
    """Run the market-data service: feeds, books, scanner, and the trading worker."""
    from pmarb.infra.runtime import NotRunningError, resolve_endpoints
    from pmarb.workers.marketdata import run_marketdata
    from pmarb.workers.process_exit import exit_without_finalizing

    settings = settings_or_exit("marketdata")
    try:
        endpoints = resolve_endpoints(settings)
    except NotRunningError as e:
        raise fail(str(e)) from None
    asyncio.run(run_marketdata(settings, endpoints))
    exit_without_finalizing()


@app.command()
def api() -> None:
    """Serve the REST API and dashboard."""
    from pmarb.api.server import run_api
    from pmarb.workers.process_exit import exit_without_finalizing

    asyncio.run(run_api(settings_or_exit("api")))
    exit_without_finalizing()


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Is Temporal reachable, is the database current, is a worker polling, is trading halted?"""
    from pmarb.status import gather

    settings = settings_or_exit("status")
    report = asyncio.run(gather(settings))
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        _print_status(report)
    raise typer.Exit(0 if report["healthy"] else 1)


def _mark(ok: object) -> str:
    return "[green]ok[/]" if ok else "[red]down[/]"


def _print_status(report: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    temporal, database = report["temporal"], report["database"]
    worker = temporal.get("worker") or {}
    table.add_row(
        "Temporal", _mark(temporal["ok"]), temporal.get("address") or "", temporal.get("error", "")
    )
    table.add_row(
        "Worker", _mark(worker.get("ok")), worker.get("task_queue", ""), worker.get("error", "")
    )
    pending = database.get("migrations_pending")
    schema = "schema current" if database.get("migrations_current") else f"pending {pending}"
    table.add_row(
        "Database", _mark(database["ok"]), database.get("url", ""), database.get("error", schema)
    )
    for feed in report.get("feeds", []):
        state = "[red]stale[/]" if feed["stale"] else "[green]live[/]"
        age = feed["age_seconds"]
        detail = (
            f"{feed['messages']} msgs, {feed['malformed']} malformed, "
            f"{feed['reconnects']} reconnects" + (f", oldest {age:.0f}s" if age else "")
        )
        table.add_row(f"Feed {feed['feed']}", state, detail, "")
    for check in report.get("reconciliation", []):
        repaired = check["orders_repaired"] + check["positions_repaired"]
        state = (
            "[red]failed[/]"
            if check["error"]
            else "[yellow]repaired[/]"
            if repaired
            else "[green]ok[/]"
        )
        detail = check["error"] or f"{repaired} repairs, {check['at'][:19]}Z"
        table.add_row(f"Reconciled {check['venue']}", state, detail, "")
    if report.get("opportunities") is not None:
        table.add_row(
            "Activity",
            "",
            f"{report['opportunities']} opportunities, "
            f"{report['trades']} trades, {report['rejections']} risk rejections",
            "",
        )
    halted = report["halted"]
    table.add_row(
        "Trading",
        "[red]HALTED[/]" if halted else "[green]live[/]" if halted is False else "?",
        "paper" if report["paper"] else "[bold]LIVE MONEY[/]",
        "",
    )
    console.print(table)


def _control(action: str, reason: str) -> None:
    from pmarb import control
    from pmarb.infra.runtime import NotRunningError, resolve_endpoints
    from pmarb.store.db import open_pool
    from pmarb.workers.client import connect_client

    settings = settings_or_exit(action)
    try:
        endpoints = resolve_endpoints(settings)
    except NotRunningError as e:
        raise fail(str(e)) from None

    async def run() -> control.ControlOutcome:
        pool = await open_pool(endpoints.database_url, max_size=1, timeout=10)
        try:
            try:
                client = await asyncio.wait_for(
                    connect_client(
                        endpoints.temporal_address, namespace=settings.temporal_namespace
                    ),
                    5,
                )
            except Exception:
                client = None
            act = control.halt if action == "halt" else control.resume
            return await act(pool, client, reason, "cli")
        finally:
            await pool.close()

    outcome = asyncio.run(run())
    state = "[bold red]HALTED[/]" if outcome.halted else "[green]trading[/]"
    console.print(f"{state}  {outcome.reason or ''}")
    if outcome.guardian_confirmed:
        console.print(
            "risk guardian confirmed"
            + ("; in-flight lifecycles cancelled" if outcome.halted else "")
        )
    else:
        console.print(f"[yellow]warning:[/] {outcome.guardian_error}")


@app.command()
def halt(
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit trail.")] = "operator",
) -> None:
    """HALT_ALL: stop every new order now (the flag is set before this returns)."""
    cli_client.control("halt", reason, lambda: _control("halt", reason))


@app.command()
def resume(
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit trail.")] = "operator",
) -> None:
    """Lift a halt; the ratchet restarts from the current portfolio value."""
    cli_client.control("resume", reason, lambda: _control("resume", reason))


@app.command()
def chaos(
    lifecycles: Annotated[int, typer.Option(min=1, help="Opportunity lifecycles to drive.")] = 200,
    kills: Annotated[int, typer.Option(min=0, help="SIGKILLs of the trading worker.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed for where kills land.")] = 0,
    postgres_outage: Annotated[
        float, typer.Option(min=0, help="Seconds PostgreSQL stays down (once).")
    ] = 30.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Lifecycles in flight at once.")] = 4,
    keep_data: Annotated[bool, typer.Option(help="Keep the run's data dir and logs.")] = False,
) -> None:
    """Drive lifecycles against the simulator while killing processes; check the books.

    The last line printed is one JSON object of counters; exit 1 if any is bad."""
    from pmarb.chaos.run import ChaosConfig, ChaosRun, print_report

    logs.configure("warning", "chaos")

    def say(line: str) -> None:
        sys.stdout.write(f"· {line}\n")
        sys.stdout.flush()

    config = ChaosConfig(
        lifecycles=lifecycles,
        kills=kills,
        seed=seed,
        postgres_outage_seconds=postgres_outage,
        concurrency=concurrency,
        keep_data=keep_data,
    )
    report = asyncio.run(ChaosRun(config, say).run())
    print_report(report, say)
    raise typer.Exit(0 if report.ok else 1)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations (a no-op when current)."""
    from pmarb.infra.runtime import NotRunningError, resolve_endpoints
    from pmarb.store import migrate
    from pmarb.store.db import connect

    settings = settings_or_exit("migrate")
    try:
        url = resolve_endpoints(settings).database_url
    except NotRunningError as e:
        raise fail(str(e)) from None

    async def run() -> list[migrate.Migration]:
        async with await connect(url) as conn:
            return await migrate.migrate(conn)

    applied = asyncio.run(run())
    if applied:
        for migration in applied:
            console.print(f"applied {migration.version:04d}_{migration.name}")
    else:
        console.print("schema is current; nothing to apply")


@config_app.command("show")
def config_show(
    live: Annotated[bool, typer.Option("--live", help="What the running system uses.")] = False,
) -> None:
    """Print the effective configuration (secrets masked)."""
    if live:
        cli_client.show_live_config()
        return
    settings = settings_or_exit("config")
    sys.stdout.write(settings.model_dump_json(indent=2) + "\n")


app.command()(cli_client.positions)
app.command()(cli_client.strategies)
app.add_typer(cli_client.alerts_app, name="alerts")
config_app.command("set")(cli_client.config_set)
cli_client.route_match_review_through_api(review_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
