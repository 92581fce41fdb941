from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pmarb.api import metrics
from pmarb.api.deps import Actor, PoolDep
from pmarb.api.schemas import errors

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **errors(401, 503),
    },
)
async def prometheus(_: Actor, pool: PoolDep) -> Response:
    """Prometheus text format; scrape with `authorization: {credentials: <token>}`."""
    return Response(await metrics.render(pool), media_type=CONTENT_TYPE_LATEST)
