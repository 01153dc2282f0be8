"""`/api/inventory`: what the kitchen has, and restocking it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sanic import HTTPResponse

from robodine_edge.actors.dining.order_queue import OrderQueueProxy
from robodine_edge.actors.storage.list_pages import PageKey
from robodine_edge.domain.stock import StockStatus
from robodine_edge.errors import Forbidden
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer, listed
from robodine_edge.http.schemas import OneLine, PageQuery, PatchModel, RequestModel, ResponseModel, ShortName
from robodine_edge.types import ADMIN_ONLY, STAFF_ROLES, Principal, Role

router = ApiRouter(tag="inventory", prefix="/api/inventory")

Count = Annotated[int, Field(ge=0, le=10_000_000)]
Unit = Annotated[str, Field(min_length=1, max_length=16), OneLine]


class InventoryCreate(RequestModel):
    name: ShortName
    unit: Unit = "pcs"
    count: Count = 0
    max_count: Count = 0
    low_threshold: Count = 0


class InventoryPatch(PatchModel):
    name: ShortName | None = None
    unit: Unit | None = None
    count: Count | None = None
    max_count: Count | None = None
    low_threshold: Count | None = None


class RestockBody(RequestModel):
    quantity: Annotated[int, Field(ge=1, le=10_000_000)]


class InventoryOut(ResponseModel):
    id: int
    name: str
    unit: str
    count: int
    max_count: int
    low_threshold: int
    status: StockStatus


def _queue(request: ApiRequest) -> OrderQueueProxy:
    return request.app.ctx.api.orders.proxy


@router.get("", roles=STAFF_ROLES, summary="List inventory", query=PageQuery, response=list[InventoryOut])
async def list_inventory(request: ApiRequest, user: Principal, query: PageQuery) -> HTTPResponse:
    """Newest first; `before=<id>` continues after the last id of the previous page."""
    page = PageKey("inventory", None, query.limit, query.before)
    return await listed(request, request.app.ctx.api.views.menu, page, lambda: _queue(request).inventory_body(page))


@router.post(
    "",
    roles=ADMIN_ONLY,
    summary="Add an inventory item",
    body=InventoryCreate,
    response=InventoryOut,
    status=201,
    errors=(409,),
)
async def create_item(request: ApiRequest, user: Principal, body: InventoryCreate) -> dict[str, Any]:
    return await answer(request, _queue(request).create_inventory_item(body.model_dump()))


@router.get("/<item_id:int>", roles=STAFF_ROLES, summary="Get an inventory item", response=InventoryOut)
async def get_item(request: ApiRequest, user: Principal, item_id: int) -> dict[str, Any]:
    return await answer(request, _queue(request).get_inventory_item(item_id))


@router.patch(
    "/<item_id:int>",
    roles=STAFF_ROLES,
    summary="Change an inventory item",
    body=InventoryPatch,
    response=InventoryOut,
    errors=(409,),
)
async def update_item(request: ApiRequest, user: Principal, item_id: int, body: InventoryPatch) -> dict[str, Any]:
    """Staff may correct the `count` after a stock take; the rest is for admins."""
    if user.role is Role.STAFF and body.model_fields_set - {"count"}:
        raise Forbidden("staff may only correct the count")
    changes = body.model_dump(exclude_unset=True)
    return await answer(request, _queue(request).update_inventory_item(item_id, changes))


@router.delete("/<item_id:int>", roles=ADMIN_ONLY, summary="Remove an inventory item", status=204, errors=(409,))
async def delete_item(request: ApiRequest, user: Principal, item_id: int) -> None:
    """Refused while a recipe uses it."""
    await answer(request, _queue(request).delete_inventory_item(item_id))


@router.post("/<item_id:int>/restock", roles=STAFF_ROLES, summary="Add stock", body=RestockBody, response=InventoryOut)
async def restock(request: ApiRequest, user: Principal, item_id: int, body: RestockBody) -> dict[str, Any]:
    """Adds `quantity`; the count may go past `max_count` (the shelf target)."""
    return await answer(request, _queue(request).restock(item_id, body.quantity))
