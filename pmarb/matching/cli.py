"""``pmarb match …`` and ``pmarb matches …``: evaluation, the workflow, the review queue."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pmarb.config import Settings
    from pmarb.store.matches import MatchRow

match_app = typer.Typer(help="Cross-venue market matching.", no_args_is_help=True)
matches_app = typer.Typer(help="Stored market matches and the review queue.", no_args_is_help=True)
review_app = typer.Typer(help="Pairs awaiting a human: list, confirm ID, reject ID.")
matches_app.add_typer(review_app, name="review")


def _settings(process: str) -> Settings:
    from pmarb.cli import settings_or_exit

    settings = settings_or_exit(process)
    if settings.anthropic_api_key is not None:
        from pmarb import logs

        logs.register_secret(settings.anthropic_api_key.get_secret_value())
    return settings


def _database_url(settings: Settings) -> str:
    """The database alone: reviewing needs no Temporal."""
    from pmarb.cli import fail
    from pmarb.infra.runtime import read_runtime

    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    runtime = read_runtime(settings)
    if runtime is None or runtime.database_url is None:
        raise fail(
            f"no running pmarb found in {settings.data_dir} and DATABASE_URL is not set; "
            "start it with `pmarb up` (or set DATABASE_URL)"
        )
    return runtime.database_url


def _emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")
    sys.stdout.flush()


@match_app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(help="JSONL: one {a, b, label?} object per line.")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Parsers only; never call the model.")
    ] = False,
) -> None:
    """Decide each pair in FILE; print one JSON line per pair, then a summary line."""
    from pmarb.cli import fail

    settings = _settings("match")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise fail(f"cannot read {file}: {e.strerror or e}") from None
    errors = asyncio.run(_evaluate(lines, settings, offline=offline))
    raise typer.Exit(1 if errors else 0)


async def _evaluate(lines: list[str], settings: Settings, *, offline: bool) -> int:
    from pmarb.matching.adjudicator import ModelAdjudicator
    from pmarb.matching.evaluate import LineError, PairInput, Tally, parse_line, result_line
    from pmarb.matching.matcher import Matcher, MatchOutcome

    key = None if offline else settings.anthropic_api_key
    adjudicator = (
        ModelAdjudicator(key.get_secret_value(), settings.matching) if key is not None else None
    )
    matcher = Matcher(settings.matching, adjudicator)
    parsed: list[PairInput | LineError] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            parsed.append(parse_line(number, raw))
        except LineError as e:
            parsed.append(e)

    async def decide(item: PairInput) -> MatchOutcome:
        return await matcher.match(item.a, item.b)

    try:
        outcomes = await asyncio.gather(
            *(decide(item) for item in parsed if isinstance(item, PairInput))
        )
    finally:
        if adjudicator is not None:
            await adjudicator.aclose()
    tally = Tally()
    decided = iter(outcomes)
    for item in parsed:
        if isinstance(item, LineError):
            tally.errors += 1
            sys.stderr.write(f"pmarb: {item}\n")
            _emit({"line": item.line, "error": item.message})
            continue
        outcome = next(decided)
        if outcome.call is not None:
            tally.model_calls += 1
            tally.cost_usd += outcome.call.cost_usd
        tally.add(outcome.decision, item.label)
        _emit(result_line(item.line, outcome.decision))
    _emit(tally.summary())
    return tally.errors


@match_app.command("start")
def start(
    cycles: Annotated[int, typer.Option(help="Cycles to run; 0 runs until cancelled.")] = 0,
) -> None:
    """Start the periodic MatchingWorkflow (a no-op when it is already running)."""
    from pmarb.cli import console, fail
    from pmarb.infra.runtime import NotRunningError, resolve_endpoints

    settings = _settings("match")
    try:
        endpoints = resolve_endpoints(settings)
    except NotRunningError as e:
        raise fail(str(e)) from None

    async def run() -> str:
        from temporalio.common import WorkflowIDConflictPolicy

        from pmarb.workers.client import connect_client
        from pmarb.workflows.matching import WORKFLOW_ID, MatchingRequest, MatchingWorkflow

        api_key = settings.temporal_api_key
        client = await connect_client(
            endpoints.temporal_address,
            namespace=settings.temporal_namespace,
            api_key=api_key.get_secret_value() if api_key else None,
            tls=settings.temporal_tls,
        )
        handle = await client.start_workflow(
            MatchingWorkflow.run,
            MatchingRequest(
                batch_size=settings.matching.batch_size,
                interval_seconds=settings.matching.interval_seconds,
                cycles=cycles,
            ),
            id=WORKFLOW_ID,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return handle.id

    console.print(f"MatchingWorkflow running as {asyncio.run(run())}")


def _describe(row: MatchRow) -> str:
    reasons = row.evidence.get("reasons") or []
    reason = reasons[-1] if reasons else ""
    return (
        f"{row.id:>6}  {row.venue_a}:{row.market_a}  ~  {row.venue_b}:{row.market_b}\n"
        f"        {row.relation} (confidence {row.confidence}, by {row.decided_by}, "
        f"review {row.review_status}, tradable {'yes' if row.tradable else 'no'}) {reason}"
    )


def _with_connection(settings: Settings, action: Any) -> Any:
    from pmarb.store.db import connect

    url = _database_url(settings)

    async def run() -> Any:
        async with await connect(url) as conn:
            result = await action(conn)
            await conn.commit()
            return result

    return asyncio.run(run())


@matches_app.command("list")
def list_matches(
    tradable: Annotated[bool, typer.Option("--tradable", help="Only tradable pairs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Stored match decisions."""
    from pmarb.store.matches import list_matches as query

    settings = _settings("matches")
    rows = _with_connection(settings, lambda conn: query(conn, tradable=True if tradable else None))
    _print_rows(rows, as_json=as_json, empty="no stored matches")


