"""`/api/tables`: the floor plan, seating, releasing, cleaning, presence, calling staff."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sanic import HTTPResponse

from robodine_edge.actors.dining.floor import FloorProxy
from robodine_edge.actors.storage.list_pages import PageKey
from robodine_edge.domain.lifecycle import TableStatus
from robodine_edge.errors import Forbidden
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer, listed
from robodine_edge.http.schemas import (
    Metres,
    Note,
    PageQuery,
    PatchModel,
    RequestModel,
    ResponseModel,
    RowId,
    ShortName,
    not_strict,
)
from robodine_edge.types import ADMIN_ONLY, ALL_ROLES, STAFF_ROLES, EventLevel, Principal, Role

router = ApiRouter(tag="tables", prefix="/api/tables")

Size = Annotated[float, Field(gt=0, le=1_000)]
Seats = Annotated[int, Field(ge=1, le=50)]


class TableCreate(RequestModel):
    name: ShortName
    seats: Seats
    x: Metres = 0.0
    y: Metres = 0.0
    width: Size = 1.0
    height: Size = 1.0


class TablePatch(PatchModel):
    name: ShortName | None = None
    seats: Seats | None = None
    x: Metres | None = None
    y: Metres | None = None
    width: Size | None = None
    height: Size | None = None


class SeatBody(RequestModel):
    customer_id: RowId


class TableStatusBody(RequestModel):
    status: not_strict(TableStatus)  # type: ignore[valid-type]


class PresenceBody(RequestModel):
    present: bool
    reliability: Annotated[float, Field(ge=0, le=100)] | None = None


class CallBody(RequestModel):
    message: Note | None = None


class TableOut(ResponseModel):
    id: int
    name: str
    seats: int
    status: TableStatus
    x: float
    y: float
    width: float
    height: float
    party_id: int | None
    present: bool


def _floor(request: ApiRequest) -> FloorProxy:
    return request.app.ctx.api.floor.proxy


@router.get("", roles=STAFF_ROLES, summary="List tables", query=PageQuery, response=list[TableOut])
async def list_tables(request: ApiRequest, user: Principal, query: PageQuery) -> HTTPResponse:
    """Newest first; `before=<id>` continues after the last id of the previous page."""
    page = PageKey("tables", None, query.limit, query.before)
    return await listed(request, request.app.ctx.api.views.tables, page, lambda: _floor(request).tables_body(page))


@router.post(
    "", roles=ADMIN_ONLY, summary="Create a table", body=TableCreate, response=TableOut, status=201, errors=(409,)
)
async def create_table(request: ApiRequest, user: Principal, body: TableCreate) -> dict[str, Any]:
    """A new table may at once seat the first waiting party that fits."""
    return await answer(request, _floor(request).create_table(body.model_dump()))


@router.get("/<table_id:int>", roles=ALL_ROLES, summary="Get a table", response=TableOut)
async def get_table(request: ApiRequest, user: Principal, table_id: int) -> dict[str, Any]:
    """A kiosk may read its own table (its tablet shows the table's name)."""
    if user.role is Role.KIOSK and user.table_id != table_id:
        raise Forbidden("a kiosk may read its own table only")
    return await answer(request, _floor(request).get_table(table_id))


@router.patch(
    "/<table_id:int>", roles=ADMIN_ONLY, summary="Change a table", body=TablePatch, response=TableOut, errors=(409,)
)
async def update_table(request: ApiRequest, user: Principal, table_id: int, body: TablePatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return await answer(request, _floor(request).update_table(table_id, changes))


@router.delete("/<table_id:int>", roles=ADMIN_ONLY, summary="Delete a table", status=204, errors=(409,))
async def delete_table(request: ApiRequest, user: Principal, table_id: int) -> None:
    """Only a free table without orders; its kiosk users are deleted with it."""
    revoked = await answer(request, _floor(request).delete_table(table_id))
    request.app.ctx.api.revoke(revoked)


@router.post(
    "/<table_id:int>/seat",
    roles=STAFF_ROLES,
    summary="Seat a waiting party",
    body=SeatBody,
    response=TableOut,
    errors=(409,),
)
async def seat(request: ApiRequest, user: Principal, table_id: int, body: SeatBody) -> dict[str, Any]:
    return await answer(request, _floor(request).seat(table_id, body.customer_id))


@router.post(
    "/<table_id:int>/release",
    roles=STAFF_ROLES,
    summary="The party leaves: clean the table",
    response=TableOut,
    errors=(409,),
)
async def release(request: ApiRequest, user: Principal, table_id: int) -> dict[str, Any]:
    return await answer(request, _floor(request).release(table_id))


@router.post(
    "/<table_id:int>/cleaned", roles=STAFF_ROLES, summary="The table is clean", response=TableOut, errors=(409,)
)
async def cleaned(request: ApiRequest, user: Principal, table_id: int) -> dict[str, Any]:
    """The table becomes available and may at once seat a waiting party."""
    return await answer(request, _floor(request).cleaned(table_id))


@router.post(
    "/<table_id:int>/status",
    roles=STAFF_ROLES,
    summary="Reserve or free a table",
    body=TableStatusBody,
    response=TableOut,
    errors=(409,),
)
async def set_status(request: ApiRequest, user: Principal, table_id: int, body: TableStatusBody) -> dict[str, Any]:
    """Only `available` ⇄ `reserved` by hand; the rest follows seating and cleaning."""
    return await answer(request, _floor(request).set_status(table_id, body.status))


@router.post(
    "/<table_id:int>/presence",
    roles=STAFF_ROLES,
    summary="Someone is (not) at the table",
    body=PresenceBody,
    response=TableOut,
)
async def presence(request: ApiRequest, user: Principal, table_id: int, body: PresenceBody) -> dict[str, Any]:
    return await answer(request, _floor(request).presence(table_id, body.present, body.reliability))


@router.post(
    "/<table_id:int>/call-staff", roles=ALL_ROLES, summary="Call staff to the table", body=CallBody, response=TableOut
)
async def call_staff(request: ApiRequest, user: Principal, table_id: int, body: CallBody) -> dict[str, Any]:
    """A kiosk calls for its own table; staff get a notification."""
    if user.role is Role.KIOSK and user.table_id != table_id:
        raise Forbidden("a kiosk calls staff to its own table only")
    table = await answer(request, _floor(request).get_table(table_id))
    text = f"table {table['name']} calls staff" + (f": {body.message}" if body.message else "")
    await answer(
        request,
        request.app.ctx.api.journal.record(
            "staff_called", text, level=EventLevel.WARNING, entity_type="table", entity_id=table_id
        ),
    )
    return table
