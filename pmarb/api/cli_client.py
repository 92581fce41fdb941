"""CLI commands that talk to the running system through the API with the token
(``PMARB_API_TOKEN`` or ``<data dir>/api-token``): positions, strategies, alerts, live config,
and the API leg of ``pmarb halt`` / ``pmarb resume`` (which fall back to the direct path)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

import pmarb
from pmarb.api.auth import CLI_USER_AGENT, read_token
from pmarb.config import ConfigError, Settings, load_settings
from pmarb.domain.risk import RiskLimits
from pmarb.infra.runtime import NotRunningError, api_url, resolve_endpoints

TOKEN_ENV = "PMARB_API_TOKEN"

console = Console()
errors = Console(stderr=True)
alerts_app = typer.Typer(help="Alerts: list and acknowledge.", no_args_is_help=True)


class ApiUnavailableError(Exception):
    """The API could not be used; the message says why (never the token)."""


class ApiRefusedError(Exception):
    """The API answered with a 4xx; the message is its reason."""


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"pmarb: {message}", style="bold red", markup=False, highlight=False)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as e:
        raise _fail(str(e), 2) from None


def _base_url(settings: Settings) -> str:
    try:
        return resolve_endpoints(settings).api_url
    except NotRunningError:
        return api_url(settings)


def _token(settings: Settings) -> str | None:
    return os.environ.get(TOKEN_ENV) or read_token(settings.data_dir)


def call(settings: Settings, method: str, path: str, **kwargs: Any) -> Any:
    """One API request; raises ApiUnavailableError or ApiRefusedError with a reason."""
    token = _token(settings)
    if token is None:
        raise ApiUnavailableError(
            f"no API token: set {TOKEN_ENV} or start the API once to create "
            f"{settings.data_dir / 'api-token'}"
        )
    headers = {
        "Authorization": f"Bearer {token}",
        "User-Agent": f"{CLI_USER_AGENT}/{pmarb.__version__}",
    }
    base = _base_url(settings)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            response = http.request(method, path, **kwargs)
    except httpx.HTTPError as e:
        raise ApiUnavailableError(f"the API at {base} is not reachable ({type(e).__name__})") from e
    if response.status_code == 401:
        raise ApiUnavailableError("the API refused the token (401)")
    if response.status_code >= 500:
        raise ApiUnavailableError(f"the API answered {response.status_code}: {_detail(response)}")
    if response.status_code >= 400:
        raise ApiRefusedError(f"{response.status_code}: {_detail(response)}")
    return response.json() if response.content else None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:300]
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
        )
    return str(detail)


def _get(settings: Settings, path: str, **kwargs: Any) -> Any:
    try:
        return call(settings, "GET", path, **kwargs)
    except (ApiUnavailableError, ApiRefusedError) as e:
        raise _fail(str(e)) from None


def _money(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    style = "green" if amount > 0 else "red" if amount < 0 else ""
    text = f"{amount:+,.2f}" if signed else f"{amount:,.2f}"
    return f"[{style}]{text}[/]" if style and signed else text


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


# -- kill switch -------------------------------------------------------------------------------


def control(action: str, reason: str, direct: Callable[[], None]) -> None:
    """``pmarb halt`` / ``resume``: through the API when it answers, else the direct path.

    The direct path sets the PostgreSQL flag itself, so HALT_ALL works with the API down.
    """
    settings = _settings()
    try:
        outcome = call(settings, "POST", f"/api/{action}", json={"reason": reason})
    except ApiRefusedError as e:
        raise _fail(f"the API refused: {e}") from None
    except ApiUnavailableError as e:
        console.print(f"[yellow]API not used:[/] {e}; acting directly on the database and Temporal")
        direct()
        return
    state = "[bold red]HALTED[/]" if outcome["halted"] else "[green]trading[/]"
    console.print(f"{state}  {outcome.get('reason') or ''}  (through the API)")
    if outcome["guardian_confirmed"]:
        console.print(
            "risk guardian confirmed"
            + ("; in-flight lifecycles cancelled" if outcome["halted"] else "")
        )
    else:
        console.print(f"[yellow]warning:[/] {outcome['guardian_error']}")


# -- views -------------------------------------------------------------------------------------


def positions(
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    include_flat: Annotated[bool, typer.Option("--all", help="Include flat positions.")] = False,
) -> None:
    """Open positions with unrealised P&L (through the API)."""
    data = _get(_settings(), "/api/positions", params={"include_flat": include_flat})
    if as_json:
        _print_json(data)
        return
    table = Table(title="Positions")
    for column in ("venue", "market", "outcome", "size", "avg", "mark", "unrealised", "realised"):
        table.add_column(column, justify="right" if column not in ("venue", "market") else "left")
    for p in data["items"]:
        table.add_row(
            p["venue"],
            p["title"] or p["market_id"],
            p["outcome"].upper(),
            p["size"],
            p["average_price"],
            p["mark"] or "—",
            _money(p["unrealized_pnl"], signed=True),
            _money(p["realized_pnl"], signed=True),
        )
    console.print(table)
    note = f" ({data['unmarked']} at cost: no book)" if data["unmarked"] else ""
    console.print(
        f"worth {_money(data['value'])} at their marks, unrealised P&L "
        f"{_money(data['unrealized_pnl'], signed=True)}{note}"
    )


def strategies(
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """The strategy leaderboard and allocations (through the API)."""
    data = _get(_settings(), "/api/strategies")
    if as_json:
        _print_json(data)
        return
    table = Table(title="Strategy leaderboard")
    for column in ("strategy", "allocation", "status", "window P&L", "sharpe", "trades", "why"):
        table.add_column(column)
    for s in data:
        fraction = "—" if s["fraction"] is None else f"{Decimal(s['fraction']):.1%}"
        table.add_row(
            s["strategy"],
            fraction,
            s["status"] or "—",
            _money(s["window_pnl"], signed=True),
            "—" if s["sharpe"] is None else f"{Decimal(s['sharpe']):.2f}",
            str(s["window_trades"] if s["window_trades"] is not None else "—"),
            s["reason"] or "",
        )
    console.print(table)


# -- alerts ------------------------------------------------------------------------------------


@alerts_app.command("list")
def alerts_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Open alerts (or all of them), newest first."""
    data = _get(_settings(), "/api/alerts", params={"open": not show_all, "limit": 100})
    if as_json:
        _print_json(data)
        return
    table = Table(title="Alerts" if show_all else "Open alerts")
    for column in ("id", "raised", "tier", "title", "acknowledged"):
        table.add_column(column)
    for a in data["items"]:
        tier = a["tier"]
        styled = f"[bold red]{tier}[/]" if tier == "emergency" else tier
        ack = (
            f"{a['acknowledged_by']} ({a['acknowledged_via']})" if a["acknowledged_at"] else "open"
        )
        table.add_row(str(a["id"]), a["created_at"][:19], styled, a["title"], ack)
    console.print(table)


