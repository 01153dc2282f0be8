"""What a request handler may reach, typed: the app's context and the request type.

Sanic's `app.ctx` is a `SimpleNamespace` by default, so every `request.app.ctx.api.x`
was an attribute of `Any` and a misspelt handle failed only when a request ran. Here the
app is `Sanic[Config, AppContext]` (Sanic's own generic typing) and every handler takes
an `ApiRequest`, so the type checker follows `request.app.ctx.api.orders.proxy.place(...)`
down to the actor method it calls.

`ApiContext` holds the service's handles (built by the composition root, `server.py`);
`AppContext` is what the app factory (`http/app.py`) puts beside them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sanic import Request, Sanic
from sanic.config import Config as SanicConfig

from robodine_edge.actors.cameras.registry import CameraDirectory, CamerasProxy
from robodine_edge.actors.dining.floor import FloorProxy
from robodine_edge.actors.dining.order_queue import OrderQueueProxy
from robodine_edge.actors.dispatch.dispatcher import DispatcherProxy
from robodine_edge.actors.robots.fleet import FleetProxy, RobotDirectory
from robodine_edge.actors.robots.recorder import RecorderProxy
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.list_pages import ListedViews
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, SupervisorProxy
from robodine_edge.config import Config
from robodine_edge.data.db import ReadPool
from robodine_edge.http.auth import AuthGate, LoginLimiter
from robodine_edge.http.hub import Hub
from robodine_edge.http.live import LiveFeed
from robodine_edge.process.metrics import Metrics

if TYPE_CHECKING:
    from robodine_edge.http.middleware import ResponseFinisher
    from robodine_edge.web.bundle import StaticBundle


@dataclass(frozen=True)
class ApiContext:
    """What request handlers may reach: the service's handles, all thread-safe or loop-owned."""

    config: Config
    writer: Writer
    reads: ReadPool
    supervisor: ActorSlot[SupervisorProxy]
    gate: AuthGate
    kdf: ThreadPoolExecutor
    metrics: Metrics
    floor: ActorSlot[FloorProxy]
    orders: ActorSlot[OrderQueueProxy]
    journal: Journal
    fleet: ActorSlot[FleetProxy]
    dispatcher: ActorSlot[DispatcherProxy]
    hub: Hub
    robots: RobotDirectory
    """The robot actors' slots by robot id."""
    recorder: ActorSlot[RecorderProxy]
    """Holds the robots' pose samples between writes: a history read has it write them first."""
    views: ListedViews
    """Encoded list bodies, read here without asking their owners (`actors.storage.list_pages`)."""
    cameras: ActorSlot[CamerasProxy]
    """The cameras actor: registration and the list (`actors.cameras.registry`)."""
    camera_actors: CameraDirectory
    """The camera actors' slots by camera id."""
    live: LiveFeed
    videos_dir: Path
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    inflight: dict[tuple[str, str], asyncio.Future[None]] = field(default_factory=dict)
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


@dataclass
class AppContext:
    """`app.ctx`: the service's handles and what the app factory made for every request."""

    api: ApiContext
    finish: ResponseFinisher
    """CORS, gzip and metrics for each response made (`http.middleware`)."""
    openapi_json: bytes
    web_bundle: asyncio.Future[StaticBundle] | None = None
    """The pages' static bundle, loading or loaded (`web.pages.bundle_of`); loop-owned."""


App = Sanic[SanicConfig, AppContext]
ApiRequest = Request[App, SimpleNamespace]
