"""`/api/menu`: dishes, their prices and recipes. Sold-out dishes show `available: false`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from sanic import HTTPResponse

from robodine_edge.actors.dining.order_queue import OrderQueueProxy
from robodine_edge.actors.storage.list_pages import PageKey
from robodine_edge.errors import Forbidden
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer, listed
from robodine_edge.http.schemas import OneLine, PageQuery, PatchModel, RequestModel, ResponseModel, RowId, ShortName
from robodine_edge.types import ADMIN_ONLY, ALL_ROLES, STAFF_ROLES, Principal, Role

router = ApiRouter(tag="menu", prefix="/api/menu")

Price = Annotated[float, Field(ge=0, le=100_000, json_schema_extra={"multipleOf": 0.01})]
"""At most two decimals (`_PriceCheck`, which allows for binary floats), as the document says."""
Category = Annotated[str, Field(min_length=1, max_length=32), OneLine]
PrepareTime = Annotated[int, Field(ge=0, le=4 * 3600)]
Position = Annotated[int, Field(ge=0, le=1_000_000_000)]


class Ingredient(RequestModel):
    inventory_id: RowId
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class _PriceCheck(RequestModel):
    @field_validator("price", check_fields=False)
    @classmethod
    def _cents(cls, value: float | None) -> float | None:
        if value is not None and abs(value * 100 - round(value * 100)) > 1e-6:
            raise ValueError("a price has at most two decimals")
        return value


class MenuCreate(_PriceCheck):
    name: ShortName
    price: Price
    prepare_time_s: PrepareTime = 300
    category: Category = "main"
    position: Position | None = None
    """Where the dish stands on the menu; left out, at the end of its category."""
    available: bool = True
    ingredients: Annotated[list[Ingredient], Field(max_length=50)] = []


class MenuPatch(_PriceCheck, PatchModel):
    name: ShortName | None = None
    price: Price | None = None
    prepare_time_s: PrepareTime | None = None
    category: Category | None = None
    position: Position | None = None
    available: bool | None = None
    ingredients: Annotated[list[Ingredient], Field(max_length=50)] | None = None


class MenuQuery(PageQuery):
    category: Category | None = None
    order: Literal["newest", "menu"] = "newest"
    """`newest` (every list's order) or `menu`: categories by their smallest position,
    dishes by position then id, as a kiosk shows the menu."""


class IngredientOut(ResponseModel):
    inventory_id: int
    quantity: int


class MenuOut(ResponseModel):
    id: int
    name: str
    price: float
    prepare_time_s: int
    category: str
    position: int
    available: bool
    sold_out: bool
    ingredients: list[IngredientOut]


STAFF_FIELDS = frozenset({"available", "position"})


def _queue(request: ApiRequest) -> OrderQueueProxy:
    return request.app.ctx.api.orders.proxy


def _columns(body: MenuCreate | MenuPatch) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True, exclude={"ingredients", "price"})
    fields = {key: value for key, value in fields.items() if value is not None}
    if body.price is not None:
        fields["price_cents"] = round(body.price * 100)
    return fields


def _recipe(ingredients: list[Ingredient] | None) -> list[tuple[int, int]] | None:
    return None if ingredients is None else [(i.inventory_id, i.quantity) for i in ingredients]


@router.get("", roles=ALL_ROLES, summary="The menu", query=MenuQuery, response=list[MenuOut])
async def list_menu(request: ApiRequest, user: Principal, query: MenuQuery) -> HTTPResponse:
    """Newest first, or in menu order with `order=menu` (categories by the smallest
    position of their dishes, dishes by position then id); either way `before=<id>`
    continues after that dish of the previous page."""
    page = PageKey("menu", (query.category, query.order), query.limit, query.before)
    return await listed(request, request.app.ctx.api.views.menu, page, lambda: _queue(request).menu_body(page))


@router.post("", roles=ADMIN_ONLY, summary="Add a dish", body=MenuCreate, response=MenuOut, status=201, errors=(409,))
async def create_menu_item(request: ApiRequest, user: Principal, body: MenuCreate) -> dict[str, Any]:
    return await answer(request, _queue(request).create_menu_item(_columns(body), _recipe(body.ingredients) or []))


@router.get("/<item_id:int>", roles=ALL_ROLES, summary="Get a dish", response=MenuOut)
async def get_menu_item(request: ApiRequest, user: Principal, item_id: int) -> dict[str, Any]:
    return await answer(request, _queue(request).get_menu_item(item_id))


@router.patch(
    "/<item_id:int>", roles=STAFF_ROLES, summary="Change a dish", body=MenuPatch, response=MenuOut, errors=(409,)
)
async def update_menu_item(request: ApiRequest, user: Principal, item_id: int, body: MenuPatch) -> dict[str, Any]:
    """Staff may take a dish off (or back on) with `available` and move it on the menu
    with `position`; everything else is for admins."""
    if user.role is Role.STAFF and body.model_fields_set - STAFF_FIELDS:
        raise Forbidden("staff may only change whether a dish is available and its position")
    return await answer(request, _queue(request).update_menu_item(item_id, _columns(body), _recipe(body.ingredients)))


@router.delete("/<item_id:int>", roles=ADMIN_ONLY, summary="Remove a dish", status=204)
async def delete_menu_item(request: ApiRequest, user: Principal, item_id: int) -> None:
    """Past orders keep the dish's name and price."""
    await answer(request, _queue(request).delete_menu_item(item_id))
