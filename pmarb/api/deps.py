"""Dependencies shared by routes: settings, the database pool, Temporal, and the token check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool
from temporalio.client import Client

from pmarb.api.auth import CLI_USER_AGENT, token_matches
from pmarb.config import Settings

bearer = HTTPBearer(auto_error=False, description="The token from `<data dir>/api-token`.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] | None = request.app.state.pool
    if pool is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the database is not connected")
    return pool


def get_temporal(request: Request) -> Client | None:
    client: Client | None = request.app.state.temporal
    return client


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    expected: str = request.app.state.token
    presented = credentials.credentials if credentials is not None else None
    if not token_matches(presented, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # A label for the audit trail, not a credential: anyone holding the token is trusted.
    agent = request.headers.get("user-agent", "")
    return "cli" if agent.startswith(CLI_USER_AGENT) else "api"


def get_links(request: Request) -> tuple[str | None, str]:
    """The Temporal Web UI base URL (None when unknown) and the namespace, for links."""
    ui: str | None = request.app.state.temporal_ui
    settings: Settings = request.app.state.settings
    return ui, settings.temporal_namespace


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool[Any], Depends(get_pool)]
TemporalDep = Annotated[Client | None, Depends(get_temporal)]
Actor = Annotated[str, Depends(require_token)]
LinksDep = Annotated[tuple[str | None, str], Depends(get_links)]
