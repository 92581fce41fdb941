from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from pmarb.feeds.backoff import Backoff
from pmarb.feeds.http import TransientHTTPError, request_with_retry
from tests.support import ServedApp


def flaky_app(failures: list[int]) -> FastAPI:
    app = FastAPI()
    seen: list[str] = []

    @app.get("/thing")
    async def thing(request: Request) -> Response:
        seen.append(request.headers.get("x-sig", ""))
        if failures:
            return Response(status_code=failures.pop(0), content="slow down")
        return Response(content=",".join(seen))

    return app


async def test_retries_throttling_and_signs_each_attempt_afresh() -> None:
    async with ServedApp(flaky_app([429, 425, 503])) as served, httpx.AsyncClient() as client:
        counter = iter(range(100))
        response = await request_with_retry(
            client,
            "GET",
            f"{served.url}/thing",
            backoff=Backoff(initial=0.01, maximum=0.02),
            headers_factory=lambda method, url: {"x-sig": f"s{next(counter)}"},
        )
    assert response.status_code == 200
    assert response.text == "s0,s1,s2,s3"


async def test_gives_up_with_a_transient_error() -> None:
    async with ServedApp(flaky_app([500] * 10)) as served, httpx.AsyncClient() as client:
        with pytest.raises(TransientHTTPError) as caught:
            await request_with_retry(
                client, "GET", f"{served.url}/thing", attempts=3, backoff=Backoff(initial=0.01)
            )
    assert caught.value.status == 500


async def test_client_errors_are_returned_not_retried() -> None:
    async with ServedApp(flaky_app([400, 500])) as served, httpx.AsyncClient() as client:
        response = await request_with_retry(
            client, "GET", f"{served.url}/thing", backoff=Backoff(initial=0.01)
        )
    assert response.status_code == 400
