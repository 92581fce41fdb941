"""Authentication on every route: bearer for the API, session + CSRF for the dashboard."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pmarb.api.auth import token_path
from pmarb.api.main import create_app
from tests.api.fixtures import api_settings
from tests.support import ServedApp

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "confirm" if m.group(0) == "{verdict}" else "1", path)


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers."""
    found: list[tuple[str, str]] = []
    pending: list[Any] = list(app.routes)
    while pending:
        route = pending.pop(0)
        included = getattr(route, "original_router", None)  # FastAPI ≥ 0.16x wraps routers
        if included is not None:
            pending.extend(included.routes)
        elif isinstance(route, APIRoute):
            found.extend((method, route.path) for method in sorted(route.methods or ()))
    return found


@pytest.fixture
async def served(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[ServedApp, str, FastAPI]]:
    settings = api_settings(database_url, tmp_path / "data")
    app = create_app(settings)
    async with ServedApp(app, lifespan="on") as server:
        yield server, token_path(settings.data_dir).read_text(), app


async def test_every_api_route_but_healthz_needs_the_token(
    served: tuple[ServedApp, str, FastAPI],
) -> None:
    server, _, app = served
    api = [(m, p) for m, p in routes(app) if p.startswith("/api") or p == "/metrics"]
    mutating = [(m, p) for m, p in api if m in MUTATING]
    assert len(mutating) == 5, mutating  # halt, resume, config, ack, match verdict
    async with httpx.AsyncClient(base_url=server.url) as http:
        for method, path in api:
            url = _concrete(path)
            missing = await http.request(method, url)
            assert missing.status_code == 401, (method, path, missing.text)
            wrong = await http.request(method, url, headers={"Authorization": "Bearer wrong"})
            assert wrong.status_code == 401, (method, path)
            assert wrong.headers["www-authenticate"] == "Bearer"
        assert (await http.get("/healthz")).status_code == 200


async def test_dashboard_needs_a_session_and_posts_need_the_csrf_token(
    served: tuple[ServedApp, str, FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    server, token, app = served
    pages = [p for m, p in routes(app) if m == "GET" and not p.startswith(("/api", "/metrics"))]
    posts = [
        p for m, p in routes(app) if m == "POST" and not p.startswith("/api") and p != "/login"
    ]
    assert {"/ui/halt", "/ui/resume", "/ui/config/risk", "/logout"} <= set(posts)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for path in pages:
            if path in ("/login", "/healthz"):
                continue
            response = await http.get(_concrete(path))
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        for path in posts:
            response = await http.post(_concrete(path), data={"reason": "x"})
            assert response.status_code == 401, path

        login_page = await http.get("/login")
        csrf = _csrf(login_page.text)
        refused = await http.post("/login", data={"csrf_token": csrf, "token": "wrong"})
        assert refused.status_code == 401 and "not the API token" in refused.text
        no_csrf = await http.post("/login", data={"token": token})
        assert no_csrf.status_code == 403
        signed_in = await http.post(
            "/login", data={"csrf_token": _csrf(refused.text), "token": token}
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        home = await http.get("/")
        assert home.status_code == 200 and "PAPER" in home.text
        session_csrf = _csrf(home.text)
        assert session_csrf != csrf, "a new CSRF token after login"

        for path in posts:
            missing = await http.post(_concrete(path), data={"reason": "x"})
            assert missing.status_code == 403, path
            wrong = await http.post(_concrete(path), data={"reason": "x", "csrf_token": "nope"})
            assert wrong.status_code == 403, path

        halted = await http.post("/ui/halt", data={"csrf_token": session_csrf, "reason": "test"})
        assert halted.status_code == 303
        page = await http.get("/")
        assert "TRADING HALTED" in page.text and "test" in page.text
    assert token not in caplog.text, "the token never reaches a log line"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)
