"""`/api/orders`: placing, reading, cancelling, and moving orders along.

Kiosks place and read orders of their own table only (403 for any other).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from robodine_edge.data import orders as data
from robodine_edge.data.idempotency import IdempotencyClaim
from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import Forbidden
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, Note, PageQuery, RequestModel, ResponseModel, RowId, not_strict
from robodine_edge.types import ALL_ROLES, STAFF_ROLES, Principal, Role

router = ApiRouter(tag="orders", prefix="/api/orders")


class OrderLineIn(RequestModel):
    menu_item_id: RowId
    quantity: Annotated[int, Field(ge=1, le=50)]
    note: Note | None = None


class OrderCreate(RequestModel):
    table_id: RowId
    items: Annotated[list[OrderLineIn], Field(min_length=1, max_length=50)]


class OrderStatusBody(RequestModel):
    status: not_strict(OrderStatus)  # type: ignore[valid-type]


class PriorityBody(RequestModel):
    priority: Annotated[int, Field(ge=-100, le=100)]


class OrderQuery(PageQuery):
    status: OrderStatus | None = None
    table_id: RowId | None = None


class OrderLineOut(ResponseModel):
    menu_item_id: int | None
    name: str
    quantity: int
    price: float
    note: str | None


class OrderOut(ResponseModel):
    id: int
    table_id: int
    party_id: int | None
    status: OrderStatus
    priority: int
    flagged: bool
    flag_reason: str | None
    items: list[OrderLineOut]
    total: float
    created_at: IsoTime
    updated_at: IsoTime


def _own_table(user: Principal, table_id: int) -> None:
    if user.role is Role.KIOSK and user.table_id != table_id:
        raise Forbidden("a kiosk may only order for its own table")


async def _visible(request: ApiRequest, user: Principal, order_id: int) -> dict[str, Any]:
    order = await answer(request, request.app.ctx.api.reads.submit(data.get_order, order_id))
    _own_table(user, order["table_id"])
    return order


@router.post(
    "", roles=ALL_ROLES, summary="Place an order", body=OrderCreate, response=OrderOut, status=201, errors=(409,)
)
async def place_order(
    request: ApiRequest, user: Principal, body: OrderCreate, idempotency: IdempotencyClaim | None = None
) -> dict[str, Any]:
    """Reserves the stock of every item at once: not enough of anything is 409
    `out_of_stock` and nothing changes. Send an `Idempotency-Key` so a retry never
    orders twice."""
    _own_table(user, body.table_id)
    queue = request.app.ctx.api.orders.proxy
    items = [(line.menu_item_id, line.quantity, line.note) for line in body.items]
    return await answer(request, queue.place(body.table_id, items, user.user_id, idempotency).flatten())


@router.get("", roles=ALL_ROLES, summary="List orders", query=OrderQuery, response=list[OrderOut])
async def list_orders(request: ApiRequest, user: Principal, query: OrderQuery) -> list[dict[str, Any]]:
    table_id = query.table_id
    if user.role is Role.KIOSK:
        if table_id is not None:
            _own_table(user, table_id)
        table_id = user.table_id
    status = query.status.value if query.status else None
    reads = request.app.ctx.api.reads
    return await answer(request, reads.submit(data.list_orders, query.limit, query.before, status, table_id))


@router.get("/<order_id:int>", roles=ALL_ROLES, summary="Get an order", response=OrderOut)
async def get_order(request: ApiRequest, user: Principal, order_id: int) -> dict[str, Any]:
    return await _visible(request, user, order_id)


@router.post("/<order_id:int>/cancel", roles=ALL_ROLES, summary="Cancel an order", response=OrderOut, errors=(409,))
async def cancel_order(request: ApiRequest, user: Principal, order_id: int) -> dict[str, Any]:
    """From `placed` (its stock comes back) by anyone who may see it; from `cooking` by
    staff only (the ingredients count as used)."""
    await _visible(request, user, order_id)
    return await answer(request, request.app.ctx.api.orders.proxy.cancel(order_id, user.role))


@router.post(
    "/<order_id:int>/status",
    roles=STAFF_ROLES,
    summary="Move an order along",
    body=OrderStatusBody,
    response=OrderOut,
    errors=(409,),
)
async def set_status(request: ApiRequest, user: Principal, order_id: int, body: OrderStatusBody) -> dict[str, Any]:
    """placed → cooking → ready → serving → served, one step at a time (or `cancelled`)."""
    return await answer(request, request.app.ctx.api.orders.proxy.set_status(order_id, body.status, user.role))


@router.post(
    "/<order_id:int>/priority",
    roles=STAFF_ROLES,
    summary="Bump an order",
    body=PriorityBody,
    response=OrderOut,
    errors=(409,),
)
async def set_priority(request: ApiRequest, user: Principal, order_id: int, body: PriorityBody) -> dict[str, Any]:
    """Higher priorities are cooked and served first (FIFO among equals)."""
    return await answer(request, request.app.ctx.api.orders.proxy.set_priority(order_id, body.priority))


@router.post(
    "/<order_id:int>/retry", roles=STAFF_ROLES, summary="Give a flagged order back to the robots", response=OrderOut
)
async def retry(request: ApiRequest, user: Principal, order_id: int) -> dict[str, Any]:
    """An order the robots could not handle is flagged; this clears the flag and starts
    its task's attempts again."""
    api = request.app.ctx.api
    await answer(request, api.dispatcher.proxy.retry_order(order_id))
    return await answer(request, api.reads.submit(data.get_order, order_id))
