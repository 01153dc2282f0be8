"""/api/auth against the real process: login forms, tokens, revocation, rate limit."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets
from openapi_ui_bundles import swagger_ui

from tests.http.conftest import make_user
from tests.http.store_setup import make_table
from tests.service import ADMIN_PASSWORD, ServiceProcess
from tests.ws_client import recv, ws_url

pytestmark = pytest.mark.e2e


def test_login_with_json(service: ServiceProcess) -> None:
    response = service.http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 43200
    assert body["user"] == {"id": 1, "username": "admin", "role": "admin", "table_id": None}
    me = service.http.get("/api/auth/me", headers=service.auth(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "admin"


def test_login_with_the_oauth2_password_form(service: ServiceProcess) -> None:
    response = service.http.post(
        "/api/auth/login",
        data={
            "grant_type": "password",
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "scope": "",
            "client_id": "swagger",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_a_failed_form_login_also_says_why_in_oauth2s_error_description(tmp_path: Path) -> None:
    """Swagger UI's "Authorize" posts the form and shows `error_description` as text (the
    error object alone showed as "[object Object]"); the API's error body stays, for
    every other client of the form."""
    form = {"grant_type": "password", "username": "admin", "scope": "", "client_id": ""}
    with ServiceProcess(tmp_path) as service:
        wrong = service.http.post("/api/auth/login", data={**form, "password": "wrong"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert wrong.json() == {
            "error": {"code": "unauthorized", "message": "invalid username or password"},
            "error_description": "invalid username or password",
        }
        as_json = service.http.post("/api/auth/login", json={"username": "admin", "password": "wrong"})
        assert as_json.status_code == 401
        assert as_json.json() == {"error": {"code": "unauthorized", "message": "invalid username or password"}}
        missing = service.http.post("/api/auth/login", data={"grant_type": "password", "username": "admin"})
        assert missing.status_code == 422 and missing.json()["error"]["code"] == "validation_error"
        assert missing.json()["error_description"] == "invalid request body (password: Field required)"
        grant = service.http.post("/api/auth/login", data={**form, "grant_type": "client_credentials", "password": "x"})
        assert grant.status_code == 422 and "grant_type" in grant.json()["error"]["fields"]
        for _ in range(3):
            assert service.http.post("/api/auth/login", data={**form, "password": "wrong"}).status_code == 401
        limited = service.http.post("/api/auth/login", data={**form, "password": ADMIN_PASSWORD})
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 61
        assert limited.json()["error"]["code"] == "rate_limited" and limited.json()["error_description"]
        limited = service.http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert limited.status_code == 429 and limited.json() == {
            "error": {"code": "rate_limited", "message": limited.json()["error"]["message"]}
        }


def test_swagger_ui_shows_a_failed_authorization_from_string_error_fields() -> None:
    """What the form's error body is built for: the bundled Swagger UI appends
    `, error: ${error}` and `, description: ${error_description}` to a failed
    authorization's status text (an object shows as "[object Object]")."""
    bundle = (swagger_ui.static_path / "swagger-ui-bundle.js").read_text()
    authorize = bundle[bundle.index("authorizeRequest=") :]
    authorize = authorize[: authorize.index("function configureAuth")]
    assert re.search(r"(\w+)\.error&&\(\w+\+=`, error: \$\{\1\.error\}`\)", authorize), authorize
    assert re.search(r"(\w+)\.error_description&&\(\w+\+=`, description: \$\{\1\.error_description\}`\)", authorize)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"username": "admin", "password": "wrong"}, 401, "unauthorized"),
        ({"username": "nobody", "password": "whatever"}, 401, "unauthorized"),
        ({"username": "admin"}, 422, "validation_error"),
        ({"username": 5, "password": ["x"]}, 422, "validation_error"),
        ({"username": "", "password": "x"}, 422, "validation_error"),
        ({"username": "admin", "password": "x" * 2000}, 422, "validation_error"),
    ],
)
def test_bad_logins(tmp_path: Path, payload: dict, status: int, code: str) -> None:
    # A fresh service per case keeps these failures from tripping the rate limit elsewhere.
    with ServiceProcess(tmp_path) as service:
        response = service.http.post("/api/auth/login", json=payload)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code


