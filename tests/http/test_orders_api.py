"""Orders, menu and inventory through HTTP, against the real process."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import make_user
from tests.http.store_setup import make_dish, make_kiosk, make_stock, make_table
from tests.service import ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def staff(service: ServiceProcess, admin: dict[str, str]) -> dict[str, str]:
    return make_user(service, admin, "staff")[1]


@pytest.fixture(scope="module")
def table(service: ServiceProcess, admin: dict[str, str]) -> dict[str, Any]:
    return make_table(service, admin)


def order(
    service: ServiceProcess, headers: dict[str, str], table_id: int, dish_id: int, quantity: int = 1, **extra: str
) -> httpx.Response:
    body = {"table_id": table_id, "items": [{"menu_item_id": dish_id, "quantity": quantity, "note": "mild"}]}
    return service.http.post("/api/orders", headers={**headers, **extra}, json=body)


def counts(service: ServiceProcess, admin: dict[str, str], *items: dict[str, Any]) -> list[int]:
    return [service.http.get(f"/api/inventory/{item['id']}", headers=admin).json()["count"] for item in items]


def test_the_order_lifecycle(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    rice = make_stock(service, admin, 100)
    dish = make_dish(service, admin, {rice["id"]: 2}, price=12.25)
    placed = order(service, staff, table["id"], dish["id"], 3)
    assert placed.status_code == 201
    body = placed.json()
    assert body["status"] == "placed" and body["total"] == 36.75
    assert body["items"] == [
        {"menu_item_id": dish["id"], "name": dish["name"], "quantity": 3, "price": 12.25, "note": "mild"}
    ]
    assert counts(service, admin, rice) == [94]
    for status in ("cooking", "ready", "serving", "served"):
        moved = service.http.post(f"/api/orders/{body['id']}/status", headers=staff, json={"status": status})
        assert moved.status_code == 200 and moved.json()["status"] == status
    assert service.http.get(f"/api/orders/{body['id']}", headers=staff).json()["status"] == "served"
    again = service.http.post(f"/api/orders/{body['id']}/status", headers=staff, json={"status": "cooking"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert service.http.post(f"/api/orders/{body['id']}/cancel", headers=staff).status_code == 409


def test_cancelling_returns_unused_stock(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    rice = make_stock(service, admin, 10)
    dish = make_dish(service, admin, {rice["id"]: 3})
    first = order(service, staff, table["id"], dish["id"]).json()
    cancelled = service.http.post(f"/api/orders/{first['id']}/cancel", headers=staff)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert counts(service, admin, rice) == [10]
    second = order(service, staff, table["id"], dish["id"]).json()
    service.http.post(f"/api/orders/{second['id']}/status", headers=staff, json={"status": "cooking"})
    service.http.post(f"/api/orders/{second['id']}/cancel", headers=staff)
    assert counts(service, admin, rice) == [7]


def test_not_enough_stock_is_409_and_changes_nothing(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    rice, egg = make_stock(service, admin, 10), make_stock(service, admin, 1)
    dish = make_dish(service, admin, {rice["id"]: 2, egg["id"]: 1})
    before = service.http.get("/api/orders", headers=staff, params={"table_id": table["id"]}).json()
    refused = order(service, staff, table["id"], dish["id"], 2)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "out_of_stock" and error["fields"] == {"items.0": f"not enough {egg['name']}"}
    assert counts(service, admin, rice, egg) == [10, 1]
    assert service.http.get("/api/orders", headers=staff, params={"table_id": table["id"]}).json() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"table_id", "items"}),
        ({"table_id": 1, "items": []}, {"items"}),
        ({"table_id": 1, "items": [{"menu_item_id": 1, "quantity": 0}]}, {"items.0.quantity"}),
        ({"table_id": 1, "items": [{"menu_item_id": 1, "quantity": 1.5}]}, {"items.0.quantity"}),
        ({"table_id": 1, "items": [{"menu_item_id": 1, "quantity": 1, "note": "x" * 201}]}, {"items.0.note"}),
        ({"table_id": "1", "items": [{"menu_item_id": 1, "quantity": 1}]}, {"table_id"}),
        ({"table_id": 1, "items": [{"menu_item_id": 1, "quantity": 1}], "tip": 5}, {"tip"}),
        ({"table_id": 1, "items": {"menu_item_id": 1}}, {"items"}),
    ],
)
def test_invalid_orders_are_422(service: ServiceProcess, staff: dict[str, str], body: dict, fields: set) -> None:
    response = service.http.post("/api/orders", headers=staff, json=body)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["fields"]) == fields


def test_unknown_dishes_and_tables(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    unknown_dish = order(service, staff, table["id"], 99999)
    assert unknown_dish.status_code == 422 and unknown_dish.json()["error"]["fields"] == {
        "items.0.menu_item_id": "no such menu item"
    }
    dish = make_dish(service, admin, {make_stock(service, admin, 5)["id"]: 1})
    unknown_table = order(service, staff, 99999, dish["id"])
    assert unknown_table.status_code == 422 and "table_id" in unknown_table.json()["error"]["fields"]
    assert service.http.get("/api/orders/99999", headers=staff).status_code == 404
    assert service.http.post("/api/orders/99999/cancel", headers=staff).status_code == 404


def test_kiosks_order_for_their_own_table_only(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    mine, theirs = make_table(service, admin), make_table(service, admin)
    _, kiosk = make_kiosk(service, admin, mine["id"])
    dish = make_dish(service, admin, {make_stock(service, admin, 50)["id"]: 1})
    assert order(service, kiosk, theirs["id"], dish["id"]).status_code == 403
    own = order(service, kiosk, mine["id"], dish["id"])
    assert own.status_code == 201
    other = order(service, staff, theirs["id"], dish["id"]).json()
    assert service.http.get(f"/api/orders/{other['id']}", headers=kiosk).status_code == 403
    assert service.http.post(f"/api/orders/{other['id']}/cancel", headers=kiosk).status_code == 403
    listed = service.http.get("/api/orders", headers=kiosk).json()
    assert listed and {o["table_id"] for o in listed} == {mine["id"]}
    assert service.http.get("/api/orders", headers=kiosk, params={"table_id": theirs["id"]}).status_code == 403
    assert (
        service.http.post(
            f"/api/orders/{own.json()['id']}/status", headers=kiosk, json={"status": "cooking"}
        ).status_code
        == 403
    )
    service.http.post(f"/api/orders/{own.json()['id']}/status", headers=staff, json={"status": "cooking"})
    refused = service.http.post(f"/api/orders/{own.json()['id']}/cancel", headers=kiosk)
    assert refused.status_code == 403 and "staff" in refused.json()["error"]["message"]


def test_idempotency_key_replays_and_conflicts(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    rice = make_stock(service, admin, 20)
    dish = make_dish(service, admin, {rice["id"]: 1})
    first = order(service, staff, table["id"], dish["id"], 2, **{"Idempotency-Key": "tablet-42-order-7"})
    retry = order(service, staff, table["id"], dish["id"], 2, **{"Idempotency-Key": "tablet-42-order-7"})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert counts(service, admin, rice) == [18]
    changed = order(service, staff, table["id"], dish["id"], 3, **{"Idempotency-Key": "tablet-42-order-7"})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_conflict"
    other_user = make_user(service, admin, "staff")[1]
    separate = order(service, other_user, table["id"], dish["id"], 2, **{"Idempotency-Key": "tablet-42-order-7"})
    assert separate.status_code == 201 and separate.json()["id"] != first.json()["id"]
    assert order(service, staff, table["id"], dish["id"], 1, **{"Idempotency-Key": "x" * 300}).status_code == 400


def test_a_refusal_is_the_keys_answer_until_it_expires(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    """SPEC: a retry gets the first result. A tablet told "out of stock" that retries
    (its answer lost on the way) is told so again, even after a restock: the order is
    never placed behind the back of a guest who already saw it refused. Another body
    under that key is a conflict; a new key places the order."""
    rice = make_stock(service, admin, 1)
    dish = make_dish(service, admin, {rice["id"]: 1})
    key = {"Idempotency-Key": "tablet-9-order-1"}
    first = order(service, staff, table["id"], dish["id"], 2, **key)
    assert first.status_code == 409 and first.json()["error"]["code"] == "out_of_stock"
    assert service.http.post(f"/api/inventory/{rice['id']}/restock", headers=admin, json={"quantity": 10}).is_success
    retry = order(service, staff, table["id"], dish["id"], 2, **key)
    assert retry.status_code == 409 and retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true" and counts(service, admin, rice) == [11]
    other = order(service, staff, table["id"], dish["id"], 1, **key)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    fresh = order(service, staff, table["id"], dish["id"], 2, **{"Idempotency-Key": "tablet-9-order-2"})
    assert fresh.status_code == 201 and counts(service, admin, rice) == [9]


def test_a_refusal_on_a_route_without_its_own_unit_is_replayed_too(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """The same for any creating POST: a table name taken is the key's answer."""
    taken = make_table(service, admin)
    key = {**admin, "Idempotency-Key": "new-table-1"}
    first = service.http.post("/api/tables", headers=key, json={"name": taken["name"], "seats": 2})
    assert first.status_code == 409
    service.http.patch(f"/api/tables/{taken['id']}", headers=admin, json={"name": f"{taken['name']}-moved"})
    retry = service.http.post("/api/tables", headers=key, json={"name": taken["name"], "seats": 2})
    assert retry.status_code == 409 and retry.content == first.content


