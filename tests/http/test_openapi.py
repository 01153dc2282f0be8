"""/openapi.json says what the service does, over HTTP against the real process.

Every `$ref` resolves inside the document; every path answers a method it does not serve
with 405 and an `Allow` header naming exactly the methods it does serve (RFC 9110
15.5.6). The rules the document states are held against the service here, one by one;
tests/http/test_openapi_fuzz.py lets Schemathesis try the whole document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Annotated, Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from robodine_edge.http.app import route_specs
from robodine_edge.http.routing import PATH_PARAM
from robodine_edge.http.schemas import FREE_TEXT_PATTERN, ONE_LINE_PATTERN, FreeText, OneLine
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE")
SAMPLE = {"int": "1", "str": "x", "path": "a/b.mp4"}
WEBSOCKETS = {"/ws": {"GET"}, "/ws/<topic:str>": {"GET"}}
"""The WebSocket routes (http/ws.py): no `RouteSpec`, GET (the upgrade) only, no preflight."""


@pytest.fixture(scope="module")
def document(service: ServiceProcess) -> dict[str, Any]:
    response = service.http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve (no {part!r})"
        node = node[part]
    return node


def test_every_ref_in_the_document_resolves(document: dict[str, Any]) -> None:
    """A generator stops at the first reference it cannot follow: the query parameters'
    enums (`orders?status`, `users?role`, ...) once pointed to `#/$defs/...`, which the
    document does not have."""
    found = set(refs(document))
    assert len(found) > 50
    for ref in sorted(found):
        assert isinstance(resolve(document, ref), dict), ref
    parameters = [p for ops in document["paths"].values() for op in ops.values() for p in op.get("parameters", [])]
    status = next(p for p in parameters if p["name"] == "status" and "$ref" in p["schema"])
    assert status["schema"]["$ref"].startswith("#/components/schemas/")


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


def body_schema(document: dict[str, Any], method: str, path: str) -> Any:
    """The operation's JSON request body schema, able to follow the document's `$ref`s."""
    body = document["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**body, "components": document["components"]})


BLANKS = "\u3000\u00a0 \u2028"
AGREED = [
    # (method, path, body, valid): the document's verdict, which the service must share
    ("POST", "/api/tables", {"name": "T", "seats": 4.0}, True),
    ("POST", "/api/tables", {"name": "T", "seats": 4.5}, False),
    ("POST", "/api/tables", {"name": "T", "seats": "4"}, False),
    ("POST", "/api/tables", {"name": "T\x00", "seats": 2}, False),
    ("POST", "/api/tables", {"name": BLANKS, "seats": 2}, False),
    ("POST", "/api/tables", {"name": "\ufeff", "seats": 2}, True),
    ("POST", "/api/tables", {"name": "\u0085T", "seats": 2}, False),
    ("POST", "/api/customers", {"party_size": 2.0, "name": "Kim\u3000Lee"}, True),
    ("POST", "/api/emergencies", {"reason": "smoke\tin the\nkitchen"}, True),
    ("POST", "/api/emergencies", {"reason": "\x1b[31m"}, False),
    ("POST", "/api/tables/{table_id}/call-staff", {"message": "\r\n"}, True),
    ("POST", "/api/tables/{table_id}/call-staff", {"message": "\x0b"}, False),
    ("PATCH", "/api/settings", {"average_dining_s": 59}, False),
    ("PATCH", "/api/settings", {"average_dining_s": 60.0}, True),
    ("PATCH", "/api/settings", {"max_task_attempts": 21}, False),
    ("PATCH", "/api/settings", {"stuck_timeout_s": 9}, False),
    ("PATCH", "/api/settings", {"party_overstay_s": 7 * 86400 + 1}, False),
    ("PATCH", "/api/settings", {"opening_hours": {"funday": ["10:00-12:00"]}}, False),
    ("PATCH", "/api/settings", {"opening_hours": {"mon": ["25:00-26:00"]}}, False),
    ("PATCH", "/api/settings", {"opening_hours": {"sun": ["09:30-23:00"]}}, True),
    ("POST", "/api/users", {"username": "k1", "password": "long-enough", "role": "kiosk", "table_id": 1}, True),
    ("POST", "/api/users", {"username": "k2", "password": "long-enough", "role": "kiosk"}, False),
    ("POST", "/api/users", {"username": "s1", "password": "long-enough", "role": "staff", "table_id": 1}, False),
    ("POST", "/api/users", {"username": "s2", "password": "long-enough", "role": "staff", "table_id": None}, True),
    ("POST", "/api/video-streams", {"camera_id": "c1", "source": "fixed", "robot_id": "r1"}, False),
    ("POST", "/api/video-streams", {"camera_id": "c2", "source": "robot"}, False),
    ("POST", "/api/video-streams", {"camera_id": "c3", "source": "robot", "robot_id": "r1"}, True),
    ("POST", "/api/video-streams", {"camera_id": "c4"}, True),
    ("POST", "/api/video-streams", {"camera_id": ".."}, False),
    ("POST", "/api/robots", {"robot_id": ".", "kind": "albabot"}, False),
    ("POST", "/api/robots", {"robot_id": ".a.", "kind": "albabot"}, True),
    ("POST", "/api/robots", {"robot_id": "a1", "kind": "cookbot", "legacy_cook_addr": "arm.local:65536"}, False),
    ("POST", "/api/robots", {"robot_id": "a2", "kind": "cookbot", "legacy_cook_addr": "arm.local:0"}, False),
    ("POST", "/api/robots", {"robot_id": "a3", "kind": "cookbot", "legacy_cook_addr": "arm.local:00080"}, True),
    ("PATCH", "/api/robots/{robot_id}", {"legacy_cook_addr": "arm.local:99999"}, False),
    ("PATCH", "/api/robots/{robot_id}", {"legacy_cook_addr": "arm.local:65535"}, True),
    ("POST", "/api/robots", {"robot_id": "a4", "kind": "albabot", "name": "arm\x1b[2J"}, False),
    ("PATCH", "/api/robots/{robot_id}", {"name": "  "}, False),
    ("PATCH", "/api/robots/{robot_id}", {"name": "Serving 2"}, True),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "cook"}, False),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "go_to", "args": {"x": 1}}, False),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "go_to", "args": {"x": 1, "y": 2.0}}, True),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "stop", "args": {"x": 1}}, False),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "clean", "args": {"table_id": 0}}, False),
    ("POST", "/api/robots/{robot_id}/commands", {"name": "dock", "force": True}, True),
    ("POST", "/api/menu", {"name": "Soup", "price": 4.5, "prepare_time_s": 60.0}, True),
    ("POST", "/api/menu", {"name": "Soup", "price": 4.555}, False),
]


@pytest.fixture(scope="module")
def store(service: ServiceProcess, admin: dict[str, str]) -> dict[str, str]:
    """A table and a robot for the bodies above to name (their ids in the paths)."""
    table = service.http.post("/api/tables", headers=admin, json={"name": "agreed", "seats": 2})
    robot = service.http.post("/api/robots", headers=admin, json={"robot_id": "r1", "kind": "albabot"})
    assert table.status_code == 201 and robot.status_code == 201, (table.text, robot.text)
    return {"table_id": str(table.json()["id"]), "robot_id": "r1"}


@pytest.mark.parametrize(("method", "path", "body", "valid"), AGREED, ids=[f"{m} {p} {b}" for m, p, b, _ in AGREED])
def test_the_document_and_the_service_agree_on_a_body(
    service: ServiceProcess,
    admin: dict[str, str],
    document: dict[str, Any],
    store: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    valid: bool,
) -> None:
    """What the service refuses, the document refuses (names with control characters or
    only spaces, settings out of range, a kiosk without its table, a command's `args`, a
    port past 65535, a price in tenths of cents), and what the document takes, the service
    takes: a JSON number without a fraction is an integer (JSON Schema's `integer`)."""
    assert body_schema(document, method, path).is_valid(body) is valid, "the document's verdict"
    url = path.format(**store)
    response = service.http.request(method, url, headers=admin, json=body)  # json.dumps: 4.0 stays 4.0
    if valid:
        assert response.status_code < 300, response.text
    else:
        assert response.status_code == 422, response.text


def test_a_body_is_required_only_where_no_body_is_refused(
    service: ServiceProcess, admin: dict[str, str], document: dict[str, Any], store: dict[str, str]
) -> None:
    """No body counts as `{}`: a PATCH, an emergency, a call to staff need none."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            required = operation["requestBody"]["required"]
            assert required is (not body_schema(document, method, path).is_valid({})), (method, path, schema)
    for method, path, required in (
        ("PATCH", "/api/settings", False),
        ("POST", "/api/emergencies", False),
        ("POST", "/api/tables/{table_id}/call-staff", False),
        ("PATCH", "/api/tables/{table_id}", False),
        ("POST", "/api/tables", True),
    ):
        assert document["paths"][path][method.lower()]["requestBody"]["required"] is required
        response = service.http.request(method, path.format(**store), headers=admin)
        assert (response.status_code == 422) is required, response.text
    resolved = service.http.post("/api/emergencies/1/resolve", headers=admin)
    assert resolved.status_code == 200, resolved.text


def test_an_empty_query_parameter_is_documented_as_no_parameter(
    service: ServiceProcess, admin: dict[str, str], document: dict[str, Any]
) -> None:
    """`?level=` means no filter (docs/API.md), which OpenAPI says with `allowEmptyValue`:
    a generated client may send the empty value, and the service takes it."""
    query = [
        (path, parameter)
        for path, operations in document["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    assert len(query) > 40
    for path, parameter in query:
        assert parameter.get("allowEmptyValue", False) is not parameter["required"], (path, parameter)
    for url in ("/api/events?level=&since=&type=", "/api/robots?before=", "/api/menu?category=", "/api/poses?frame="):
        assert service.http.get(url, headers=admin).status_code == 200, url


def test_a_failed_login_matches_the_documented_error_body(service: ServiceProcess, document: dict[str, Any]) -> None:
    """The JSON login's errors carry no `error_description` (the form login's do): the
    document once required it of both."""
    responses = document["paths"]["/api/auth/login"]["post"]["responses"]
    for sent in ({"json": {"username": "admin"}}, {"data": {"username": "admin"}}):
        response = service.http.post("/api/auth/login", **sent)  # type: ignore[arg-type]
        assert response.status_code == 422, response.text
        schema = responses["422"]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
        assert validator.is_valid(response.json()), response.json()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=["Cs"]), max_size=6))
def test_the_documented_text_patterns_are_the_service_checks(text: str) -> None:
    """The patterns /openapi.json gives names and free text accept exactly what
    `_one_line` and `_free_text` do (Python's `str.strip` spaces included)."""
    one_line = TypeAdapter(Annotated[str, OneLine])
    free_text = TypeAdapter(Annotated[str, FreeText])
    for adapter, pattern in ((one_line, ONE_LINE_PATTERN), (free_text, FREE_TEXT_PATTERN)):
        try:
            adapter.validate_python(text)
            accepted = True
        except ValidationError:
            accepted = False
        # ECMA-262, as the document's readers take it (Python's `$` also matches before a final newline)
        documented = jsonschema_rs.is_valid({"type": "string", "pattern": pattern}, text)
        assert accepted is documented, (text, pattern)