def test_login_rejects_malformed_bodies(service: ServiceProcess) -> None:
    broken = service.http.post(
        "/api/auth/login", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_request"
    wrong_type = service.http.post("/api/auth/login", content=b"username=admin", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 400 and "Content-Type" in wrong_type.json()["error"]["message"]
    not_object = service.http.post("/api/auth/login", json=["admin"])
    assert not_object.status_code == 422 and not_object.json()["error"]["fields"] == {"body": "expected a JSON object"}


def test_the_sixth_failed_login_in_a_minute_is_rate_limited(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        for _ in range(5):
            assert (
                service.http.post("/api/auth/login", json={"username": "admin", "password": "bad"}).status_code == 401
            )
        limited = service.http.post("/api/auth/login", json={"username": "admin", "password": "bad"})
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        right = service.http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert right.status_code == 429


def test_logout_revokes_the_token_and_it_stays_revoked_after_a_restart(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        token, other = service.token(), service.token()
        assert service.http.post("/api/auth/logout", headers=service.auth(token)).status_code == 204
        revoked = service.http.get("/api/auth/me", headers=service.auth(token))
        assert revoked.status_code == 401 and revoked.json()["error"]["message"] == "token revoked"
        assert service.http.get("/api/auth/me", headers=service.auth(other)).status_code == 200
    with ServiceProcess(tmp_path) as service:
        assert service.http.get("/api/auth/me", headers=service.auth(token)).status_code == 401
        assert service.http.get("/api/auth/me", headers=service.auth(other)).status_code == 200


def forged(service: ServiceProcess, key: bytes | None = None, **changes: object) -> str:
    """A token made outside the service, signed with its real key unless `key` is given."""
    now = int(time.time())
    claims = {
        "iss": "robodine-edge",
        "aud": "robodine-edge:store-1",
        "sub": "1",
        "name": "admin",
        "role": "admin",
        "iat": now,
        "exp": now + 60,
        "jti": "forged",
        **changes,
    }
    key = key or (service.data_dir / "token-key").read_bytes().strip()
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing bearer token"),
        ("Bearer", "expected 'Authorization: Bearer <token>'"),
        ("Basic YWRtaW46YWRtaW4=", "expected 'Authorization: Bearer <token>'"),
        ("Bearer not.a.token", "invalid token"),
        ("Bearer " + "A" * 5000, "invalid token"),
    ],
)
def test_bad_credentials_are_401(service: ServiceProcess, header: str | None, message: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = service.http.get("/api/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "unauthorized", "message": message}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": int(time.time()) - 5}, "token expired"),
        ({"key": b"another-key-of-the-right-length-32"}, "invalid token"),
        ({"aud": "robodine-edge:other-store"}, "invalid token"),
        ({"jti": None}, "invalid token"),
        ({"role": "superuser"}, "invalid token"),
    ],
)
def test_forged_or_expired_tokens_are_401(service: ServiceProcess, changes: dict, message: str) -> None:
    response = service.http.get("/api/auth/me", headers=service.auth(forged(service, **changes)))
    assert response.status_code == 401 and response.json()["error"]["message"] == message


def test_alg_none_is_refused(service: ServiceProcess) -> None:
    unsigned = jwt.encode(
        {"sub": "1", "role": "admin", "jti": "x", "exp": int(time.time()) + 60, "iat": 0}, None, algorithm="none"
    )
    assert service.http.get("/api/auth/me", headers=service.auth(unsigned)).status_code == 401


def test_a_valid_token_signed_with_the_real_key_works(service: ServiceProcess) -> None:
    assert service.http.get("/api/auth/me", headers=service.auth(forged(service))).status_code == 200


def test_kiosk_sees_its_table_in_me(service: ServiceProcess, admin: dict[str, str]) -> None:
    _, kiosk = make_user(service, admin, "kiosk", table_id=1)
    me = service.http.get("/api/auth/me", headers=kiosk).json()
    assert me["role"] == "kiosk" and me["table_id"] == 1


