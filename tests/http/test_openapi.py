"""/openapi.json and the HTTP answers around it, over HTTP against the real process.

Every path answers a method it does not serve with 405 and an `Allow` header naming
exactly the methods it does serve (RFC 9110 15.5.6).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from robodine_edge.http.app import route_specs
from robodine_edge.http.routing import PATH_PARAM
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE")
SAMPLE = {"int": "1", "str": "x", "path": "a/b.mp4"}
WEBSOCKETS = {"/ws": {"GET"}, "/ws/<topic:str>": {"GET"}}
"""The WebSocket routes (http/ws.py): no `RouteSpec`, GET (the upgrade) only, no preflight."""


def served_methods() -> dict[str, set[str]]:
    """Each routed path (Sanic's syntax) and the methods it answers: its routes' and OPTIONS,
    which every API path answers for CORS preflight (http/middleware.py)."""
    methods: dict[str, set[str]] = defaultdict(lambda: {"OPTIONS"})
    for spec in route_specs():
        methods[spec.path].add(spec.method)
    return {**methods, **WEBSOCKETS}


NOT_SERVED = [
    (path, method, served)
    for path, served in sorted(served_methods().items())
    for method in METHODS
    if method not in served
]


def test_the_route_table_leaves_methods_to_refuse() -> None:
    assert len(NOT_SERVED) > 300 and {m for _, m, _ in NOT_SERVED} == set(METHODS)


@pytest.mark.parametrize(("path", "method", "served"), NOT_SERVED, ids=[f"{m} {p}" for p, m, _ in NOT_SERVED])
def test_a_method_a_path_does_not_serve_is_405_with_allow(
    service: ServiceProcess, admin: dict[str, str], path: str, method: str, served: set[str]
) -> None:
    url = PATH_PARAM.sub(lambda m: SAMPLE[m.group(2) or "str"], path)
    response = service.http.request(method, url, headers=admin)
    assert response.status_code == 405, (method, url, response.text)
    assert response.json()["error"]["code"] == "method_not_allowed"
    allow = response.headers.get("allow")
    assert allow is not None, f"{method} {url}: 405 without Allow"
    assert set(allow.split(", ")) == served, (method, url, allow)
