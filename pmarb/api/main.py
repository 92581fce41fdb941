"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

import pmarb
from pmarb.api.routes import health


def create_app() -> FastAPI:
    app = FastAPI(title="pmarb", version=pmarb.__version__)
    app.include_router(health.router)
    return app
