"""`GET /metrics`: Prometheus text exposition, public (docs/OPERATIONS.md)."""

from __future__ import annotations

import contextlib

from prometheus_client import CONTENT_TYPE_LATEST
from sanic import HTTPResponse

from robodine_edge.data.db import sqlite_memory_used
from robodine_edge.errors import RobodineError
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter
from robodine_edge.threads import bridge

router = ApiRouter(tag="metrics")


@router.get("/metrics", roles=None, summary="Prometheus metrics", content_type="text/plain")
async def metrics(request: ApiRequest) -> HTTPResponse:
    """Requests, actor mailboxes, robots online, link frames and telemetry datagrams
    (received and dropped by reason), database commit latency, memory kept by the live
    topics and by SQLite."""
    api = request.app.ctx.api
    with contextlib.suppress(RobodineError):  # keep the last value; /health reports a failed fleet
        online = await bridge.wait(api.fleet.proxy.robots_online(), 2.0)
        api.metrics.robots_online.set(online)
    api.metrics.ws_replay_bytes.set(api.hub.replay_bytes())
    sqlite_bytes = sqlite_memory_used()
    if sqlite_bytes is not None:
        api.metrics.sqlite_memory_bytes.set(sqlite_bytes)
    return HTTPResponse(api.metrics.render(), content_type=CONTENT_TYPE_LATEST)