@alerts_app.command("ack")
def alerts_ack(alert_id: Annotated[int, typer.Argument(help="The alert's id.", min=1)]) -> None:
    """Acknowledge an alert; an emergency stops repeating."""
    try:
        result = call(_settings(), "POST", f"/api/alerts/{alert_id}/ack")
    except (ApiUnavailableError, ApiRefusedError) as e:
        raise _fail(str(e)) from None
    alert = result["alert"]
    if result["newly_acknowledged"]:
        console.print(f"alert {alert_id} acknowledged ({alert['tier']}: {alert['title']})")
    else:
        console.print(
            f"alert {alert_id} was already acknowledged by {alert['acknowledged_by']} "
            f"at {alert['acknowledged_at']}"
        )


# -- config ------------------------------------------------------------------------------------


def show_live_config() -> None:
    """The configuration the running system uses (limits from the guardian), as JSON."""
    _print_json(_get(_settings(), "/api/config"))


def config_set(
    assignments: Annotated[
        list[str],
        typer.Argument(help="Risk limits as NAME=VALUE, e.g. bankroll=1000 max_deployed_pct=0.6"),
    ],
) -> None:
    """Change risk limits on the running system (validated, then applied by the guardian)."""
    settings = _settings()
    changes: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        name = name.strip().removeprefix("risk.")
        if not sep or name not in RiskLimits.model_fields:
            known = ", ".join(RiskLimits.model_fields)
            raise _fail(f"{assignment!r}: expected NAME=VALUE with NAME one of {known}", 2)
        changes[name] = value.strip()
    current = _get(settings, "/api/config")["limits"]
    try:
        updated = call(settings, "PUT", "/api/config/risk", json={**current, **changes})
    except (ApiUnavailableError, ApiRefusedError) as e:
        raise _fail(f"limits not changed: {e}") from None
    table = Table(title="Risk limits in force")
    table.add_column("limit")
    table.add_column("value", justify="right")
    for name, value in updated["limits"].items():
        marker = " (changed)" if name in changes else ""
        table.add_row(name, f"{value}{marker}")
    console.print(table)


