"""The Sanic application factory. It builds the app and starts nothing.

`create_app(api)` wires the routes, middleware and error handler around an
`ApiContext` (the handles into the running service); the composition root
(`robodine_edge.server`) starts the actors and listeners around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sanic import Sanic

from robodine_edge import __version__
from robodine_edge.actors.journal import Journal
from robodine_edge.actors.store import Store
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.actors.views import ListedViews
from robodine_edge.config import Config
from robodine_edge.db import ReadPool
from robodine_edge.http.auth import AuthGate, LoginLimiter
from robodine_edge.http.errors import ApiErrorHandler
from robodine_edge.http.hub import Hub
from robodine_edge.http.live import LiveFeed
from robodine_edge.http.middleware import ResponseFinisher, install_preflight
from robodine_edge.http.openapi import build_openapi
from robodine_edge.http.routes import (
    auth,
    customers,
    docs,
    emergencies,
    events,
    health,
    inventory,
    kiosks,
    menu,
    metrics,
    orders,
    robots,
    settings,
    stats,
    tables,
    tasks,
    users,
    video_streams,
)
from robodine_edge.http.routing import RouteSpec, install
from robodine_edge.http.ws import install_websockets
from robodine_edge.metrics import Metrics
from robodine_edge.web import pages

ROUTERS = (
    health.router,
    metrics.router,
    docs.router,
    auth.router,
    users.router,
    tables.router,
    customers.router,
    kiosks.router,
    menu.router,
    inventory.router,
    orders.router,
    events.router,
    events.notifications,
    settings.router,
    emergencies.router,
    robots.router,
    robots.albabot,
    robots.cookbot,
    robots.poses,
    tasks.router,
    stats.router,
    video_streams.router,
    video_streams.videos,
    pages.router,
)
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ApiContext:
    """What request handlers may reach: the service's handles, all thread-safe or loop-owned."""

    config: Config
    store: Store
    reads: ReadPool
    supervisor: ActorSlot[Any]
    gate: AuthGate
    kdf: ThreadPoolExecutor
    metrics: Metrics
    floor: ActorSlot[Any]
    orders: ActorSlot[Any]
    journal: Journal
    fleet: ActorSlot[Any]
    dispatcher: ActorSlot[Any]
    hub: Hub
    robots: Any
    """The robot actors' directory (`actors.fleet.RobotDirectory`)."""
    views: ListedViews
    """Encoded list bodies, read here without asking their owners (`actors.views`)."""
    cameras: ActorSlot[Any]
    """The cameras actor: registration and the list (`actors.cameras`)."""
    camera_actors: Any
    """The camera actors' directory (`actors.cameras.CameraDirectory`)."""
    live: LiveFeed
    videos_dir: Path
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    inflight: dict[tuple[str, str], Any] = field(default_factory=dict)
    """Creating requests running now, by idempotency key (loop-owned)."""
    started_at: float = field(default_factory=time.monotonic)
    federation: Callable[[], str] = lambda: "off"
    """The uplink to headquarters: `off`, `connected` or `disconnected` (event loop)."""

    @property
    def ask_timeout_s(self) -> float:
        return self.config.http.ask_timeout_s

    @property
    def validate_responses(self) -> bool:
        return self.config.http.validate_responses

    def revoke(self, tokens: list[tuple[str, float]]) -> None:
        """Tokens that must stop working now: refused from here on, their sockets closed."""
        self.gate.revocations.add_all(tokens)
        self.hub.close_tokens({jti for jti, _ in tokens})


def route_specs() -> list[RouteSpec]:
    return [spec for router in ROUTERS for spec in router.specs]


def create_app(api: ApiContext, *, name: str = "robodine_edge") -> Sanic:
    app = Sanic(name, dumps=orjson.dumps, loads=orjson.loads, configure_logging=False)
    app.config.update(
        REQUEST_MAX_SIZE=MAX_BODY_BYTES,
        GRACEFUL_SHUTDOWN_TIMEOUT=4.0,
        FALLBACK_ERROR_FORMAT="json",
        NOISY_EXCEPTIONS=False,
        ACCESS_LOG=False,
        MOTD=False,
        KEEP_ALIVE_TIMEOUT=75,
    )
    finish = ResponseFinisher(api.metrics, api.config.http.cors_origins)
    app.error_handler = ApiErrorHandler(finish)
    specs = route_specs()
    app.ctx.api = api
    app.ctx.finish = finish
    app.ctx.specs = specs
    app.ctx.openapi_json = orjson.dumps(build_openapi(specs, title="robodine-edge", version=__version__))
    app.ctx.hub = api.hub
    install(app, specs)
    install_websockets(app)
    install_preflight(app, specs, finish)
    return app
