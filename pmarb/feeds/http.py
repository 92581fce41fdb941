"""HTTP requests that back off on throttling and transient server errors.

Venue-specific meaning (Kalshi 429, Polymarket 425 during engine restarts) belongs to the
caller; this only decides whether to wait and try again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from pmarb.feeds.backoff import Backoff

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({425, 429, 500, 502, 503, 504})


class TransientHTTPError(Exception):
    """Still failing after every retry; the caller may retry later (e.g. a Temporal activity)."""

    def __init__(self, method: str, url: str, status: int | None, detail: str) -> None:
        super().__init__(f"{method} {url} failed after retries: {status or detail}")
        self.status = status


async def request_with_retry(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    attempts: int = 5,
    backoff: Backoff | None = None,
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES,
    **kwargs: Any,
) -> httpx.Response:
    """Send the request; return the first response that is not retryable.

    ``kwargs`` may include ``headers_factory``: a callable giving fresh headers per attempt,
    for signatures that embed a timestamp.
    """
    policy = backoff or Backoff(initial=0.25, maximum=8.0)
    headers_factory = kwargs.pop("headers_factory", None)
    base_headers = dict(kwargs.pop("headers", None) or {})
    last_status: int | None = None
    last_detail = ""
    for attempt in range(1, attempts + 1):
        headers = dict(base_headers)
        if headers_factory is not None:
            headers.update(headers_factory(method, url))
        try:
            response = await client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as e:
            last_status, last_detail = None, f"{type(e).__name__}: {e}"
        else:
            if response.status_code not in retry_statuses:
                return response
            last_status, last_detail = response.status_code, response.text[:200]
        if attempt < attempts:
            delay = policy.next_delay()
            log.debug(
                "%s %s: %s; retry %d in %.2fs",
                method,
                url,
                last_status or last_detail,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
    raise TransientHTTPError(method, url, last_status, last_detail)
