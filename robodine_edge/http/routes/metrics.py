"""`GET /metrics`: Prometheus text exposition, public (SPEC section 8)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from sanic import HTTPResponse, Request

from robodine_edge.http.routing import ApiRouter

router = ApiRouter(tag="metrics")


@router.get("/metrics", roles=None, summary="Prometheus metrics", content_type="text/plain")
async def metrics(request: Request) -> HTTPResponse:
    """Request counts and latencies, actor mailbox depths, database commit latency."""
    return HTTPResponse(request.app.ctx.api.metrics.render(), content_type=CONTENT_TYPE_LATEST)
