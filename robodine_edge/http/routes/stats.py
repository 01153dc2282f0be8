"""`/api/stats`: the store's day in figures, for the dashboard (staff, admin)."""

from __future__ import annotations

from typing import Any

from robodine_edge.clock import utcnow
from robodine_edge.data import stats as data
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, ResponseModel
from robodine_edge.types import STAFF_ROLES, Principal

router = ApiRouter(tag="stats", prefix="/api/stats")


class HourOut(ResponseModel):
    hour: int
    """The local wall-clock hour (0-23) this bucket starts at."""
    start: IsoTime
    orders: int


class TodayOut(ResponseModel):
    date: str
    day_start: IsoTime
    day_end: IsoTime
    orders_per_hour: list[HourOut]
    orders: int
    served: int
    cancelled: int
    avg_placed_to_served_s: float | None
    last_order_id: int | None
    open_order_ids: list[int]


@router.get("/today", roles=STAFF_ROLES, summary="Today's orders per hour and time to serve", response=TodayOut)
async def today(request: ApiRequest, user: Principal) -> dict[str, Any]:
    """The store's local day (the edge's time zone): orders placed per hour, how many were
    served or cancelled, and the average seconds from placed to served of those served.
    `last_order_id` and `open_order_ids` let a screen go on counting from the `orders`
    topic without asking again. Counted in SQL on a read-pool thread."""
    return await answer(request, request.app.ctx.api.reads.submit(data.today, utcnow()))
