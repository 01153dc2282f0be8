"""Every route by every role, walked from the route table itself.

No token → 401 on every non-public route; a role outside the route's roles → 403
("role ... may not do this"); an allowed role is never refused for its role. It may
still get 404/409/422 for the made-up ids and empty bodies this test sends, or a
resource rule's 403 (a kiosk acting on another table).
"""

from __future__ import annotations

import pytest

from robodine_edge.http.app import route_specs
from robodine_edge.http.routing import PATH_PARAM, RouteSpec
from robodine_edge.types import Role
from tests.http.conftest import make_user
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e
MISSING_ID = 987654


def concrete(spec: RouteSpec) -> str:
    return PATH_PARAM.sub(lambda m: str(MISSING_ID) if m.group(2) == "int" else "missing", spec.path)


@pytest.fixture(scope="module")
def callers(service: ServiceProcess, admin: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "admin": admin,
        "staff": make_user(service, admin, "staff")[1],
        "kiosk": make_user(service, admin, "kiosk", table_id=1)[1],
        "anonymous": {},
    }


SECURED = [spec for spec in route_specs() if spec.roles is not None and spec.path != "/api/auth/logout"]


def test_the_table_has_secured_routes_for_every_role() -> None:
    assert SECURED
    for role in Role:
        assert any(role in spec.roles for spec in SECURED)  # type: ignore[operator]


@pytest.mark.parametrize("spec", SECURED, ids=lambda s: f"{s.method} {s.path}")
def test_route_by_role(service: ServiceProcess, callers: dict[str, dict[str, str]], spec: RouteSpec) -> None:
    for caller, headers in callers.items():
        response = service.http.request(spec.method, concrete(spec), headers=headers, json={} if spec.body else None)
        if caller == "anonymous":
            assert response.status_code == 401, (caller, response.text)
        elif Role(caller) in spec.roles:  # type: ignore[operator]
            assert response.status_code != 401, (caller, response.text)
            assert not is_role_refusal(response), (caller, response.text)
        else:
            assert is_role_refusal(response), (caller, response.text)


def is_role_refusal(response) -> bool:
    if response.status_code != 403:
        return False
    error = response.json()["error"]
    return error["code"] == "forbidden" and error["message"].startswith("role ")


def test_public_routes_are_exactly_the_specs_public_ones() -> None:
    public = {spec.path for spec in route_specs() if spec.roles is None}
    pages = {"/", "/dashboard", "/kitchen", "/kiosk"}  # HTML shells: the data behind them needs a token
    assert {"/health", "/api/health", "/metrics", "/api/auth/login", "/openapi.json", "/docs", "/redoc"} <= public
    assert pages <= public
    assert all(
        path in pages
        or path.startswith(
            ("/health", "/api/health", "/metrics", "/api/auth/login", "/openapi.json", "/docs", "/redoc", "/static/")
        )
        for path in public
    )
