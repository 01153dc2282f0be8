"""`/api/auth`: log in (JSON or the OAuth2 password form), refresh, who am I, log out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field

from robodine_edge.auth import accounts
from robodine_edge.auth.passwords import hash_password, needs_rehash, verify_password
from robodine_edge.clock import to_iso
from robodine_edge.errors import Unauthorized
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter
from robodine_edge.http.schemas import IsoTime, RequestModel, ResponseModel
from robodine_edge.threads import bridge
from robodine_edge.types import ALL_ROLES, Principal, Role

router = ApiRouter(tag="auth", prefix="/api/auth")

Username = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class LoginBody(RequestModel):
    username: Username
    password: Password


class LoginForm(LoginBody):
    """The OAuth2 password grant as sent by Swagger UI's "Authorize" button."""

    grant_type: Literal["password"] | None = None
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class UserInfo(ResponseModel):
    id: int
    username: str
    role: Role
    table_id: int | None = None


class LoginResult(ResponseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    user: UserInfo


class Me(UserInfo):
    expires_at: IsoTime


@router.post(
    "/login",
    roles=None,
    summary="Log in",
    body=LoginBody,
    form=LoginForm,
    response=LoginResult,
    errors=(401, 429),
)
async def login(request: ApiRequest, body: LoginBody) -> dict[str, object]:
    """Exchange a username and password for a bearer token. The 6th failed attempt
    within a minute from one address is refused with 429."""
    api = request.app.ctx.api
    address = request.ip or "unknown"
    api.limiter.check(address)
    record = await bridge.wait(api.reads.submit(accounts.find_login, body.username), api.ask_timeout_s)
    loop = asyncio.get_running_loop()
    stored_hash = record.password_hash if record else None
    if not await loop.run_in_executor(api.kdf, verify_password, stored_hash, body.password):
        api.limiter.record_failure(address)
        raise Unauthorized("invalid username or password")
    assert record is not None
    answer = await _new_session(request, record)
    if needs_rehash(record.password_hash):
        new_hash = await loop.run_in_executor(api.kdf, hash_password, body.password)
        await bridge.wait(api.writer.write(accounts.set_password_hash, record.id, new_hash), api.ask_timeout_s)
    return answer


@router.post("/refresh", roles=ALL_ROLES, summary="A fresh token for the caller", response=LoginResult)
async def refresh(request: ApiRequest, user: Principal) -> dict[str, object]:
    """A new token for the caller, as login gives, recorded as a session of its own. The
    user is read again: one deleted, or whose role or table changed since the token was
    issued, gets 401 and signs in again. The token used for this request is not revoked
    (a page's open WebSocket runs on it until it expires): log out to end it."""
    api = request.app.ctx.api
    record = await bridge.wait(api.reads.submit(accounts.find_user, user.user_id), api.ask_timeout_s)
    if record is None or record.role is not user.role or record.table_id != user.table_id:
        raise Unauthorized("this user changed since the token was issued; sign in again")
    return await _new_session(request, record)


async def _new_session(request: ApiRequest, record: accounts.LoginRecord) -> dict[str, object]:
    """Issue a token for `record`, committed as a session (so logout and a role change can
    revoke it), in login's answer."""
    api = request.app.ctx.api
    issued = api.gate.codec.issue(record.id, record.username, record.role, record.table_id)
    await bridge.wait(
        api.writer.write(accounts.record_session, issued.principal.token_id, record.id, issued.principal.expires_at),
        api.ask_timeout_s,
    )
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "user": {"id": record.id, "username": record.username, "role": record.role.value, "table_id": record.table_id},
    }


@router.get("/me", roles=ALL_ROLES, summary="The caller", response=Me)
async def me(request: ApiRequest, user: Principal) -> dict[str, object]:
    return {
        "id": user.user_id,
        "username": user.username,
        "role": user.role.value,
        "table_id": user.table_id,
        "expires_at": to_iso(datetime.fromtimestamp(user.expires_at, UTC)),
    }


@router.post("/logout", roles=ALL_ROLES, summary="Log out (revoke this token)", status=204)
async def logout(request: ApiRequest, user: Principal) -> None:
    """Revoke the token used for this request; it stops working at once."""
    api = request.app.ctx.api
    await bridge.wait(api.writer.write(accounts.revoke_session, user.token_id), api.ask_timeout_s)
    api.revoke([(user.token_id, user.expires_at)])
