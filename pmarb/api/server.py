"""``pmarb api``: serve the FastAPI app with uvicorn."""

from __future__ import annotations

import uvicorn

from pmarb.api.main import create_app
from pmarb.config import Settings


async def run_api(settings: Settings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )
    await uvicorn.Server(config).serve()
