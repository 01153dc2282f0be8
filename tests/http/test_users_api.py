"""/api/users against the real process: CRUD, validation, sessions ended by changes."""

from __future__ import annotations

import pytest

from tests.http.conftest import make_user, unique
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


def test_create_get_list_update_delete(service: ServiceProcess, admin: dict[str, str]) -> None:
    name = unique("carol")
    created = service.http.post(
        "/api/users", headers=admin, json={"username": name, "password": "secret-pass", "role": "staff"}
    )
    assert created.status_code == 201
    user = created.json()
    assert set(user) == {"id", "username", "role", "table_id", "created_at"} and user["role"] == "staff"
    assert service.http.get(f"/api/users/{user['id']}", headers=admin).json() == user
    listed = service.http.get("/api/users", headers=admin, params={"role": "staff"}).json()
    assert user in listed and all(u["role"] == "staff" for u in listed)
    renamed = service.http.patch(f"/api/users/{user['id']}", headers=admin, json={"username": name + "x"})
    assert renamed.status_code == 200 and renamed.json()["username"] == name + "x"
    assert service.http.delete(f"/api/users/{user['id']}", headers=admin).status_code == 204
    assert service.http.get(f"/api/users/{user['id']}", headers=admin).status_code == 404


def test_list_is_newest_first_and_pages_with_before(service: ServiceProcess, admin: dict[str, str]) -> None:
    ids = [make_user(service, admin, "staff")[0] for _ in range(3)]
    page = service.http.get("/api/users", headers=admin, params={"limit": 2}).json()
    assert [u["id"] for u in page] == sorted(ids, reverse=True)[:2]
    rest = service.http.get("/api/users", headers=admin, params={"limit": 2, "before": page[-1]["id"]}).json()
    assert rest[0]["id"] == ids[0]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"limit": "many"}, {"before": -1}, {"role": "chef"}])
def test_bad_list_parameters_are_422(service: ServiceProcess, admin: dict[str, str], params: dict) -> None:
    response = service.http.get("/api/users", headers=admin, params=params)
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == set(params)


def test_passwords_are_never_returned(service: ServiceProcess, admin: dict[str, str]) -> None:
    make_user(service, admin, "staff")
    text = service.http.get("/api/users", headers=admin).text
    assert "password" not in text and "argon2" not in text


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"username", "password", "role"}),
        ({"username": "x y", "password": "long-enough", "role": "staff"}, {"username"}),
        ({"username": "ok", "password": "short", "role": "staff"}, {"password"}),
        ({"username": "ok", "password": "long-enough", "role": "chef"}, {"role"}),
        ({"username": "ok", "password": 12345678, "role": "staff"}, {"password"}),
        ({"username": "ok", "password": "long-enough", "role": "staff", "admin": True}, {"admin"}),
        ({"username": "ok", "password": "long-enough", "role": "kiosk"}, {"table_id"}),
        ({"username": "ok", "password": "long-enough", "role": "kiosk", "table_id": 999}, {"table_id"}),
        ({"username": "ok", "password": "long-enough", "role": "staff", "table_id": 1}, {"table_id"}),
        ({"username": "ok", "password": "long-enough", "role": "staff", "table_id": "1"}, {"table_id"}),
    ],
)
def test_invalid_users_are_422_naming_the_fields(
    service: ServiceProcess, admin: dict[str, str], payload: dict, fields: set
) -> None:
    before = service.http.get("/api/users", headers=admin, params={"limit": 1000}).json()
    response = service.http.post("/api/users", headers=admin, json=payload)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["fields"]) == fields
    assert service.http.get("/api/users", headers=admin, params={"limit": 1000}).json() == before


def test_duplicate_username_is_409(service: ServiceProcess, admin: dict[str, str]) -> None:
    name = unique("dup")
    body = {"username": name, "password": "long-enough", "role": "staff"}
    assert service.http.post("/api/users", headers=admin, json=body).status_code == 201
    again = service.http.post("/api/users", headers=admin, json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_unknown_users_are_404(service: ServiceProcess, admin: dict[str, str]) -> None:
    for method in ("get", "delete"):
        response = getattr(service.http, method)("/api/users/424242", headers=admin)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    patched = service.http.patch("/api/users/424242", headers=admin, json={"username": "ghost"})
    assert patched.status_code == 404
    assert service.http.get("/api/users/not-a-number", headers=admin).status_code == 404


def test_the_last_admin_cannot_be_deleted_or_demoted(tmp_path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        assert service.http.delete("/api/users/1", headers=admin).status_code == 409
        assert service.http.patch("/api/users/1", headers=admin, json={"role": "staff"}).status_code == 409
        second, second_auth = make_user(service, admin, "admin")
        assert service.http.patch("/api/users/1", headers=admin, json={"role": "staff"}).status_code == 200
        assert service.http.delete(f"/api/users/{second}", headers=second_auth).status_code == 409


def test_role_and_password_changes_end_sessions(service: ServiceProcess, admin: dict[str, str]) -> None:
    user_id, auth = make_user(service, admin, "staff")
    assert service.http.get("/api/auth/me", headers=auth).status_code == 200
    service.http.patch(f"/api/users/{user_id}", headers=admin, json={"username": unique("renamed")})
    assert service.http.get("/api/auth/me", headers=auth).status_code == 200
    assert service.http.patch(f"/api/users/{user_id}", headers=admin, json={"role": "admin"}).json()["role"] == "admin"
    assert service.http.get("/api/auth/me", headers=auth).status_code == 401
    user_id, auth = make_user(service, admin, "staff")
    service.http.patch(f"/api/users/{user_id}", headers=admin, json={"password": "a-new-password"})
    assert service.http.get("/api/auth/me", headers=auth).status_code == 401


def test_moving_a_kiosk_to_another_table_ends_its_sessions(service: ServiceProcess, admin: dict[str, str]) -> None:
    """Its token names its table (and lives for weeks): the tablet signs in again for the new one."""
    other = service.http.post("/api/tables", headers=admin, json={"name": unique("moved-to-"), "seats": 2}).json()
    user_id, auth = make_user(service, admin, "kiosk", table_id=1)
    service.http.patch(f"/api/users/{user_id}", headers=admin, json={"table_id": 1})
    assert service.http.get("/api/auth/me", headers=auth).status_code == 200  # the same table: nothing ends
    moved = service.http.patch(f"/api/users/{user_id}", headers=admin, json={"table_id": other["id"]})
    assert moved.status_code == 200 and moved.json()["table_id"] == other["id"]
    response = service.http.get("/api/auth/me", headers=auth)
    assert response.status_code == 401 and response.json()["error"]["message"] == "token revoked"


def test_a_deleted_user_token_stops_working(service: ServiceProcess, admin: dict[str, str]) -> None:
    user_id, auth = make_user(service, admin, "staff")
    assert service.http.delete(f"/api/users/{user_id}", headers=admin).status_code == 204
    assert service.http.get("/api/auth/me", headers=auth).status_code == 401


def test_non_admins_cannot_manage_users(service: ServiceProcess, admin: dict[str, str]) -> None:
    _, staff = make_user(service, admin, "staff")
    _, kiosk = make_user(service, admin, "kiosk", table_id=1)
    for headers in (staff, kiosk):
        response = service.http.post(
            "/api/users", headers=headers, json={"username": "x", "password": "long-enough", "role": "admin"}
        )
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
