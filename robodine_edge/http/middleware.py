"""What happens to every response: CORS, gzip, metrics. Runs on the event loop.

`ResponseFinisher` is called directly by the three places that make responses (the
route wrapper in `routing`, the error handler, the preflight routes) rather than
registered as Sanic middleware: Sanic's middleware machinery alone cost ~10 % of a
cached list read in `make bench`. The start time comes from the connection (`perft0`,
set by Sanic as it hands the request to the handler, the clock its access log uses).

CORS answers browsers the way the FastAPI backend did (any origin by default,
`http.cors_origins` to restrict); preflight `OPTIONS` is answered for every API path.
Responses of 1 KiB or more are gzipped for clients that accept it (tablets on store
Wi-Fi), like the old GZip middleware.
"""

from __future__ import annotations

import gzip
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sanic import HTTPResponse

from robodine_edge.http.routing import ERROR_FORMAT, RouteSpec
from robodine_edge.process.metrics import Metrics

if TYPE_CHECKING:
    from robodine_edge.http.context import ApiRequest, App

GZIP_MIN_BYTES = 1024
COMPRESSIBLE = ("application/json", "text/", "application/javascript", "application/openmetrics-text")
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS = "Retry-After, Location"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted by name; anything else a client invents is counted as `OTHER`."""


class ResponseFinisher:
    """CORS headers, gzip and the request metrics, applied to a response just made."""

    def __init__(self, metrics: Metrics, cors_origins: tuple[str, ...]) -> None:
        self.allow_any = "*" in cors_origins
        self.allowed = frozenset(cors_origins)
        self._count = RequestCounter(metrics)

    def __call__(self, request: ApiRequest, response: HTTPResponse) -> HTTPResponse:
        _cors(request, response, self.allow_any, self.allowed)
        _gzip(request, response)
        self._count(request, response)
        return response

    def count(self, request: ApiRequest, response: Any) -> None:
        """A response the handler streamed itself: only counted (its headers are sent)."""
        self._count(request, response)


def install_preflight(app: App, specs: list[RouteSpec], finish: ResponseFinisher) -> None:
    """One OPTIONS route per API path, answering CORS preflight requests."""
    methods: dict[str, set[str]] = defaultdict(set)
    for spec in specs:
        methods[spec.path].add(spec.method)
    for index, (path, verbs) in enumerate(sorted(methods.items())):
        allow = ", ".join(sorted(verbs | {"OPTIONS"}))

        async def preflight(request: ApiRequest, _allow: str = allow, **_params: object) -> HTTPResponse:
            headers = {"Allow": _allow, "Access-Control-Allow-Methods": _allow, "Access-Control-Max-Age": "600"}
            origin = request.headers.get("origin")
            if origin and (finish.allow_any or origin in finish.allowed):
                requested = request.headers.get("access-control-request-headers")
                headers["Access-Control-Allow-Headers"] = requested or ALLOWED_HEADERS
            return finish(request, HTTPResponse(status=204, headers=headers))

        app.add_route(  # unquote as the API route: Sanic takes a path's flag from one of its routes
            preflight, path, methods=["OPTIONS"], name=f"preflight_{index}", unquote=True, error_format=ERROR_FORMAT
        )


def _cors(request: ApiRequest, response: HTTPResponse, allow_any: bool, allowed: frozenset[str]) -> None:
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


def _gzip(request: ApiRequest, response: HTTPResponse) -> None:
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


class RequestCounter:
    """Counts each answered request and observes its latency, by route (event loop)."""

    def __init__(self, metrics: Metrics) -> None:
        self._stats = metrics.http

    def __call__(self, request: ApiRequest, response: HTTPResponse) -> None:
        route = "/" + request.route.path if request.route else "unmatched"
        method = request.method if request.method in METHODS else "OTHER"
        started = getattr(request.stream, "perft0", None)
        self._stats.record(route, method, response.status, None if started is None else time.perf_counter() - started)


def _vary(response: HTTPResponse, value: str) -> str:
    current = response.headers.get("Vary")
    return f"{current}, {value}" if current and value not in current else (current or value)
