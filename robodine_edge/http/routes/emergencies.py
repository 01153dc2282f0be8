"""`/api/emergencies`: stop everything (robots stop within a second) and resume.

The dispatcher owns the emergency (`DispatcherActor.declare_emergency`): it commits the
emergency's row with a command for every robot in one unit, the loop writes them all in
one turn, and it publishes the row's upsert on the `emergencies` topic (every open screen
shows or clears its banner at once), all in one ask that this awaits.
"""

from __future__ import annotations

from typing import Any

from robodine_edge.data import emergencies as data
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, Note, PageQuery, RequestModel, ResponseModel
from robodine_edge.types import STAFF_ROLES, Principal

router = ApiRouter(tag="emergencies", prefix="/api/emergencies")


class EmergencyCreate(RequestModel):
    reason: Note | None = None


class EmergencyOut(ResponseModel):
    id: int
    active: bool
    reason: str | None
    created_at: IsoTime
    resolved_at: IsoTime | None


@router.post(
    "",
    roles=STAFF_ROLES,
    summary="Declare an emergency",
    body=EmergencyCreate,
    response=EmergencyOut,
    status=201,
    errors=(409,),
)
async def declare(request: ApiRequest, user: Principal, body: EmergencyCreate) -> dict[str, Any]:
    """Every connected robot is sent `emergency_stop` before this answers; robots and
    tasks stay frozen, orders kept, until it is resolved (robots get `resume`). One
    emergency at a time: declaring a second while one is active is 409."""
    dispatcher = request.app.ctx.api.dispatcher.proxy
    return await answer(request, dispatcher.declare_emergency(body.reason, user.user_id, user.username))


@router.get("", roles=STAFF_ROLES, summary="List emergencies", query=PageQuery, response=list[EmergencyOut])
async def list_emergencies(request: ApiRequest, user: Principal, query: PageQuery) -> list[dict[str, Any]]:
    return await answer(request, request.app.ctx.api.reads.submit(data.list_emergencies, query.limit, query.before))


@router.get("/<emergency_id:int>", roles=STAFF_ROLES, summary="Get an emergency", response=EmergencyOut)
async def get_emergency(request: ApiRequest, user: Principal, emergency_id: int) -> dict[str, Any]:
    return await answer(request, request.app.ctx.api.reads.submit(data.get_emergency, emergency_id))


@router.post(
    "/<emergency_id:int>/resolve",
    roles=STAFF_ROLES,
    summary="Resolve an emergency",
    response=EmergencyOut,
    errors=(409,),
)
async def resolve(request: ApiRequest, user: Principal, emergency_id: int) -> dict[str, Any]:
    dispatcher = request.app.ctx.api.dispatcher.proxy
    return await answer(request, dispatcher.resolve_emergency(emergency_id, user.user_id, user.username))
