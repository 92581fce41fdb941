"""Connections to PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


async def connect(url: str, *, timeout: int = 5) -> psycopg.AsyncConnection[dict[str, Any]]:
    """One connection for short-lived commands (CLI, migrations). Rows come back as dicts."""
    return await psycopg.AsyncConnection.connect(url, row_factory=dict_row, connect_timeout=timeout)


async def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 30.0
) -> AsyncConnectionPool[Any]:
    """A pool for long-running processes; returns once the first connection works."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True, timeout=timeout)
    return pool
