"""What every route shares: error bodies, size limit, CORS, gzip, docs, metrics."""

from __future__ import annotations

import re
import socket

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robodine_edge.http.app import route_specs
from robodine_edge.http.routing import PATH_PARAM
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
ONE_MIB = 1024 * 1024


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    assert "Traceback" not in response.text


def test_unknown_route_and_wrong_method(service: ServiceProcess, admin: dict[str, str]) -> None:
    assert_error(service.http.get("/api/nothing-here", headers=admin), 404, "not_found")
    assert_error(service.http.put("/api/users", headers=admin, json={}), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/api/nothing-here", "/nowhere", "/api/users/1/deeper", "/caf%C3%A9"])
def test_a_404_names_the_path_and_points_to_the_docs(service: ServiceProcess, path: str) -> None:
    response = service.http.get(path)
    assert_error(response, 404, "not_found")
    message = response.json()["error"]["message"]
    assert message == f"no route for {path}; the API is described at /docs" and "  " not in message


def test_bodies_over_one_mib_are_413(service: ServiceProcess, admin: dict[str, str]) -> None:
    big = b'{"username": "' + b"x" * ONE_MIB + b'"}'
    assert_error(
        service.http.post("/api/users", headers={**admin, "content-type": "application/json"}, content=big),
        413,
        "too_large",
    )

    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    chunked = service.http.post("/api/auth/login", headers={"content-type": "application/json"}, content=chunks())
    assert_error(chunked, 413, "too_large")
    at_limit = service.http.post(
        "/api/auth/login", headers={"content-type": "application/json"}, content=b" " * (ONE_MIB - 2) + b"{}"
    )
    assert at_limit.status_code == 422


def test_a_lying_content_length_does_not_hang_or_crash(service: ServiceProcess) -> None:
    port = service.runtime["http_port"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99999999\r\n\r\n{}"
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
    assert service.http.get("/health").status_code == 200


def test_garbage_on_the_socket_gets_400(service: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", service.runtime["http_port"]), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")
    assert service.http.get("/health").status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-(2**63), 2**63 - 1)
            | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["username", "password", "role", "table_id", "x"]), inner, max_size=5)
            ),
            max_leaves=10,
        ).map(orjson.dumps),
    )
)
def test_hostile_bodies_never_cause_a_500(service: ServiceProcess, admin: dict[str, str], body: bytes) -> None:
    response = service.http.post("/api/users", headers={**admin, "content-type": "application/json"}, content=body)
    assert response.status_code in (201, 400, 409, 422), response.text
    assert "error" in response.json() or response.status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": 123456789012345678901234567890, "password": "x", "role": "staff"}',
        b'{"username": "a", "password": 1e400, "role": "staff"}',
        b'{"username": "a\\u0000b", "password": "long-enough", "role": "staff"}',
        b'{"username": "a", "username": "b"}',
        b"[" * 10_000 + b"]" * 10_000,
        b'"just a string"',
        b"\xff\xfe\x00{",
    ],
)
def test_hostile_json_is_a_clear_error(service: ServiceProcess, admin: dict[str, str], raw: bytes) -> None:
    response = service.http.post("/api/users", headers={**admin, "content-type": "application/json"}, content=raw)
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["code"] in ("bad_request", "validation_error")