def test_concurrent_retries_with_one_key_create_one_order(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    rice = make_stock(service, admin, 100)
    dish = make_dish(service, admin, {rice["id"]: 1})
    body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            headers = {**staff, "Idempotency-Key": "same-key-burst"}
            return await asyncio.gather(*(client.post("/api/orders", headers=headers, json=body) for _ in range(10)))

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert counts(service, admin, rice) == [99]


def test_idempotent_replay_survives_a_restart(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        dish = make_dish(service, admin, {make_stock(service, admin, 5)["id"]: 1})
        first = order(service, {**admin, "Idempotency-Key": "k1"}, table["id"], dish["id"]).json()
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        retry = order(service, {**admin, "Idempotency-Key": "k1"}, table["id"], dish["id"])
        assert retry.status_code == 201 and retry.json() == first
        assert len(service.http.get("/api/orders", headers=admin).json()) == 1


def test_fifty_concurrent_orders_never_drive_stock_negative(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        last = make_stock(service, admin, 7)
        dish = make_dish(service, admin, {last["id"]: 2})
        body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}

        async def rush() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=service.url, timeout=20) as client:
                return await asyncio.gather(*(client.post("/api/orders", headers=admin, json=body) for _ in range(50)))

        statuses = sorted(r.status_code for r in asyncio.run(rush()))
        assert statuses == [201] * 3 + [409] * 47
        assert counts(service, admin, last) == [1]
        assert len(service.http.get("/api/orders", headers=admin).json()) == 3


def test_orders_for_no_table_never_make_a_good_one_run_out(
    service: ServiceProcess, staff: dict[str, str], admin: dict[str, str], table: dict[str, Any]
) -> None:
    """Two eggs, a dish of two: orders for a missing table sent alongside a valid one are
    422 and the valid one is placed."""
    eggs = make_stock(service, admin, 2)
    dish = make_dish(service, admin, {eggs["id"]: 2})
    lines = [{"menu_item_id": dish["id"], "quantity": 1}]

    async def rush() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.url, timeout=20) as client:
            bad = [
                client.post("/api/orders", headers=staff, json={"table_id": 9999, "items": lines}) for _ in range(30)
            ]
            good = client.post("/api/orders", headers=staff, json={"table_id": table["id"], "items": lines})
            return await asyncio.gather(*bad[:15], good, *bad[15:])

    answers = asyncio.run(rush())
    assert answers[15].status_code == 201, answers[15].text
    assert {r.status_code for i, r in enumerate(answers) if i != 15} == {422}
    assert counts(service, admin, eggs) == [0]
    both = service.http.post("/api/orders", headers=staff, json={"table_id": 9999, "items": lines})
    assert both.status_code == 422 and both.json()["error"]["fields"] == {"table_id": "no such table"}


