"""`/api/tasks`: the robots' work (cook, serve, clean), for staff watching the floor."""

from __future__ import annotations

from typing import Any, Literal

from robodine_edge.data import tasks as data
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, PageQuery, ResponseModel, RowId
from robodine_edge.types import STAFF_ROLES, Principal

router = ApiRouter(tag="tasks", prefix="/api/tasks")
TaskState = Literal["queued", "assigned", "running", "done", "failed", "cancelled"]


class TaskQuery(PageQuery):
    state: TaskState | None = None
    order_id: RowId | None = None


class TaskOut(ResponseModel):
    id: int
    kind: Literal["cook", "serve", "clean", "dock"]
    state: TaskState
    order_id: int | None
    table_id: int | None
    robot_id: str | None
    attempts: int
    priority: int
    detail: str | None
    created_at: IsoTime
    started_at: IsoTime | None
    finished_at: IsoTime | None


@router.get("", roles=STAFF_ROLES, summary="Robot tasks", query=TaskQuery, response=list[TaskOut])
async def list_tasks(request: ApiRequest, user: Principal, query: TaskQuery) -> list[dict[str, Any]]:
    """Newest first (`before=<id>` pages); `detail` says why a task was taken from a robot or failed."""
    reads = request.app.ctx.api.reads
    return await answer(request, reads.submit(data.list_tasks, query.limit, query.before, query.state, query.order_id))