def test_cors_simple_and_preflight(service: ServiceProcess) -> None:
    simple = service.http.get("/health", headers={"Origin": "http://tablet.local"})
    assert simple.headers["access-control-allow-origin"] == "*"
    preflight = service.http.options(
        "/api/users/7",
        headers={
            "Origin": "http://tablet.local",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "PATCH", "DELETE", "OPTIONS"}
    assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
    assert preflight.headers["access-control-allow-origin"] == "*"
    for path in ("/api/users", "/api/nowhere"):  # a browser must be able to read errors too
        refused = service.http.get(path, headers={"Origin": "http://tablet.local"})
        assert refused.status_code in (401, 404) and refused.headers["access-control-allow-origin"] == "*"
        assert refused.json()["error"]["code"] in ("unauthorized", "not_found")


def test_large_responses_are_gzipped_for_clients_that_ask(service: ServiceProcess) -> None:
    plain = service.http.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = service.http.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()
    small = service.http.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_docs_pages_load_everything_from_the_service(service: ServiceProcess) -> None:
    for page in ("/docs", "/redoc"):
        html = service.http.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html.text)
        assert sources and all(src.startswith("/") for src in sources), sources
        for src in sources:
            asset = service.http.get(src, headers={"Accept-Encoding": "gzip"})
            assert asset.status_code == 200 and len(asset.content) > 100, src
    raw = service.http.get("/docs/static/swagger-ui-bundle.js", headers={"Accept-Encoding": "identity"})
    assert raw.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert b"SwaggerUIBundle" in raw.content
    assert service.http.get("/docs/static/../../etc/passwd").status_code == 404
    assert_error(service.http.get("/docs/static/unknown.js"), 404, "not_found")


def test_the_docs_pages_ask_nothing_of_the_internet(service: ServiceProcess) -> None:
    """Swagger UI's validator badge and ReDoc's logo are images from outside sites (the
    badge also sends them the spec's URL): off on a Pi that may have no internet."""
    assert "validatorUrl: null" in service.http.get("/docs").text
    redoc = service.http.get("/docs/static/redoc.standalone.js").content
    assert b"cdn.redoc.ly" not in redoc and b'alt:"redocly logo"' in redoc


def test_openapi_documents_every_installed_route(service: ServiceProcess) -> None:
    spec = service.http.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    for route in (r for r in route_specs() if r.in_schema):
        path = PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        operation = spec["paths"][path][route.method.lower()]
        if route.roles is not None:
            assert operation["security"] == [{"bearer": []}] and "401" in operation["responses"]
        if route.body is not None:
            assert "422" in operation["responses"] and "requestBody" in operation
    login = spec["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]
    assert set(login) == {"application/json", "application/x-www-form-urlencoded"}
    assert spec["components"]["securitySchemes"]["bearer"]["flows"]["password"]["tokenUrl"] == "/api/auth/login"
    assert spec["components"]["schemas"]["UserCreate"]["additionalProperties"] is False


def test_metrics_count_requests_and_show_actor_mailboxes(service: ServiceProcess) -> None:
    service.http.get("/api/users")
    text = service.http.get("/metrics").text
    assert 'robodine_http_requests_total{method="GET",route="/api/users",status="401"}' in text
    assert 'robodine_actor_mailbox_depth{actor="writer"}' in text
    assert "robodine_db_commit_seconds_bucket" in text
    assert "_created" not in text


def _sample(text: str, name: str) -> float:
    line = next((line for line in text.splitlines() if line.startswith(name + " ")), None)
    return float(line.split()[-1]) if line else 0.0


def test_metrics_time_each_request_and_bound_invented_methods(service: ServiceProcess) -> None:
    count = 'robodine_http_request_duration_seconds_count{route="/api/users"}'
    total = 'robodine_http_request_duration_seconds_sum{route="/api/users"}'
    before = service.http.get("/metrics").text
    for _ in range(3):
        service.http.get("/api/users")
    after = service.http.get("/metrics").text
    assert _sample(after, count) == _sample(before, count) + 3
    assert 0 < _sample(after, total) - _sample(before, total) < 3.0
    service.http.request("BREW", "/nowhere")
    text = service.http.get("/metrics").text
    assert 'method="BREW"' not in text and 'method="OTHER",route="unmatched"' in text


def test_public_routes_need_no_token(service: ServiceProcess) -> None:
    for path in ("/", "/health", "/api/health", "/metrics", "/openapi.json", "/docs", "/redoc"):
        assert service.http.get(path).status_code == 200, path
