"""`/api/customers`: parties, seated at once when a table fits, else on the waiting list."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from robodine_edge.data import tables as data
from robodine_edge.domain.lifecycle import PartyStatus
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import IsoTime, PageQuery, RequestModel, ResponseModel, ShortName
from robodine_edge.types import STAFF_ROLES, Principal

router = ApiRouter(tag="customers", prefix="/api/customers")


class PartyCreate(RequestModel):
    party_size: Annotated[int, Field(ge=1, le=50)]
    name: ShortName | None = None


class PartyQuery(PageQuery):
    status: PartyStatus | None = None


class PartyOut(ResponseModel):
    id: int
    party_size: int
    name: str | None
    status: PartyStatus
    table_id: int | None
    position: int | None
    estimated_wait_s: float | None
    created_at: IsoTime


@router.post("", roles=STAFF_ROLES, summary="A party arrives", body=PartyCreate, response=PartyOut, status=201)
async def add_party(request: ApiRequest, user: Principal, body: PartyCreate) -> dict[str, Any]:
    """Seated at once at the smallest free table that fits, else `waiting` in arrival order."""
    return await answer(request, request.app.ctx.api.floor.proxy.add_party(body.party_size, body.name))


@router.get("", roles=STAFF_ROLES, summary="Parties and the waiting list", query=PartyQuery, response=list[PartyOut])
async def list_parties(request: ApiRequest, user: Principal, query: PartyQuery) -> list[dict[str, Any]]:
    api = request.app.ctx.api
    status = query.status.value if query.status else None
    rows = await answer(request, api.reads.submit(data.list_parties, query.limit, query.before, status))
    waiting = await answer(request, api.floor.proxy.waiting_info())
    return [data.party_json(party, *waiting.get(party.id, (None, None))) for party in rows]


@router.get("/<customer_id:int>", roles=STAFF_ROLES, summary="Get a party", response=PartyOut)
async def get_party(request: ApiRequest, user: Principal, customer_id: int) -> dict[str, Any]:
    api = request.app.ctx.api
    party = await answer(request, api.reads.submit(data.load_party, customer_id))
    waiting = await answer(request, api.floor.proxy.waiting_info())
    return data.party_json(party, *waiting.get(party.id, (None, None)))


@router.post("/<customer_id:int>/leave", roles=STAFF_ROLES, summary="A party leaves", response=PartyOut, errors=(409,))
async def leave(request: ApiRequest, user: Principal, customer_id: int) -> dict[str, Any]:
    """A waiting party leaves the list; a seated one frees its table for cleaning."""
    return await answer(request, request.app.ctx.api.floor.proxy.party_leaves(customer_id))
