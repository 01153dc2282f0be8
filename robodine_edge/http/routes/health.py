"""Liveness for people and monitors: `GET /health` (also `/api/health`), public."""

from __future__ import annotations

import time
from typing import Literal

from sanic import HTTPResponse

from robodine_edge import __version__
from robodine_edge.data.models import database_proxy
from robodine_edge.errors import RobodineError
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, json_response
from robodine_edge.http.schemas import ResponseModel
from robodine_edge.threads import bridge

router = ApiRouter(tag="health")
CHECK_TIMEOUT_S = 2.0


class Health(ResponseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    db: Literal["ok", "error"]
    robots_online: int
    federation: Literal["off", "connected", "disconnected"]
    """The uplink to headquarters (docs/FEDERATION.md): `off` unless federation is enabled."""
    failed_actors: list[str] | None = None
    """Only in a degraded answer: the parts not running (the healthy body has no such key)."""


def _ping_database() -> None:
    """Runs on a read-pool thread."""
    database_proxy.execute_sql("SELECT 1").fetchone()


async def _health(request: ApiRequest) -> HTTPResponse:
    """200 when everything answers; 503 with the same body when the service is degraded
    (an actor given up by its supervisor, or the database not answering)."""
    api = request.app.ctx.api
    try:
        await bridge.wait(api.reads.submit(_ping_database), CHECK_TIMEOUT_S)
        db_ok = True
    except Exception:
        db_ok = False
    try:
        supervision = await bridge.wait(api.supervisor.proxy.health(), CHECK_TIMEOUT_S)
        failed = list(supervision.failed)
    except RobodineError:
        failed = ["supervisor"]
    try:
        online = await bridge.wait(api.fleet.proxy.robots_online(), CHECK_TIMEOUT_S)
    except RobodineError:
        online, failed = 0, [*failed, "fleet"]
    healthy = db_ok and not failed
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "uptime_s": round(time.monotonic() - api.started_at, 3),
        "db": "ok" if db_ok else "error",
        "robots_online": online,
        "federation": api.federation(),
    }
    if not healthy:
        body["failed_actors"] = failed
    return json_response(body, 200 if healthy else 503)


router.get("/health", roles=None, summary="Service health", response=Health, errors=(503,))(_health)
router.get("/api/health", roles=None, summary="Service health (API alias)", response=Health, errors=(503,))(_health)
