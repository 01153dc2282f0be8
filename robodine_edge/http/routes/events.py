"""`/api/events`: the append-only event log, and `/api/notifications`: each user's alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from robodine_edge.clock import parse_iso
from robodine_edge.data import events as data
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, PageQuery, ResponseModel
from robodine_edge.types import ALL_ROLES, STAFF_ROLES, EventLevel, Principal

router = ApiRouter(tag="events", prefix="/api/events")
notifications = ApiRouter(tag="notifications", prefix="/api/notifications")


class EventQuery(PageQuery):
    type: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    level: EventLevel | None = None
    since: datetime | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> Any:
        return parse_iso(value) if isinstance(value, str) else value


class EventOut(ResponseModel):
    id: int
    type: str
    level: EventLevel
    entity_type: str | None
    entity_id: int | str | None
    """An integer for a stored row (order, table, task, ...); a string for a robot,
    camera, logger or actor (`data.events.ROW_ENTITIES`)."""
    message: str
    created_at: IsoTime


class NotificationQuery(PageQuery):
    unread: bool | None = None


class NotificationOut(ResponseModel):
    id: int
    type: str
    message: str
    created_at: IsoTime
    read: bool


@router.get("", roles=STAFF_ROLES, summary="The event log", query=EventQuery, response=list[EventOut])
async def list_events(request: ApiRequest, user: Principal, query: EventQuery) -> list[dict[str, Any]]:
    """Newest first; `since` is an ISO-8601 time."""
    level = query.level.value if query.level else None
    reads = request.app.ctx.api.reads
    return await answer(
        request, reads.submit(data.list_events, query.limit, query.before, query.type, level, query.since)
    )


@notifications.get(
    "", roles=ALL_ROLES, summary="My notifications", query=NotificationQuery, response=list[NotificationOut]
)
async def list_notifications(request: ApiRequest, user: Principal, query: NotificationQuery) -> list[dict[str, Any]]:
    reads = request.app.ctx.api.reads
    return await answer(
        request, reads.submit(data.list_notifications, user.user_id, query.limit, query.before, query.unread)
    )


@notifications.post(
    "/<notification_id:int>/read", roles=ALL_ROLES, summary="Mark a notification read", response=NotificationOut
)
async def mark_read(request: ApiRequest, user: Principal, notification_id: int) -> dict[str, Any]:
    """Also an upsert on the caller's `notifications` stream, so every screen of that
    user shows it read (committed first; queued behind what the actors published)."""
    api = request.app.ctx.api
    note: dict[str, Any] = await answer(request, api.writer.write(data.mark_read, user.user_id, notification_id))
    api.hub.publish_threadsafe(
        "notifications", "upsert", {**note, "user_id": user.user_id}
    )  # in order behind the actors'
    return note