def test_stock_events_notify_staff(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], table: dict[str, Any]
) -> None:
    item = make_stock(service, admin, 3, low=1)
    dish = make_dish(service, admin, {item["id"]: 1})
    order(service, staff, table["id"], dish["id"], 2)
    order(service, staff, table["id"], dish["id"], 1)
    assert service.http.get(f"/api/menu/{dish['id']}", headers=staff).json()["available"] is False
    events = service.http.get("/api/events", headers=staff, params={"limit": 50}).json()
    mine = [e for e in events if e["entity_type"] == "inventory" and e["entity_id"] == item["id"]]
    assert [e["type"] for e in mine] == ["out_of_stock", "low_stock"]
    notes = service.http.get("/api/notifications", headers=staff, params={"unread": "true"}).json()
    note = next(n for n in notes if n["type"] == "out_of_stock" and item["name"] in n["message"])
    read = service.http.post(f"/api/notifications/{note['id']}/read", headers=staff)
    assert read.status_code == 200 and read.json()["read"] is True
    assert service.http.post(f"/api/notifications/{note['id']}/read", headers=admin).status_code == 404
    restocked = service.http.post(f"/api/inventory/{item['id']}/restock", headers=staff, json={"quantity": 10})
    assert restocked.json()["count"] == 10 and restocked.json()["status"] == "in_stock"
    assert service.http.get(f"/api/menu/{dish['id']}", headers=staff).json()["available"] is True