def _print_rows(rows: list[MatchRow], *, as_json: bool, empty: str) -> None:
    from dataclasses import asdict

    from pmarb.cli import console

    if as_json:
        for row in rows:
            _emit(asdict(row))
        return
    if not rows:
        console.print(empty)
    for row in rows:
        console.print(_describe(row), markup=False, highlight=False)


@review_app.callback(invoke_without_command=True)
def review(ctx: typer.Context) -> None:
    """Without a sub-command, list the pairs awaiting review."""
    if ctx.invoked_subcommand is None:
        review_list(as_json=False)


@review_app.command("list")
def review_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Pairs the matcher was not sure enough about: they trade only once confirmed."""
    from pmarb.store.matches import list_matches as query

    settings = _settings("matches")
    rows = _with_connection(settings, lambda conn: query(conn, review_status="pending"))
    _print_rows(rows, as_json=as_json, empty="nothing awaits review")


def _review(match_id: int, by: str | None, *, confirm: bool) -> None:
    from pmarb.cli import console, fail
    from pmarb.store.matches import ReviewError, confirm_match, reject_match

    settings = _settings("matches")
    actor = by or getpass.getuser()
    action = confirm_match if confirm else reject_match
    try:
        row = _with_connection(settings, lambda conn: action(conn, match_id, actor))
    except ReviewError as e:
        raise fail(str(e)) from None
    console.print(_describe(row), markup=False, highlight=False)


@review_app.command("confirm")
def review_confirm(
    match_id: Annotated[int, typer.Argument(metavar="ID")],
    by: Annotated[str | None, typer.Option(help="Who confirms (default: the OS user).")] = None,
) -> None:
    """Confirm a pending pair: it becomes tradable until either market's terms change."""
    _review(match_id, by, confirm=True)


@review_app.command("reject")
def review_reject(
    match_id: Annotated[int, typer.Argument(metavar="ID")],
    by: Annotated[str | None, typer.Option(help="Who rejects (default: the OS user).")] = None,
) -> None:
    """Reject a pending pair: never tradable, never re-queued until either market's terms change."""
    _review(match_id, by, confirm=False)
