"""The dashboard: server-rendered pages over the same views as the JSON API, the HALT_ALL
button, the match review queue and alert acknowledgement. Pages need a session (see
``session.py``); every form post is CSRF-checked. Nothing is loaded from outside the app."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError

from pmarb import control
from pmarb.api import kill_switch, views
from pmarb.api.auth import token_matches
from pmarb.api.charts import portfolio_chart
from pmarb.api.deps import LinksDep, PoolDep, SettingsDep, TemporalDep
from pmarb.api.guardian import GuardianUnavailableError, LimitsRefusedError, set_limits
from pmarb.api.routes.operations import acknowledge, review
from pmarb.api.session import (
    CSRF_FIELD,
    CheckedForm,
    DashboardUser,
    csrf_token,
    sign_in,
)
from pmarb.domain.risk import RiskLimits
from pmarb.store import read_models

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

STREAM_POLL_SECONDS = 1.0
STREAM_MAX_SECONDS = 300.0  # the browser's EventSource reconnects; no stream lives forever


# -- formatting --------------------------------------------------------------------------------


def _money(value: Any, signed: bool = False) -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    text = f"{abs(amount):,.2f}"
    if amount < 0:
        return f"−${text}"
    return f"+${text}" if signed and amount > 0 else f"${text}"


def _pct(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{Decimal(value) * 100:.{digits}f}%"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):.{digits}f}".rstrip("0").rstrip(".") or "0"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _sign(value: Any) -> str:
    if value is None:
        return ""
    amount = Decimal(value)
    return "pos" if amount > 0 else "neg" if amount < 0 else ""


templates.env.filters.update(money=_money, pct=_pct, num=_num, when=_when, ago=_ago, sign=_sign)


async def _page(
    request: Request, template: str, pool: Any, settings: Any, active: str, **context: Any
) -> HTMLResponse:
    halt = await views.halt_state(pool)
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(
        request,
        template,
        {
            "active": active,
            "paper": settings.paper,
            "halt": halt,
            "paused": halt.paused_until is not None and halt.paused_until > datetime.now(UTC),
            "open_alerts": await views.open_alert_count(pool),
            "csrf_field": CSRF_FIELD,
            "csrf": csrf_token(request),
            "flash": flash,
            "now": datetime.now(UTC),
            **context,
        },
    )


def _flash(request: Request, kind: str, message: str) -> None:
    request.session["flash"] = {"kind": kind, "message": message}


def _back(request: Request, fallback: str = "/") -> RedirectResponse:
    """Back to the page the form was on (same-origin paths only)."""
    target = request.query_params.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    return RedirectResponse(target, status_code=303)


# -- login -------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"csrf_field": CSRF_FIELD, "csrf": csrf_token(request), "next": next, "error": None},
    )


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (
        isinstance(presented, str)
        and isinstance(expected, str)
        and hmac.compare_digest(presented.encode(), expected.encode())
    ):
        raise HTTPException(403, "missing or invalid CSRF token")
    token = form.get("token")
    target = str(form.get("next") or "/")
    if not isinstance(token, str) or not token_matches(token.strip(), request.app.state.token):
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf_field": CSRF_FIELD,
                "csrf": csrf_token(request),
                "next": target,
                "error": "That is not the API token.",
            },
            status_code=401,
        )
    sign_in(request)
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request, _: CheckedForm) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- the seven views ---------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def portfolio_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24.0,
) -> HTMLResponse:
    portfolio = await views.portfolio(pool, temporal, settings, hours)
    # The SVG is built from numbers and escaped timestamps only.
    chart = Markup(portfolio_chart(portfolio.series, portfolio.starting_balance))
    return await _page(
        request,
        "portfolio.html",
        pool,
        settings,
        "portfolio",
        portfolio=portfolio,
        chart=chart,
        hours=hours,
    )


@router.get("/positions", response_class=HTMLResponse)
async def positions_page(
    request: Request, _: DashboardUser, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    positions = await views.positions(pool)
    return await _page(request, "positions.html", pool, settings, "positions", positions=positions)


@router.get("/strategies", response_class=HTMLResponse)
async def strategies_page(
    request: Request, _: DashboardUser, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    standings = await views.strategies(pool)
    return await _page(
        request, "strategies.html", pool, settings, "strategies", standings=standings
    )


@router.get("/opportunities", response_class=HTMLResponse)
async def opportunities_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    settings: SettingsDep,
    links: LinksDep,
    kind: str | None = None,
    status: str | None = None,
    strategy: str | None = None,
) -> HTMLResponse:
    f = read_models.OpportunityFilter(kind or None, status or None, strategy or None)
    result = await views.opportunities(pool, links, f, 100, 0)
    return await _page(
        request,
        "opportunities.html",
        pool,
        settings,
        "opportunities",
        page=result,
        kind=kind or "",
        status=status or "",
        strategy=strategy or "",
        stream_since=datetime.now(UTC).isoformat(),
    )


@router.get("/ui/opportunities/stream")
async def opportunity_stream(
    request: Request, _: DashboardUser, pool: PoolDep, links: LinksDep, since: str | None = None
) -> StreamingResponse:
    """Server-sent events: each new or changed opportunity as one ``opportunity`` event."""
    try:
        cursor = datetime.fromisoformat(since) if since else datetime.now(UTC)
    except ValueError:
        raise HTTPException(400, "since must be an ISO 8601 time") from None
    if cursor.tzinfo is None:
        cursor = cursor.replace(tzinfo=UTC)

    async def events() -> Any:
        nonlocal cursor
        started = time.monotonic()
        yield "retry: 2000\n\n"
        last_beat = time.monotonic()
        while time.monotonic() - started < STREAM_MAX_SECONDS:
            if await request.is_disconnected():
                return
            async with pool.connection() as conn:
                rows = await read_models.opportunities_changed_since(conn, cursor)
            for row in rows:
                cursor = max(cursor, row["updated_at"])
                item = views.opportunity_item(row, links)
                yield f"event: opportunity\ndata: {item.model_dump_json()}\n\n"
            if time.monotonic() - last_beat > 15:
                yield ": keep-alive\n\n"
                last_beat = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/oracles", response_class=HTMLResponse)
async def oracles_page(
    request: Request, _: DashboardUser, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    feeds = await views.feeds(pool)
    return await _page(request, "oracles.html", pool, settings, "oracles", feeds=feeds)


@router.get("/risk", response_class=HTMLResponse)
async def risk_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> HTMLResponse:
    risk = await views.risk(pool, temporal, settings)
    return await _page(request, "risk.html", pool, settings, "risk", risk=risk)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    settings: SettingsDep,
    links: LinksDep,
    strategy: str = "",
    venue: str = "",
    market: str = "",
    decision: str = "",
    since: str = "",
    until: str = "",
    q: str = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    def moment(text: str) -> datetime | None:
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None

    f = read_models.AuditFilter(
        strategy or None,
        venue or None,
        market or None,
        decision if decision in ("approved", "rejected") else None,
        moment(since),
        moment(until),
        q or None,
    )
    result = await views.audit(pool, links, f, 50, offset)
    query = {
        "strategy": strategy,
        "venue": venue,
        "market": market,
        "decision": decision,
        "since": since,
        "until": until,
        "q": q,
    }
    return await _page(
        request,
        "audit.html",
        pool,
        settings,
        "audit",
        page=result,
        query=query,
        ui_known=links[0] is not None,
    )


# -- operations --------------------------------------------------------------------------------


@router.get("/matches", response_class=HTMLResponse)
async def matches_page(
    request: Request, _: DashboardUser, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    result = await views.matches(pool, "pending", 100, 0)
    return await _page(request, "matches.html", pool, settings, "matches", page=result)


@router.post("/ui/matches/{match_id}/{verdict}")
async def review_match(
    request: Request, match_id: int, verdict: str, _: CheckedForm, pool: PoolDep
) -> RedirectResponse:
    if verdict not in ("confirm", "reject"):
        raise HTTPException(404, "unknown verdict")
    try:
        row = await review(pool, match_id, verdict == "confirm", "dashboard")
        _flash(request, "ok", f"Match {row.id} {row.review_status}.")
    except HTTPException as e:
        _flash(request, "error", str(e.detail))
    return _back(request, "/matches")


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    settings: SettingsDep,
    links: LinksDep,
    show: str = "open",
) -> HTMLResponse:
    result = await views.alerts(pool, links, show != "all", None, 100, 0)
    return await _page(request, "alerts.html", pool, settings, "alerts", page=result, show=show)


@router.post("/ui/alerts/{alert_id}/ack")
async def ack_alert(
    request: Request,
    alert_id: int,
    _: CheckedForm,
    pool: PoolDep,
    temporal: TemporalDep,
    links: LinksDep,
) -> RedirectResponse:
    try:
        result = await acknowledge(pool, temporal, links, alert_id, "dashboard", "dashboard")
        _flash(
            request,
            "ok",
            f"Alert {alert_id} acknowledged"
            + ("." if result.newly_acknowledged else " (it already was)."),
        )
    except HTTPException as e:
        _flash(request, "error", str(e.detail))
    return _back(request, "/alerts")


@router.post("/ui/halt")
async def halt(
    request: Request,
    form: CheckedForm,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> RedirectResponse:
    reason = str(form.get("reason") or "").strip() or "HALT_ALL from the dashboard"
    outcome = await kill_switch.halt(pool, temporal, settings, reason[:500], "dashboard")
    if outcome.guardian_confirmed:
        _flash(request, "halt", "HALT_ALL: trading halted; in-flight lifecycles cancelled.")
    else:
        _flash(
            request,
            "halt",
            f"HALT_ALL: the halt flag is set (no order leaves), but {outcome.guardian_error}.",
        )
    return _back(request)


@router.post("/ui/resume")
async def resume(
    request: Request, form: CheckedForm, pool: PoolDep, temporal: TemporalDep
) -> RedirectResponse:
    reason = str(form.get("reason") or "").strip() or "resumed from the dashboard"
    outcome = await control.resume(pool, temporal, reason[:500], "dashboard")
    message = "Trading resumed."
    if not outcome.guardian_confirmed:
        message += f" Warning: {outcome.guardian_error}."
    _flash(request, "ok" if outcome.guardian_confirmed else "error", message)
    return _back(request)


@router.get("/config", response_class=HTMLResponse)
async def config_page(
    request: Request,
    _: DashboardUser,
    pool: PoolDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    links: LinksDep,
) -> HTMLResponse:
    config = await views.config(pool, temporal, settings, links[0])
    fields = [
        (name, info.description or "", getattr(config.limits, name))
        for name, info in RiskLimits.model_fields.items()
    ]
    return await _page(
        request, "config.html", pool, settings, "config", config=config, fields=fields
    )


@router.post("/ui/config/risk")
async def update_limits(
    request: Request, form: CheckedForm, temporal: TemporalDep
) -> RedirectResponse:
    values = {name: form[name] for name in RiskLimits.model_fields if form.get(name)}
    try:
        limits = RiskLimits.model_validate(values)
        await set_limits(temporal, limits)
        _flash(request, "ok", "Risk limits updated; the guardian confirmed.")
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        _flash(request, "error", f"Not changed: {problems}")
    except (LimitsRefusedError, GuardianUnavailableError) as e:
        _flash(request, "error", f"Not changed: {e}")
    return RedirectResponse("/config", status_code=303)


def login_redirect(request: Request) -> Response:
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return Response(
        json.dumps({"detail": "sign in first"}),
        status_code=401,
        media_type="application/json",
    )
