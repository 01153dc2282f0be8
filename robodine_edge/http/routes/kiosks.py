"""`/api/kiosks`: table tablets. Each is a `kiosk` user bound to one table."""

from __future__ import annotations

import asyncio
from typing import Any

from robodine_edge.auth import kiosks as data
from robodine_edge.auth.passwords import hash_password
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, PageQuery, RequestModel, ResponseModel, RowId, ShortName
from robodine_edge.types import ADMIN_ONLY, Principal

router = ApiRouter(tag="kiosks", prefix="/api/kiosks")


class KioskCreate(RequestModel):
    table_id: RowId
    name: ShortName | None = None


class KioskOut(ResponseModel):
    id: int
    table_id: int
    name: str | None
    username: str
    created_at: IsoTime


class KioskCreated(KioskOut):
    password: str


@router.post(
    "", roles=ADMIN_ONLY, summary="Create a kiosk for a table", body=KioskCreate, response=KioskCreated, status=201
)
async def create_kiosk(request: ApiRequest, user: Principal, body: KioskCreate) -> dict[str, Any]:
    """The password is shown once, here; log the tablet in with it."""
    api = request.app.ctx.api
    username, password = data.new_credentials(body.table_id)
    password_hash = await asyncio.get_running_loop().run_in_executor(api.kdf, hash_password, password)
    created = await answer(
        request, api.writer.write(data.create_kiosk, body.table_id, body.name, username, password_hash)
    )
    return {**created, "password": password}


@router.get("", roles=ADMIN_ONLY, summary="List kiosks", query=PageQuery, response=list[KioskOut])
async def list_kiosks(request: ApiRequest, user: Principal, query: PageQuery) -> list[dict[str, Any]]:
    return await answer(request, request.app.ctx.api.reads.submit(data.list_kiosks, query.limit, query.before))


@router.get("/<kiosk_id:int>", roles=ADMIN_ONLY, summary="Get a kiosk", response=KioskOut)
async def get_kiosk(request: ApiRequest, user: Principal, kiosk_id: int) -> dict[str, Any]:
    return await answer(request, request.app.ctx.api.reads.submit(data.get_kiosk, kiosk_id))


@router.delete("/<kiosk_id:int>", roles=ADMIN_ONLY, summary="Delete a kiosk", status=204)
async def delete_kiosk(request: ApiRequest, user: Principal, kiosk_id: int) -> None:
    """Its tablet is logged out at once."""
    api = request.app.ctx.api
    revoked = await answer(request, api.writer.write(data.delete_kiosk, kiosk_id))
    api.revoke(revoked)
