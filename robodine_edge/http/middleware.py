"""What happens around every request: metrics, CORS, gzip. Runs on the event loop.

CORS answers browsers the way the FastAPI backend did (any origin by default,
`http.cors_origins` to restrict); preflight `OPTIONS` is answered for every API path.
Responses of 1 KiB or more are gzipped for clients that accept it (tablets on store
Wi-Fi), like the old GZip middleware.
"""

from __future__ import annotations

import gzip
import time
from collections import defaultdict

from sanic import HTTPResponse, Request, Sanic

from robodine_edge.http.routing import RouteSpec

GZIP_MIN_BYTES = 1024
COMPRESSIBLE = ("application/json", "text/", "application/javascript", "application/openmetrics-text")
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS = "Retry-After, Location"


def install_middleware(app: Sanic, specs: list[RouteSpec], cors_origins: tuple[str, ...]) -> None:
    allow_any = "*" in cors_origins
    allowed = frozenset(cors_origins)

    async def start_clock(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    async def finish(request: Request, response: HTTPResponse) -> None:
        _cors(request, response, allow_any, allowed)
        _gzip(request, response)
        _count(request, response)

    app.register_middleware(start_clock, "request")
    app.register_middleware(finish, "response")
    _install_preflight(app, specs, allow_any, allowed)


def _cors(request: Request, response: HTTPResponse, allow_any: bool, allowed: frozenset[str]) -> None:
    origin = request.headers.get("origin")
    if not origin:
        return
    if allow_any:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = _vary(response, "Origin")
    else:
        return
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def _gzip(request: Request, response: HTTPResponse) -> None:
    body = response.body
    if (
        not body
        or len(body) < GZIP_MIN_BYTES
        or "content-encoding" in response.headers
        or "gzip" not in request.headers.get("accept-encoding", "")
        or not (response.content_type or "").startswith(COMPRESSIBLE)
    ):
        return
    response.body = gzip.compress(body, compresslevel=5)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = _vary(response, "Accept-Encoding")


def _count(request: Request, response: HTTPResponse) -> None:
    metrics = request.app.ctx.api.metrics
    route = "/" + request.route.path if request.route else "unmatched"
    metrics.http_requests.labels(route, request.method, str(response.status)).inc()
    started = getattr(request.ctx, "started", None)
    if started is not None:
        metrics.http_latency.labels(route).observe(time.perf_counter() - started)


def _vary(response: HTTPResponse, value: str) -> str:
    current = response.headers.get("Vary")
    return f"{current}, {value}" if current and value not in current else (current or value)


def _install_preflight(app: Sanic, specs: list[RouteSpec], allow_any: bool, allowed: frozenset[str]) -> None:
    """One OPTIONS route per API path, answering CORS preflight requests."""
    methods: dict[str, set[str]] = defaultdict(set)
    for spec in specs:
        methods[spec.path].add(spec.method)
    for index, (path, verbs) in enumerate(sorted(methods.items())):
        allow = ", ".join(sorted(verbs | {"OPTIONS"}))

        async def preflight(request: Request, _allow: str = allow, **_params: object) -> HTTPResponse:
            headers = {"Allow": _allow, "Access-Control-Allow-Methods": _allow, "Access-Control-Max-Age": "600"}
            origin = request.headers.get("origin")
            if origin and (allow_any or origin in allowed):
                requested = request.headers.get("access-control-request-headers")
                headers["Access-Control-Allow-Headers"] = requested or ALLOWED_HEADERS
            return HTTPResponse(status=204, headers=headers)

        app.add_route(preflight, path, methods=["OPTIONS"], name=f"preflight_{index}")