# -- match review ------------------------------------------------------------------------------


def route_match_review_through_api(review_app: typer.Typer) -> None:
    """Make ``pmarb matches review list|confirm|reject`` go through the API.

    The matcher's own commands (straight to the database) stay as the fallback when the API
    cannot be used, the way ``pmarb halt`` falls back; a later registration of the same name
    is the one Click runs.
    """
    from pmarb.matching import cli as matching_cli

    @review_app.command("list")
    def review_list(
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """Pairs awaiting review (through the API; straight from the database if it is down)."""
        settings = _settings()
        try:
            page = call(settings, "GET", "/api/matches", params={"limit": 500})
        except ApiUnavailableError as e:
            errors.print(f"API not used: {e}; reading the database directly", markup=False)
            matching_cli.review_list(as_json=as_json)
            return
        except ApiRefusedError as e:
            raise _fail(str(e)) from None
        if as_json:
            for item in page["items"]:
                sys.stdout.write(json.dumps(item) + "\n")
            return
        if not page["items"]:
            console.print("nothing awaits review")
        for m in page["items"]:
            console.print(_describe_match(m), markup=False, highlight=False)

    def verdict(match_id: int, by: str | None, confirm: bool) -> None:
        import getpass

        settings = _settings()
        word = "confirm" if confirm else "reject"
        try:
            row = call(
                settings,
                "POST",
                f"/api/matches/{match_id}/{word}",
                json={"by": by or getpass.getuser()},
            )
        except ApiUnavailableError as e:
            errors.print(f"API not used: {e}; acting on the database directly", markup=False)
            direct = matching_cli.review_confirm if confirm else matching_cli.review_reject
            direct(match_id, by)
            return
        except ApiRefusedError as e:
            raise _fail(str(e)) from None
        console.print(_describe_match(row), markup=False, highlight=False)

    @review_app.command("confirm")
    def review_confirm(
        match_id: Annotated[int, typer.Argument(metavar="ID")],
        by: Annotated[str | None, typer.Option(help="Who confirms (default: the OS user).")] = None,
    ) -> None:
        """Confirm a pending pair: it becomes tradable until either market's terms change."""
        verdict(match_id, by, confirm=True)

    @review_app.command("reject")
    def review_reject(
        match_id: Annotated[int, typer.Argument(metavar="ID")],
        by: Annotated[str | None, typer.Option(help="Who rejects (default: the OS user).")] = None,
    ) -> None:
        """Reject a pending pair: never tradable until either market's terms change."""
        verdict(match_id, by, confirm=False)


def _describe_match(m: dict[str, Any]) -> str:
    reviewed = f", reviewed by {m['reviewed_by']}" if m.get("reviewed_by") else ""
    return (
        f"{m['id']:>6}  {m['venue_a']}:{m['market_a']}  ~  {m['venue_b']}:{m['market_b']}\n"
        f"        {m['title_a'] or ''} ~ {m['title_b'] or ''}\n"
        f"        {m['relation']} (confidence {m['confidence']}, by {m['decided_by']}, "
        f"review {m['review_status']}, tradable {'yes' if m['tradable'] else 'no'}{reviewed})"
    )
