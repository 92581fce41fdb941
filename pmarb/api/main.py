"""The FastAPI application: connections opened once in the lifespan, routes under /api."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import pmarb
from pmarb.api.auth import load_or_create_token
from pmarb.api.routes import control, health
from pmarb.config import Settings
from pmarb.infra.runtime import NotRunningError, resolve_endpoints
from pmarb.store.db import open_pool
from pmarb.workers.client import connect_client

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.token = load_or_create_token(settings.data_dir)
        app.state.pool = None
        app.state.temporal = None
        try:
            endpoints = resolve_endpoints(settings)
        except NotRunningError as e:
            log.warning("API started without a backend: %s", e)
            yield
            return
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

    app = FastAPI(title="pmarb", version=pmarb.__version__, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(control.router)
    return app