def test_a_shelf_created_low_or_empty_notifies_staff(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str]
) -> None:
    empty, low = make_stock(service, admin, 0), make_stock(service, admin, 2, low=5)
    full = make_stock(service, admin, 9, low=2)
    patched = service.http.patch(f"/api/inventory/{full['id']}", headers=admin, json={"low_threshold": 9})
    assert patched.json()["status"] == "low_stock"
    events = service.http.get("/api/events", headers=staff, params={"limit": 50}).json()
    raised = {(e["type"], e["entity_id"]) for e in events if e["entity_type"] == "inventory"}
    assert {("out_of_stock", empty["id"]), ("low_stock", low["id"]), ("low_stock", full["id"])} <= raised
    notes = [n["message"] for n in service.http.get("/api/notifications", headers=staff).json()]
    for item in (empty, low, full):
        assert any(item["name"] in message for message in notes), item["name"]


def test_menu_crud_and_rules(service: ServiceProcess, admin: dict[str, str], staff: dict[str, str]) -> None:
    rice = make_stock(service, admin, 10)
    dish = make_dish(service, admin, {rice["id"]: 1}, price=7.5)
    assert (
        dish["price"] == 7.5
        and dish["available"] is True
        and dish["ingredients"] == [{"inventory_id": rice["id"], "quantity": 1}]
    )
    off = service.http.patch(f"/api/menu/{dish['id']}", headers=staff, json={"available": False})
    assert off.status_code == 200 and off.json()["available"] is False and off.json()["sold_out"] is False
    assert service.http.patch(f"/api/menu/{dish['id']}", headers=staff, json={"price": 1}).status_code == 403
    renamed = service.http.patch(f"/api/menu/{dish['id']}", headers=admin, json={"price": 8, "ingredients": []})
    assert renamed.json()["price"] == 8.0 and renamed.json()["ingredients"] == []
    assert service.http.post("/api/menu", headers=admin, json={"name": "X", "price": 1.234}).status_code == 422
    bad_recipe = service.http.post(
        "/api/menu",
        headers=admin,
        json={"name": "Y", "price": 1, "ingredients": [{"inventory_id": 99999, "quantity": 1}]},
    )
    assert bad_recipe.status_code == 422 and "ingredients.0.inventory_id" in bad_recipe.json()["error"]["fields"]
    assert service.http.post("/api/menu", headers=admin, json={"name": dish["name"], "price": 1}).status_code == 409
    kiosk_view = service.http.get("/api/menu", headers=make_kiosk(service, admin, make_table(service, admin)["id"])[1])
    assert kiosk_view.status_code == 200 and any(d["id"] == dish["id"] for d in kiosk_view.json())
    assert service.http.delete(f"/api/menu/{dish['id']}", headers=admin).status_code == 204
    assert service.http.get(f"/api/menu/{dish['id']}", headers=admin).status_code == 404


def test_inventory_crud_and_rules(service: ServiceProcess, admin: dict[str, str], staff: dict[str, str]) -> None:
    item = make_stock(service, admin, 5, low=2, unit="kg")
    assert item["status"] == "in_stock" and item["unit"] == "kg"
    counted = service.http.patch(f"/api/inventory/{item['id']}", headers=staff, json={"count": 2})
    assert counted.json()["status"] == "low_stock"
    assert (
        service.http.patch(f"/api/inventory/{item['id']}", headers=staff, json={"name": "renamed"}).status_code == 403
    )
    assert service.http.patch(f"/api/inventory/{item['id']}", headers=admin, json={"count": -1}).status_code == 422
    assert (
        service.http.post(f"/api/inventory/{item['id']}/restock", headers=staff, json={"quantity": 0}).status_code
        == 422
    )
    assert service.http.post("/api/inventory/99999/restock", headers=staff, json={"quantity": 1}).status_code == 404
    used = make_dish(service, admin, {item["id"]: 1})
    refused = service.http.delete(f"/api/inventory/{item['id']}", headers=admin)
    assert refused.status_code == 409 and used["name"] in refused.json()["error"]["message"]
    service.http.delete(f"/api/menu/{used['id']}", headers=admin)
    assert service.http.delete(f"/api/inventory/{item['id']}", headers=admin).status_code == 204


def test_a_client_that_gives_up_mid_request_is_no_server_error(tmp_path: Path) -> None:
    """A tablet whose request times out on its side: the edge finishes or drops the work
    as usual, but logs no error and counts no 500 (it is 499, client closed request)."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        dish = make_dish(service, admin, {make_stock(service, admin, 1000)["id"]: 1})
        body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}

        async def impatient() -> None:
            async with httpx.AsyncClient(base_url=service.url, headers=admin, timeout=0.003) as client:
                for n in range(30):  # with a key: a lookup first, so the request is surely mid-way
                    with contextlib.suppress(httpx.TimeoutException):
                        await client.post("/api/orders", json=body, headers={"Idempotency-Key": f"gone-{n}"})

        asyncio.run(impatient())
        metrics = service.http.get("/metrics").text
        assert 'route="/api/orders",status="500"' not in metrics
        assert not [line for line in service.lines if "level=error" in line]
