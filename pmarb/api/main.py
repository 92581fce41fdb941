"""The FastAPI application: connections opened once in the lifespan, JSON routes under /api,
the dashboard at /, Prometheus metrics at /metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

import pmarb
from pmarb.api.auth import load_or_create_token
from pmarb.api.dashboard import login_redirect
from pmarb.api.dashboard import router as dashboard_router
from pmarb.api.routes import control, health, metrics, operations
from pmarb.api.routes import views as view_routes
from pmarb.api.session import SESSION_COOKIE, SESSION_MAX_AGE, LoginRequiredError, session_secret
from pmarb.config import Settings
from pmarb.infra.runtime import NotRunningError, resolve_endpoints
from pmarb.store.db import open_pool
from pmarb.workers.client import connect_client

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings) -> FastAPI:
    # Read (or create) the token now: the session cookie's signing key is derived from it.
    token = load_or_create_token(settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.token = token
        app.state.pool = None
        app.state.temporal = None
        app.state.temporal_ui = settings.temporal_ui_url
        try:
            endpoints = resolve_endpoints(settings)
        except NotRunningError as e:
            log.warning("API started without a backend: %s", e)
            yield
            return
        app.state.temporal_ui = settings.temporal_ui_url or endpoints.temporal_ui_url
        app.state.pool = await open_pool(endpoints.database_url, max_size=5)
        try:
            app.state.temporal = await connect_client(
                endpoints.temporal_address,
                namespace=settings.temporal_namespace,
                api_key=(
                    settings.temporal_api_key.get_secret_value()
                    if settings.temporal_api_key
                    else None
                ),
                tls=settings.temporal_tls,
            )
        except Exception as e:  # the kill switch must still work through the database
            log.warning("Temporal not reachable from the API: %s", e)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="pmarb",
        version=pmarb.__version__,
        lifespan=lifespan,
        description=(
            "Operator API: every route except `/healthz` needs `Authorization: Bearer <token>` "
            "with the token from `<data dir>/api-token`."
        ),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(token),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="strict",
        https_only=False,
    )

    @app.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, _: LoginRequiredError) -> Response:
        return login_redirect(request)

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(_: Request, error: psycopg.DataError) -> Response:
        # A value the database cannot take (e.g. a NUL byte in a filter): the caller's input.
        message = str(error).strip().splitlines()[0] if str(error).strip() else "invalid value"
        return JSONResponse({"detail": f"invalid input: {message}"}, status_code=400)

    app.include_router(health.router)
    app.include_router(control.router)
    app.include_router(view_routes.router)
    app.include_router(operations.router)
    app.include_router(metrics.router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
