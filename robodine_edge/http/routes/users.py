"""`/api/users`: user accounts, admin only. Passwords are never returned."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from robodine_edge.auth import accounts
from robodine_edge.auth.passwords import hash_password
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter
from robodine_edge.http.schemas import (
    IsoTime,
    PageQuery,
    PatchModel,
    RequestModel,
    ResponseModel,
    RowId,
    not_strict,
    only_when,
)
from robodine_edge.threads import bridge
from robodine_edge.types import ADMIN_ONLY, Principal, Role

router = ApiRouter(tag="users", prefix="/api/users")

Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
NewPassword = Annotated[str, Field(min_length=8, max_length=256)]


class UserCreate(RequestModel):
    """A kiosk user is bound to a table (`table_id`, which must exist); no other role is."""

    model_config = ConfigDict(json_schema_extra=only_when("role", Role.KIOSK.value, "table_id"))

    username: Username
    password: NewPassword
    role: not_strict(Role)  # type: ignore[valid-type]
    table_id: RowId | None = None


class UserPatch(PatchModel):
    NULLABLE = frozenset({"table_id"})

    username: Username | None = None
    password: NewPassword | None = None
    role: not_strict(Role | None) = None  # type: ignore[valid-type]
    table_id: RowId | None = None


class UserQuery(PageQuery):
    role: Role | None = None


class UserOut(ResponseModel):
    id: int
    username: str
    role: Role
    table_id: int | None
    created_at: IsoTime


@router.get("", roles=ADMIN_ONLY, summary="List users", query=UserQuery, response=list[UserOut])
async def list_users(request: ApiRequest, user: Principal, query: UserQuery) -> list[dict[str, Any]]:
    api = request.app.ctx.api
    role = query.role.value if query.role else None
    return await bridge.wait(api.reads.submit(accounts.list_users, query.limit, query.before, role), api.ask_timeout_s)


@router.post(
    "", roles=ADMIN_ONLY, summary="Create a user", body=UserCreate, response=UserOut, status=201, errors=(409,)
)
async def create_user(request: ApiRequest, user: Principal, body: UserCreate) -> dict[str, Any]:
    """Kiosk users are bound to a table (`table_id`); other roles are not."""
    api = request.app.ctx.api
    password_hash = await asyncio.get_running_loop().run_in_executor(api.kdf, hash_password, body.password)
    return await bridge.wait(
        api.writer.write(accounts.create_user, body.username, password_hash, body.role, body.table_id),
        api.ask_timeout_s,
    )


@router.get("/<user_id:int>", roles=ADMIN_ONLY, summary="Get a user", response=UserOut)
async def get_user(request: ApiRequest, user: Principal, user_id: int) -> dict[str, Any]:
    api = request.app.ctx.api
    return await bridge.wait(api.reads.submit(accounts.get_user, user_id), api.ask_timeout_s)


@router.patch(
    "/<user_id:int>", roles=ADMIN_ONLY, summary="Update a user", body=UserPatch, response=UserOut, errors=(409,)
)
async def update_user(request: ApiRequest, user: Principal, user_id: int, body: UserPatch) -> dict[str, Any]:
    """A new role or password ends every session of that user (they log in again)."""
    api = request.app.ctx.api
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        loop = asyncio.get_running_loop()
        changes["password_hash"] = await loop.run_in_executor(api.kdf, hash_password, body.password)
    updated, revoked = await bridge.wait(api.writer.write(accounts.update_user, user_id, changes), api.ask_timeout_s)
    api.revoke(revoked)
    return updated


@router.delete("/<user_id:int>", roles=ADMIN_ONLY, summary="Delete a user", status=204, errors=(409,))
async def delete_user(request: ApiRequest, user: Principal, user_id: int) -> None:
    """The user's tokens stop working at once. The last admin cannot be deleted."""
    api = request.app.ctx.api
    revoked = await bridge.wait(api.writer.write(accounts.delete_user, user_id), api.ask_timeout_s)
    api.revoke(revoked)