def test_logout_needs_a_token(service: ServiceProcess) -> None:
    response = service.http.post("/api/auth/logout")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_kiosk_token_lives_auth_kiosk_token_ttl_s(service: ServiceProcess, admin: dict[str, str]) -> None:
    """A table's tablet stays signed in: its tokens live 30 days by default, staff's 12 h."""
    kiosk = service.http.post("/api/kiosks", headers=admin, json={"table_id": 1}).json()
    login = service.http.post("/api/auth/login", json={"username": kiosk["username"], "password": kiosk["password"]})
    assert login.json()["expires_in"] == 30 * 86400
    me = service.http.get("/api/auth/me", headers=service.auth(login.json()["access_token"])).json()
    expires_at = datetime.fromisoformat(me["expires_at"].replace("Z", "+00:00")).timestamp()
    assert abs(expires_at - (time.time() + 30 * 86400)) < 60
    staff = service.http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert staff.json()["expires_in"] == 43200


def test_refresh_gives_a_new_token_recorded_as_a_session_and_keeps_the_old_one(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    user_id, staff = make_user(service, admin, "staff")
    refreshed = service.http.post("/api/auth/refresh", headers=staff)
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 43200
    assert body["user"]["id"] == user_id and body["user"]["role"] == "staff"
    fresh = service.auth(body["access_token"])
    assert fresh != staff
    assert service.http.get("/api/auth/me", headers=staff).status_code == 200  # the old one goes on working
    assert service.http.get("/api/auth/me", headers=fresh).json()["id"] == user_id
    changed = service.http.patch(f"/api/users/{user_id}", headers=admin, json={"role": "admin"})
    assert changed.status_code == 200
    for headers in (staff, fresh):  # the refreshed token is a session of the user's like any other
        response = service.http.get("/api/auth/me", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["message"] == "token revoked"


def test_refresh_of_a_kiosk_keeps_its_table_and_its_lifetime(service: ServiceProcess, admin: dict[str, str]) -> None:
    _, kiosk = make_user(service, admin, "kiosk", table_id=1)
    body = service.http.post("/api/auth/refresh", headers=kiosk).json()
    assert body["expires_in"] == 30 * 86400 and body["user"]["table_id"] == 1
    me = service.http.get("/api/auth/me", headers=service.auth(body["access_token"])).json()
    assert (me["role"], me["table_id"]) == ("kiosk", 1)


def test_refresh_reads_the_user_again(service: ServiceProcess, admin: dict[str, str]) -> None:
    """A token whose user no longer is what it says (deleted, another role, another
    table) is refused, though its signature and expiry are good."""
    kiosk_id, _ = make_user(service, admin, "kiosk", table_id=1)
    kiosk = {"sub": str(kiosk_id), "role": "kiosk"}
    variants: list[dict[str, Any]] = [
        {"sub": "99999"},
        {"role": "staff"},
        {**kiosk, "table": 2},
        {**kiosk, "table": None},
    ]
    for n, changes in enumerate(variants):
        token = forged(service, jti=f"forged-{n}", **changes)
        assert service.http.get("/api/auth/me", headers=service.auth(token)).status_code == 200
        response = service.http.post("/api/auth/refresh", headers=service.auth(token))
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized", changes
    fine: list[dict[str, Any]] = [{}, {**kiosk, "table": 1}]
    for changes in fine:
        token = forged(service, jti="forged-ok", **changes)
        assert service.http.post("/api/auth/refresh", headers=service.auth(token)).status_code == 200


def test_refresh_leaves_the_old_tokens_socket_open(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        token = service.token()
        async with websockets.connect(ws_url(service.url, f"/ws/tables?token={token}")) as ws:
            await recv(ws)
            assert service.http.post("/api/auth/refresh", headers=service.auth(token)).status_code == 200
            made = make_table(service, admin)
            assert (await recv(ws))["data"]["id"] == made["id"]

    asyncio.run(scenario())


def test_refresh_needs_a_token(service: ServiceProcess) -> None:
    response = service.http.post("/api/auth/refresh")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
