"""The Sanic application factory. It builds the app and starts nothing.

`create_app(api)` wires the routes, middleware and error handler around an
`ApiContext` (the handles into the running service, `http/context.py`); the composition
root (`robodine_edge.server`) starts the actors and listeners around it.
"""

from __future__ import annotations

import orjson
from sanic import Sanic

from robodine_edge import __version__
from robodine_edge.http.context import ApiContext, App, AppContext
from robodine_edge.http.crash_hook import install_crash_hook
from robodine_edge.http.errors import ApiErrorHandler
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


def route_specs() -> list[RouteSpec]:
    return [spec for router in ROUTERS for spec in router.specs]


def create_app(api: ApiContext, *, name: str = "robodine_edge", crash_hook: bool = False) -> App:
    """`crash_hook` opens the test-only route that crashes actors (`http/crash_hook.py`)."""
    finish = ResponseFinisher(api.metrics, api.config.http.cors_origins)
    specs = route_specs()
    openapi_json = orjson.dumps(build_openapi(specs, title="robodine-edge", version=__version__))
    app: App = Sanic(
        name,
        ctx=AppContext(api, finish, openapi_json),
        dumps=orjson.dumps,
        loads=orjson.loads,
        configure_logging=False,
    )
    app.config.update(
        REQUEST_MAX_SIZE=MAX_BODY_BYTES,
        GRACEFUL_SHUTDOWN_TIMEOUT=4.0,
        FALLBACK_ERROR_FORMAT="json",
        NOISY_EXCEPTIONS=False,
        ACCESS_LOG=False,
        MOTD=False,
        KEEP_ALIVE_TIMEOUT=75,
    )
    app.error_handler = ApiErrorHandler(finish)
    install(app, specs)
    install_websockets(app)
    install_preflight(app, specs, finish)
    if crash_hook:
        install_crash_hook(app)
    return app
