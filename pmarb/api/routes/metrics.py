from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pmarb.api import metrics
from pmarb.api.deps import Actor, PoolDep, SettingsDep
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
async def prometheus(_: Actor, pool: PoolDep, settings: SettingsDep) -> Response:
    """Prometheus text format; scrape with `authorization: {credentials: <token>}`."""
    return Response(await metrics.render(pool, settings), media_type=CONTENT_TYPE_LATEST)
