"""The store floor's routes held to SPEC section 2, over HTTP against the real process.

tables, customers, kiosks, menu, inventory, orders, events, notifications, settings,
emergencies and tasks: success where no other test shows it, 404, 409, and 422 for
malformed, oversized, wrong-typed and hostile input. Every refusal is checked for the
SPEC error body, and a refused change for leaving things as they were. 401 and the
role 403 of every route are walked in test_authorization_matrix.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any, cast, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from robodine_edge.http.app import route_specs
from tests.http.conftest import make_user
from tests.http.store_setup import make_dish, make_kiosk, make_stock, make_table
from tests.service import ServiceProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
FLOOR = {"tables", "customers", "kiosks", "menu", "inventory", "orders", "events", "notifications"}
FLOOR |= {"settings", "emergencies", "tasks"}
MISSING = 987654
TOO_BIG_ID = 2**63  # one past SQLite's INTEGER


def refused(response: httpx.Response, status: int, code: str, fields: set[str] | None = None) -> dict[str, Any]:
    """The SPEC error body `{"error": {"code", "message", "fields"?}}`; a 422 names
    exactly `fields`, every other refusal names none."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"} and error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if fields is None:
        assert "fields" not in error, error
    else:
        assert set(error["fields"]) == fields, error
        assert all(isinstance(why, str) and why for why in error["fields"].values()), error
    return error


def fill(value: Any, ids: dict[str, int]) -> Any:
    """`"$table"` and friends in a body become the ids of the module's store."""
    if isinstance(value, str) and value.startswith("$"):
        return ids[value[1:]]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


def state(service: ServiceProcess, admin: dict[str, str], path: str) -> Any:
    """What a refused request must leave alone (waits are estimates that tick, so out)."""
    response = service.http.get(path, headers=admin)
    assert response.status_code == 200, response.text
    rows = response.json()
    for row in rows if isinstance(rows, list) else [rows]:
        row.pop("estimated_wait_s", None)
    return rows


def place(service: ServiceProcess, headers: dict[str, str], table_id: int, dish_id: int) -> dict[str, Any]:
    body = {"table_id": table_id, "items": [{"menu_item_id": dish_id, "quantity": 1}]}
    response = service.http.post("/api/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def staff(service: ServiceProcess, admin: dict[str, str]) -> dict[str, str]:
    return make_user(service, admin, "staff")[1]


@pytest.fixture(scope="module")
def ids(service: ServiceProcess, admin: dict[str, str]) -> dict[str, int]:
    """One of everything, for the routes that act on something."""
    table = make_table(service, admin, seats=4)
    stock = make_stock(service, admin, 1000)
    dish = make_dish(service, admin, {stock["id"]: 1})
    order = place(service, admin, table["id"], dish["id"])
    return {"table": table["id"], "stock": stock["id"], "dish": dish["id"], "order": order["id"]}


@pytest.fixture(scope="module")
def kiosk(service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]) -> dict[str, str]:
    return make_kiosk(service, admin, ids["table"])[1]


# --- every name and free text refuses control characters (the shared schema layer) ---


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models(arg)


def _string_fields() -> dict[str, TypeAdapter[Any]]:
    """Every free-form string field of every floor request body, nested models included."""
    found: dict[str, TypeAdapter[Any]] = {}
    stack = [spec.body for spec in route_specs() if spec.tag in FLOOR and spec.body is not None]
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            stack.extend(_models(info.annotation))
            field = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, field))
            schema = adapter.json_schema()
            if any(s.get("type") == "string" and "enum" not in s for s in schema.get("anyOf", [schema])):
                found[f"{model.__name__}.{name}"] = adapter
    return found


STRING_FIELDS = _string_fields()


def test_the_walk_finds_the_names_and_texts() -> None:
    assert {
        "TableCreate.name",
        "TablePatch.name",
        "PartyCreate.name",
        "KioskCreate.name",
        "MenuCreate.name",
        "MenuCreate.category",
        "InventoryCreate.name",
        "InventoryCreate.unit",
        "SettingsPatch.store_name",
        "OrderLineIn.note",
        "CallBody.message",
        "EmergencyCreate.reason",
    } <= set(STRING_FIELDS)


@pytest.mark.parametrize("field", sorted(STRING_FIELDS))
@pytest.mark.parametrize("hostile", ["a\x00b", "\x1b[2J", "del\x7f", "c1\x85"], ids=repr)
def test_every_string_field_refuses_control_characters(field: str, hostile: str) -> None:
    adapter = STRING_FIELDS[field]
    assert adapter.validate_python("Zoë 🍜") == "Zoë 🍜"
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(hostile)
    assert [error["type"] for error in caught.value.errors()] == ["control_character"]


# --- 422: every body a floor route refuses, and that it changed nothing ---


def _short(body: Any) -> str:
    text = json.dumps(body)
    return text if len(text) <= 48 else text[:45] + "..."


def refusals(method: str, path: str, probe: str, cases: list[tuple[Any, str]]) -> list[Any]:
    return [
        pytest.param(method, path, body, set(fields.split()), probe, id=f"{method} {path} {_short(body)}")
        for body, fields in cases
    ]


LONG = "x" * 100_000
REFUSED = [
    *refusals(
        "POST",
        "/api/tables",
        "/api/tables",
        [
            ({"name": "T\x00", "seats": 2}, "name"),
            ({"name": "   ", "seats": 2}, "name"),
            ({"name": LONG, "seats": 2}, "name"),
            ({"name": ["T"], "seats": 2}, "name"),
            ({"name": "T", "seats": 2, "x": "1", "y": True}, "x y"),
            ({"name": "T", "seats": 2, "x": 10_001, "height": 1_001}, "x height"),
        ],
    ),
    *refusals(
        "PATCH",
        "/api/tables/{table}",
        "/api/tables/{table}",
        [
            ({"seats": -1}, "seats"),
            ({"seats": 0}, "seats"),
            ({"seats": 51}, "seats"),
            ({"seats": "4"}, "seats"),
            ({"seats": True}, "seats"),
            ({"seats": 4.5}, "seats"),
            ({"seats": [4]}, "seats"),
            ({"x": "1.5"}, "x"),
            ({"x": False}, "x"),
            ({"x": 1e9, "y": -1e9}, "x y"),
            ({"width": 0}, "width"),
            ({"width": -1.5, "height": 0}, "width height"),
            ({"height": {"m": 1}}, "height"),
            ({"name": ""}, "name"),
            ({"name": "x" * 65}, "name"),
            ({"name": 5}, "name"),
            ({"name": "line\nbreak"}, "name"),
            ({"status": "occupied"}, "status"),
            ({"seats": 6, "colour": "red"}, "colour"),
        ],
    ),
    *refusals(
        "POST",
        "/api/tables/{table}/status",
        "/api/tables/{table}",
        [({"status": 1}, "status"), ({"status": "RESERVED"}, "status"), ({"status": None}, "status"), ({}, "status")],
    ),
    *refusals(
        "POST",
        "/api/tables/{table}/seat",
        "/api/tables/{table}",
        [
            ({"customer_id": 0}, "customer_id"),
            ({"customer_id": "1"}, "customer_id"),
            ({"customer_id": True}, "customer_id"),
            ({"customer_id": 1.5}, "customer_id"),
            ({"customer_id": TOO_BIG_ID}, "customer_id"),
            ({}, "customer_id"),
        ],
    ),
    *refusals(
        "POST",
        "/api/tables/{table}/presence",
        "/api/tables/{table}",
        [
            ({"present": 1}, "present"),
            ({"present": "true"}, "present"),
            ({"present": None}, "present"),
            ({"present": True, "reliability": 100.5}, "reliability"),
            ({"present": True, "reliability": -1}, "reliability"),
            ({"present": True, "reliability": "90"}, "reliability"),
        ],
    ),
    *refusals(
        "POST",
        "/api/tables/{table}/call-staff",
        "/api/events?type=staff_called",
        [
            ({"message": "x" * 201}, "message"),
            ({"message": 5}, "message"),
            ({"message": ["water"]}, "message"),
            ({"message": "help\x00"}, "message"),
            ({"msg": "water"}, "msg"),
        ],
    ),
    *refusals(
        "POST",
        "/api/customers",
        "/api/customers",
        [
            ({"party_size": 2, "name": "x" * 65}, "name"),
            ({"party_size": 2, "name": LONG}, "name"),
            ({"party_size": 2, "name": 5}, "name"),
            ({"party_size": 2, "name": {"first": "Ana"}}, "name"),
            ({"party_size": 2, "name": ""}, "name"),
            ({"party_size": 2, "name": " "}, "name"),
            ({"party_size": 2, "name": "Ana\x00"}, "name"),
            ({"party_size": 2, "name": "Ana\r\n"}, "name"),
            ({"party_size": 2, "vip": True}, "vip"),
            ({"party_size": True}, "party_size"),
            ({"party_size": 2.5}, "party_size"),
            ({"party_size": "2"}, "party_size"),
            ({"party_size": 0}, "party_size"),
            ({"party_size": -3}, "party_size"),
            ({"party_size": 51}, "party_size"),
            ({"party_size": None}, "party_size"),
            ({"name": "Ana"}, "party_size"),
        ],
    ),
    *refusals(
        "POST",
        "/api/kiosks",
        "/api/kiosks",
        [
            ({"table_id": "$table", "name": ""}, "name"),
            ({"table_id": "$table", "name": 1}, "name"),
            ({"table_id": "$table", "name": "x" * 65}, "name"),
            ({"table_id": "$table", "name": "tab\x1b[31m"}, "name"),
            ({"table_id": 0}, "table_id"),
            ({"table_id": True}, "table_id"),
            ({"table_id": None}, "table_id"),
            ({"table_id": 2**64 - 1}, "table_id"),
            ({}, "table_id"),
            ({"table_id": "$table", "role": "admin"}, "role"),
        ],
    ),
    *refusals(
        "POST",
        "/api/menu",
        "/api/menu",
        [
            ({"name": "soup\u0085", "price": 1}, "name"),
            ({"name": "soup", "price": 1, "category": "main\n"}, "category"),
            ({"name": "soup", "price": 1, "category": "x" * 33}, "category"),
            ({"name": "soup"}, "price"),
            ({"name": "soup", "price": "1"}, "price"),
            ({"name": "soup", "price": True}, "price"),
            ({"name": "soup", "price": 1, "prepare_time_s": 1.5}, "prepare_time_s"),
            ({"name": "soup", "price": 1, "position": -1}, "position"),
            ({"name": "soup", "price": 1, "position": "3"}, "position"),
            ({"name": "soup", "price": 1, "position": 10**10}, "position"),
            ({"name": "soup", "price": 1, "ingredients": {"inventory_id": 1}}, "ingredients"),
            ({"name": "soup", "price": 1, "ingredients": [[1, 2]]}, "ingredients.0"),
            (
                {"name": "soup", "price": 1, "ingredients": [{"inventory_id": TOO_BIG_ID, "quantity": 1}]},
                "ingredients.0.inventory_id",
            ),
            (
                {"name": "soup", "price": 1, "ingredients": [{"inventory_id": "$stock", "quantity": True}]},
                "ingredients.0.quantity",
            ),
        ],
    ),
    *refusals(
        "PATCH",
        "/api/menu/{dish}",
        "/api/menu/{dish}",
        [
            ({"price": "2"}, "price"),
            ({"price": -1}, "price"),
            ({"price": 2.345}, "price"),
            ({"price": 1_000_000}, "price"),
            ({"available": "false"}, "available"),
            ({"available": 0}, "available"),
            ({"name": ""}, "name"),
            ({"name": "x" * 65}, "name"),
            ({"category": ""}, "category"),
            ({"prepare_time_s": -1}, "prepare_time_s"),
            ({"prepare_time_s": 10**6}, "prepare_time_s"),
            ({"position": 1.5}, "position"),
            ({"position": None}, "position"),
            ({"ingredients": [{"inventory_id": "$stock", "quantity": 0}]}, "ingredients.0.quantity"),
            (
                {"ingredients": [{"inventory_id": "$stock", "quantity": 1}, {"inventory_id": "$stock", "quantity": 2}]},
                "ingredients.1.inventory_id",
            ),
            ({"ingredients": [{"inventory_id": MISSING, "quantity": 1}]}, "ingredients.0.inventory_id"),
            ({"sold_out": True}, "sold_out"),
        ],
    ),
    *refusals(
        "POST",
        "/api/inventory",
        "/api/inventory",
        [
            ({}, "name"),
            ({"name": "egg\x7f"}, "name"),
            ({"name": "egg", "unit": "g\t"}, "unit"),
            ({"name": "egg", "unit": ""}, "unit"),
            ({"name": "egg", "unit": "x" * 17}, "unit"),
            ({"name": "egg", "count": "1"}, "count"),
            ({"name": "egg", "count": -1}, "count"),
            ({"name": "egg", "count": True}, "count"),
            ({"name": "egg", "count": 10**8}, "count"),
            ({"name": "egg", "status": "in_stock"}, "status"),
        ],
    ),
    *refusals(
        "PATCH",
        "/api/inventory/{stock}",
        "/api/inventory/{stock}",
        [
            ({"count": True}, "count"),
            ({"count": -1}, "count"),
            ({"count": 1.5}, "count"),
            ({"max_count": -1}, "max_count"),
            ({"low_threshold": 1.5}, "low_threshold"),
            ({"unit": "x" * 17}, "unit"),
            ({"name": "egg\x00"}, "name"),
        ],
    ),
    *refusals(
        "POST",
        "/api/inventory/{stock}/restock",
        "/api/inventory/{stock}",
        [
            ({"quantity": 0}, "quantity"),
            ({"quantity": -3}, "quantity"),
            ({"quantity": 10_000_001}, "quantity"),
            ({"quantity": 2**64}, "quantity"),
            ({"quantity": "5"}, "quantity"),
            ({"quantity": 5.5}, "quantity"),
            ({"quantity": True}, "quantity"),
            ({"quantity": None}, "quantity"),
            ({"quantity": [5]}, "quantity"),
            ({}, "quantity"),
            ({"quantity": 5, "note": "delivery"}, "note"),
        ],
    ),
    *refusals(
        "POST",
        "/api/orders",
        "/api/orders",
        [
            ({"table_id": TOO_BIG_ID, "items": [{"menu_item_id": "$dish", "quantity": 1}]}, "table_id"),
            ({"table_id": "$table", "items": [{"menu_item_id": TOO_BIG_ID, "quantity": 1}]}, "items.0.menu_item_id"),
            ({"table_id": "$table", "items": [{"menu_item_id": True, "quantity": 1}]}, "items.0.menu_item_id"),
            ({"table_id": "$table", "items": [{"menu_item_id": "$dish", "quantity": "1"}]}, "items.0.quantity"),
            ({"table_id": "$table", "items": [{"menu_item_id": "$dish", "quantity": 51}]}, "items.0.quantity"),
            ({"table_id": "$table", "items": [["$dish", 1]]}, "items.0"),
            ({"table_id": "$table", "items": [{"menu_item_id": "$dish", "quantity": 1}] * 51}, "items"),
            (
                {"table_id": "$table", "items": [{"menu_item_id": "$dish", "quantity": 1, "note": "\x00"}]},
                "items.0.note",
            ),
        ],
    ),
    *refusals(
        "POST",
        "/api/orders/{order}/status",
        "/api/orders/{order}",
        [
            ({"status": "bogus"}, "status"),
            ({"status": "COOKING"}, "status"),
            ({"status": 1}, "status"),
            ({"status": None}, "status"),
            ({}, "status"),
            ({"status": "cooking", "by": "me"}, "by"),
        ],
    ),
    *refusals(
        "POST",
        "/api/orders/{order}/priority",
        "/api/orders/{order}",
        [
            ({"priority": 101}, "priority"),
            ({"priority": -101}, "priority"),
            ({"priority": "5"}, "priority"),
            ({"priority": 5.5}, "priority"),
            ({"priority": True}, "priority"),
            ({"priority": None}, "priority"),
            ({}, "priority"),
            ({"priority": 5, "urgent": True}, "urgent"),
        ],
    ),
    *refusals(
        "POST",
        "/api/emergencies",
        "/api/emergencies",
        [
            ({"reason": 5}, "reason"),
            ({"reason": ["fire"]}, "reason"),
            ({"reason": "x" * 201}, "reason"),
            ({"reason": "fire\x1b"}, "reason"),
            ({"why": "fire"}, "why"),
        ],
    ),
    *refusals(
        "PATCH",
        "/api/settings",
        "/api/settings",
        [
            ({"battery_low": 80}, "body"),  # not below battery_resume (80): the pair is wrong
            ({"battery_low": 85, "battery_resume": 80}, "body"),
            ({"battery_resume": 10}, "body"),
            ({"battery_low": -1}, "battery_low"),
            ({"battery_resume": 100.5}, "battery_resume"),
            ({"battery_low": "10"}, "battery_low"),
            ({"battery_low": True}, "battery_low"),
            ({"cleaning_s": -1}, "cleaning_s"),
            ({"cleaning_s": "30"}, "cleaning_s"),
            ({"cleaning_s": 30.5}, "cleaning_s"),
            ({"stuck_timeout_s": -5}, "stuck_timeout_s"),
            ({"stuck_timeout_s": 5}, "stuck_timeout_s"),
            ({"average_dining_s": 0}, "average_dining_s"),
            ({"average_dining_s": 10**9}, "average_dining_s"),
            ({"max_task_attempts": 0}, "max_task_attempts"),
            ({"max_task_attempts": True}, "max_task_attempts"),
            ({"max_task_attempts": "3"}, "max_task_attempts"),
            ({"party_waiting_long_s": -1}, "party_waiting_long_s"),
            ({"party_waiting_long_s": 30.5}, "party_waiting_long_s"),
            ({"party_overstay_s": "3600"}, "party_overstay_s"),
            ({"party_overstay_s": 8 * 86400}, "party_overstay_s"),
            ({"kitchen_pass": {"x": "1", "y": "2"}}, "kitchen_pass.x kitchen_pass.y"),
            ({"kitchen_pass": {"x": True, "y": 1}}, "kitchen_pass.x"),
            ({"kitchen_pass": {"x": 1e9, "y": 0}}, "kitchen_pass.x"),
            ({"kitchen_pass": {"x": 1, "y": 2, "z": 3}}, "kitchen_pass.z"),
            ({"kitchen_pass": [1, 2]}, "kitchen_pass"),
            ({"store_name": "x" * 129}, "store_name"),
            ({"store_name": "Robo\x00dine"}, "store_name"),
            ({"alert_levels": "error"}, "alert_levels"),
            ({"alert_levels": [1]}, "alert_levels.0"),
            ({"opening_hours": {"mon": "10:00-12:00"}}, "opening_hours.mon"),
            ({"opening_hours": ["mon"]}, "opening_hours"),
            ({"opening_hours": {"mon": ["12:00-10:00"]}}, "opening_hours"),
            ({"theme": "dark"}, "theme"),
        ],
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "fields", "probe"), REFUSED)
def test_refused_bodies_are_422_and_change_nothing(
    service: ServiceProcess,
    admin: dict[str, str],
    ids: dict[str, int],
    method: str,
    path: str,
    body: Any,
    fields: set[str],
    probe: str,
) -> None:
    before = state(service, admin, probe.format(**ids))
    response = service.http.request(method, path.format(**ids), headers=admin, json=fill(body, ids))
    refused(response, 422, "validation_error", fields)
    assert state(service, admin, probe.format(**ids)) == before


# --- malformed bodies: what every route with a body answers, before it reads a field ---

BODY_ROUTES = [
    ("POST", "/api/tables", "/api/tables", "name"),
    ("PATCH", "/api/tables/{table}", "/api/tables/{table}", "seats"),
    ("POST", "/api/tables/{table}/seat", "/api/tables/{table}", "customer_id"),
    ("POST", "/api/tables/{table}/status", "/api/tables/{table}", "status"),
    ("POST", "/api/tables/{table}/presence", "/api/tables/{table}", "present"),
    ("POST", "/api/tables/{table}/call-staff", "/api/events?type=staff_called", "message"),
    ("POST", "/api/customers", "/api/customers", "party_size"),
    ("POST", "/api/kiosks", "/api/kiosks", "table_id"),
    ("POST", "/api/menu", "/api/menu", "name"),
    ("PATCH", "/api/menu/{dish}", "/api/menu/{dish}", "price"),
    ("POST", "/api/inventory", "/api/inventory", "name"),
    ("PATCH", "/api/inventory/{stock}", "/api/inventory/{stock}", "count"),
    ("POST", "/api/inventory/{stock}/restock", "/api/inventory/{stock}", "quantity"),
    ("POST", "/api/orders", "/api/orders", "items"),
    ("POST", "/api/orders/{order}/status", "/api/orders/{order}", "status"),
    ("POST", "/api/orders/{order}/priority", "/api/orders/{order}", "priority"),
    ("POST", "/api/emergencies", "/api/emergencies", "reason"),
    ("PATCH", "/api/settings", "/api/settings", "kitchen_pass"),
]
NOT_AN_OBJECT = [b"[]", b'[{"name": "T", "seats": 2}]', b'"text"', b"null", b"42", b"true"]
NOT_JSON = [
    b"{",
    b'{"a": 1,}',
    b"[" * 2000 + b"]" * 2000,  # deeper than the parser goes
    b'{"a": ' * 2000 + b"1" + b"}" * 2000,
    b'{"name": "\\ud800"}',  # a lone surrogate
    b'{"seats": 1e400}',
    b"\xff\xfe{}",
]


@pytest.mark.parametrize(("method", "path", "probe", "field"), BODY_ROUTES, ids=lambda v: str(v))
def test_malformed_bodies_are_400_or_422_and_change_nothing(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int], method: str, path: str, probe: str, field: str
) -> None:
    url, json_type = path.format(**ids), {**admin, "content-type": "application/json"}
    before = state(service, admin, probe.format(**ids))
    for raw in NOT_AN_OBJECT:
        response = service.http.request(method, url, headers=json_type, content=raw)
        assert refused(response, 422, "validation_error", {"body"})["fields"]["body"] == "expected a JSON object"
    for raw in NOT_JSON:
        refused(service.http.request(method, url, headers=json_type, content=raw), 400, "bad_request")
    empty = refused(service.http.request(method, url, headers=json_type, content=b""), 400, "bad_request")
    assert "empty" in empty["message"], "declared JSON, sent nothing: not JSON, not a body with fields missing"
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        sent = service.http.request(method, url, headers={**admin, "content-type": content_type}, content=b"{}")
        refused(sent, 400, "bad_request")
    nested = b'{"%s": %s1%s}' % (field.encode(), b"[" * 500, b"]" * 500)
    error = service.http.request(method, url, headers=json_type, content=nested).json()["error"]
    assert error["code"] == "validation_error", error
    assert any(key == field or key.startswith(f"{field}.") for key in error["fields"]), error
    assert state(service, admin, probe.format(**ids)) == before


def test_a_json_number_without_a_fraction_is_an_integer(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]
) -> None:
    """JSON has one number type, and JSON Schema's `integer` (what /openapi.json says) is
    any number without a fraction: `4.0` and `4e0` are 4, nested ones too (Python's json
    writes a float that holds 4 as `4.0`). `4.5` and `"4"` stay refused (REFUSED above)."""
    json_type = {**admin, "content-type": "application/json"}
    for raw in (b'{"seats": 3.0}', b'{"seats": 3e0}'):
        patched = service.http.patch(f"/api/tables/{ids['table']}", headers=json_type, content=raw)
        assert patched.status_code == 200 and patched.json()["seats"] == 3, patched.text
    raw = b'{"table_id": %d.0, "items": [{"menu_item_id": %d.0, "quantity": 2.0}]}' % (ids["table"], ids["dish"])
    order = service.http.post("/api/orders", headers=json_type, content=raw)
    assert order.status_code == 201, order.text
    assert order.json()["items"][0]["quantity"] == 2 and isinstance(order.json()["items"][0]["quantity"], int)
    assert order.json()["table_id"] == ids["table"]
    past = service.http.patch(f"/api/tables/{ids['table']}", headers=json_type, content=b'{"seats": 1e19}')
    refused(past, 422, "validation_error", {"seats"})


def test_an_action_without_a_body_refuses_malformed_json_and_changes_nothing(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]
) -> None:
    """Routes that take no body ignore an empty one or any JSON, but `{bad` is 400
    `bad_request` (SPEC: malformed JSON), and the action is not taken."""
    party = service.http.post("/api/customers", headers=admin, json={"party_size": 1}).json()
    assert party["status"] == "seated", party
    table, order = f"/api/tables/{party['table_id']}", place(service, admin, ids["table"], ids["dish"])
    actions = {
        f"{table}/release": table,
        f"/api/orders/{order['id']}/cancel": f"/api/orders/{order['id']}",
        f"/api/customers/{party['id']}/leave": f"/api/customers/{party['id']}",
    }
    json_type = {**admin, "content-type": "application/json"}
    for url, probe in actions.items():
        before = state(service, admin, probe)
        for raw in (b"{bad", *NOT_JSON):
            refused(service.http.post(url, headers=json_type, content=raw), 400, "bad_request")
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            sent = service.http.post(url, headers={**admin, "content-type": content_type}, content=b"{bad")
            refused(sent, 400, "bad_request")
        refused(service.http.post(url, headers=admin, content=b"{bad"), 400, "bad_request")
        assert state(service, admin, probe) == before, url
    released = service.http.post(f"{table}/release", headers=json_type, content=b'{"ignored": [1, 2]}')
    assert released.status_code == 200 and released.json()["status"] == "cleaning", released.text
    cleaned = service.http.post(f"{table}/cleaned", headers=json_type, content=b"")
    assert cleaned.status_code == 200, cleaned.text
    cancelled = service.http.post(f"/api/orders/{order['id']}/cancel", headers=admin, content=b"[]")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text


# --- 422: query strings ---

REFUSED_QUERIES = [
    ("/api/events", {"level": "loud"}, "level"),
    ("/api/events", {"level": "ERROR"}, "level"),
    ("/api/events", {"level": "1"}, "level"),
    ("/api/events", {"since": "garbage"}, "since"),
    ("/api/events", {"since": "yesterday"}, "since"),
    ("/api/events", {"since": "2020-13-45T00:00:00Z"}, "since"),
    ("/api/events", {"since": "1e10"}, "since"),
    ("/api/events", {"since": "\x00"}, "since"),
    ("/api/events", {"limit": "0"}, "limit"),
    ("/api/events", {"limit": "abc"}, "limit"),
    ("/api/events", {"limit": "1001"}, "limit"),
    ("/api/events", {"before": "0"}, "before"),
    ("/api/events", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/events", {"type": "x" * 65}, "type"),
    ("/api/orders", {"status": "bogus"}, "status"),
    ("/api/orders", {"table_id": "abc"}, "table_id"),
    ("/api/orders", {"table_id": "0"}, "table_id"),
    ("/api/orders", {"table_id": str(TOO_BIG_ID)}, "table_id"),
    ("/api/orders", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/tasks", {"state": "bogus"}, "state"),
    ("/api/tasks", {"order_id": "0"}, "order_id"),
    ("/api/tasks", {"order_id": str(TOO_BIG_ID)}, "order_id"),
    ("/api/tasks", {"limit": "0"}, "limit"),
    ("/api/notifications", {"unread": "maybe"}, "unread"),
    ("/api/notifications", {"limit": "-1"}, "limit"),
    ("/api/notifications", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/customers", {"status": "gone"}, "status"),
    ("/api/customers", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/kiosks", {"limit": "0"}, "limit"),
    ("/api/kiosks", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/emergencies", {"before": "0"}, "before"),
    ("/api/emergencies", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/menu", {"category": "x" * 33}, "category"),
    ("/api/menu", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/menu", {"order": "alphabetical"}, "order"),
    ("/api/tables", {"limit": "1001"}, "limit"),
    ("/api/tables", {"before": str(TOO_BIG_ID)}, "before"),
    ("/api/inventory", {"before": "-1"}, "before"),
    ("/api/inventory", {"before": str(TOO_BIG_ID)}, "before"),
]


@pytest.mark.parametrize(("path", "params", "field"), REFUSED_QUERIES, ids=lambda v: str(v)[:40])
def test_refused_queries_are_422(
    service: ServiceProcess, admin: dict[str, str], path: str, params: dict[str, str], field: str
) -> None:
    refused(service.http.get(path, headers=admin, params=params), 422, "validation_error", {field})


def test_the_largest_id_is_still_an_id(service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]) -> None:
    newest = service.http.get("/api/orders", headers=admin, params={"before": str(TOO_BIG_ID - 1), "limit": 1})
    assert newest.status_code == 200 and [o["id"] for o in newest.json()] == [
        service.http.get("/api/orders", headers=admin, params={"limit": 1}).json()[0]["id"]
    ]
    seat = service.http.post(f"/api/tables/{ids['table']}/seat", headers=admin, json={"customer_id": TOO_BIG_ID - 1})
    refused(seat, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    ["/api/orders/{}", "/api/customers/{}", "/api/kiosks/{}", "/api/emergencies/{}", "/api/users/{}",
     "/api/tables/{}", "/api/menu/{}", "/api/inventory/{}"],
)  # fmt: skip
def test_a_path_id_past_sqlite_is_404(service: ServiceProcess, admin: dict[str, str], path: str) -> None:
    refused(service.http.get(path.format(TOO_BIG_ID), headers=admin), 404, "not_found")


# --- 404 ---

UNKNOWN = [
    ("POST", f"/api/tables/{MISSING}/status", {"status": "reserved"}),
    ("POST", f"/api/tables/{MISSING}/call-staff", {"message": "water"}),
    ("POST", f"/api/tables/{MISSING}/seat", {"customer_id": 1}),
    ("POST", "/api/tables/{table}/seat", {"customer_id": MISSING}),
    ("GET", f"/api/customers/{MISSING}", None),
    ("POST", f"/api/customers/{MISSING}/leave", None),
    ("GET", f"/api/kiosks/{MISSING}", None),
    ("DELETE", f"/api/kiosks/{MISSING}", None),
    ("GET", f"/api/menu/{MISSING}", None),
    ("PATCH", f"/api/menu/{MISSING}", {"available": False}),
    ("DELETE", f"/api/menu/{MISSING}", None),
    ("GET", f"/api/inventory/{MISSING}", None),
    ("PATCH", f"/api/inventory/{MISSING}", {"count": 1}),
    ("DELETE", f"/api/inventory/{MISSING}", None),
    ("POST", f"/api/inventory/{MISSING}/restock", {"quantity": 1}),
    ("GET", f"/api/orders/{MISSING}", None),
    ("POST", f"/api/orders/{MISSING}/cancel", None),
    ("POST", f"/api/orders/{MISSING}/status", {"status": "cooking"}),
    ("POST", f"/api/orders/{MISSING}/priority", {"priority": 5}),
    ("POST", f"/api/orders/{MISSING}/retry", None),
    ("POST", f"/api/notifications/{MISSING}/read", None),
    ("GET", f"/api/emergencies/{MISSING}", None),
    ("POST", f"/api/emergencies/{MISSING}/resolve", None),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN, ids=lambda v: str(v))
def test_unknown_ids_are_404(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int], method: str, path: str, body: Any
) -> None:
    response = service.http.request(method, path.format(**ids), headers=admin, json=body)
    refused(response, 404, "not_found")


def test_staff_calling_to_a_missing_table_writes_no_event(service: ServiceProcess, staff: dict[str, str]) -> None:
    before = service.http.get("/api/events", headers=staff, params={"type": "staff_called"}).json()
    refused(service.http.post(f"/api/tables/{MISSING}/call-staff", headers=staff, json={}), 404, "not_found")
    assert service.http.get("/api/events", headers=staff, params={"type": "staff_called"}).json() == before


# --- successes no other test shows ---


def test_priority_bumps_an_order_and_its_open_tasks(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], ids: dict[str, int]
) -> None:
    order = place(service, staff, ids["table"], ids["dish"])
    for priority in (7, 100, -100):
        bumped = service.http.post(f"/api/orders/{order['id']}/priority", headers=staff, json={"priority": priority})
        assert bumped.status_code == 200, bumped.text
        assert bumped.json() == {**order, "priority": priority, "updated_at": bumped.json()["updated_at"]}
        assert service.http.get(f"/api/orders/{order['id']}", headers=staff).json()["priority"] == priority

        def tasks_bumped(priority: int = priority) -> bool:  # the dispatcher hears of it by a tell
            tasks = service.http.get("/api/tasks", headers=staff, params={"order_id": order["id"]}).json()
            return bool(tasks) and {(t["state"], t["priority"]) for t in tasks} == {("queued", priority)}

        eventually(tasks_bumped, what=f"the order's queued task at priority {priority}")


def test_priority_is_staff_work_and_for_active_orders_only(
    service: ServiceProcess, admin: dict[str, str], kiosk: dict[str, str], ids: dict[str, int]
) -> None:
    own = place(service, kiosk, ids["table"], ids["dish"])
    denied = service.http.post(f"/api/orders/{own['id']}/priority", headers=kiosk, json={"priority": 50})
    assert refused(denied, 403, "forbidden")["message"].startswith("role ")
    cancelled = service.http.post(f"/api/orders/{own['id']}/cancel", headers=kiosk).json()
    late = service.http.post(f"/api/orders/{own['id']}/priority", headers=admin, json={"priority": 50})
    refused(late, 409, "invalid_transition")
    assert service.http.get(f"/api/orders/{own['id']}", headers=admin).json() == cancelled


def test_kiosks_are_listed_newest_first_without_passwords(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]
) -> None:
    first = make_kiosk(service, admin, ids["table"])[0]
    second = make_kiosk(service, admin, ids["table"])[0]
    listed = service.http.get("/api/kiosks", headers=admin)
    assert listed.status_code == 200
    rows = listed.json()
    assert [row["id"] for row in rows[:2]] == [second["id"], first["id"]]
    assert rows[0] == service.http.get(f"/api/kiosks/{second['id']}", headers=admin).json()
    assert all("password" not in row for row in rows)
    assert rows[0] == {key: value for key, value in second.items() if key != "password"}
    page = service.http.get("/api/kiosks", headers=admin, params={"limit": 1, "before": second["id"]}).json()
    assert [row["id"] for row in page] == [first["id"]]


def test_an_emergency_can_be_read_back(service: ServiceProcess, staff: dict[str, str]) -> None:
    declared = service.http.post("/api/emergencies", headers=staff, json={"reason": "smoke\nat the pass"})
    assert declared.status_code == 201, declared.text
    emergency = declared.json()
    try:
        read = service.http.get(f"/api/emergencies/{emergency['id']}", headers=staff)
        assert read.status_code == 200 and read.json() == emergency
        assert emergency["active"] is True and emergency["reason"] == "smoke\nat the pass"
    finally:
        resolved = service.http.post(f"/api/emergencies/{emergency['id']}/resolve", headers=staff)
    assert resolved.status_code == 200
    again = service.http.get(f"/api/emergencies/{emergency['id']}", headers=staff).json()
    assert again == resolved.json() and again["active"] is False and again["resolved_at"]


def test_unicode_names_and_multiline_notes_are_kept(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]
) -> None:
    make_table(service, admin, seats=1)  # so the party is seated, never left waiting
    party = service.http.post("/api/customers", headers=admin, json={"party_size": 1, "name": "Zoë 🍜 & 김"})
    assert party.status_code == 201 and party.json()["name"] == "Zoë 🍜 & 김"
    assert service.http.post(f"/api/customers/{party.json()['id']}/leave", headers=admin).status_code == 200
    line = {"menu_item_id": ids["dish"], "quantity": 1, "note": "no onions\r\n\textra hot"}
    order = service.http.post("/api/orders", headers=admin, json={"table_id": ids["table"], "items": [line]})
    assert order.status_code == 201 and order.json()["items"][0]["note"] == "no onions\r\n\textra hot"


def test_the_kitchen_pass_takes_metres(service: ServiceProcess, admin: dict[str, str]) -> None:
    before = service.http.get("/api/settings", headers=admin).json()
    changed = service.http.patch("/api/settings", headers=admin, json={"kitchen_pass": {"x": 1.5, "y": -2}})
    assert changed.status_code == 200 and changed.json()["kitchen_pass"] == {"x": 1.5, "y": -2.0}
    assert service.http.get("/api/settings", headers=admin).json() == changed.json()
    restored = service.http.patch("/api/settings", headers=admin, json={"kitchen_pass": before["kitchen_pass"]})
    assert restored.json() == before


# --- 409 ---


@pytest.mark.parametrize(
    ("create", "path"),
    [("tables", "/api/tables/{}"), ("inventory", "/api/inventory/{}"), ("menu", "/api/menu/{}")],
)
def test_renaming_onto_a_taken_name_is_409_and_changes_nothing(
    service: ServiceProcess, admin: dict[str, str], create: str, path: str
) -> None:
    makers = {
        "tables": lambda: make_table(service, admin),
        "inventory": lambda: make_stock(service, admin, 5),
        "menu": lambda: make_dish(service, admin, {}),
    }
    taken, mine = makers[create](), makers[create]()
    response = service.http.patch(path.format(mine["id"]), headers=admin, json={"name": taken["name"]})
    assert taken["name"] in refused(response, 409, "conflict")["message"]
    assert service.http.get(path.format(mine["id"]), headers=admin).json() == mine


def test_cleaning_a_table_that_is_not_being_cleaned_is_409(service: ServiceProcess, admin: dict[str, str]) -> None:
    table = make_table(service, admin)
    refused(service.http.post(f"/api/tables/{table['id']}/cleaned", headers=admin), 409, "invalid_transition")
    assert service.http.get(f"/api/tables/{table['id']}", headers=admin).json() == table


def test_an_empty_query_parameter_is_no_filter(
    service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]
) -> None:
    assert service.http.post(f"/api/tables/{ids['table']}/call-staff", headers=admin, json={}).status_code == 200
    everything = service.http.get("/api/events", headers=admin).json()
    assert everything and service.http.get("/api/events?level=&since=&type=", headers=admin).json() == everything


def test_a_user_bound_to_a_table_past_sqlite_is_422(service: ServiceProcess, admin: dict[str, str]) -> None:
    body = {"username": "kiosk-huge", "password": "a-good-password", "role": "kiosk", "table_id": TOO_BIG_ID}
    refused(service.http.post("/api/users", headers=admin, json=body), 422, "validation_error", {"table_id"})


# --- PATCH: a field left out keeps its value; null clears only what can be cleared ---

PATCH_TARGETS = {
    "/api/users/<user_id:int>": "/api/users/{user}",
    "/api/tables/<table_id:int>": "/api/tables/{table}",
    "/api/menu/<item_id:int>": "/api/menu/{dish}",
    "/api/inventory/<item_id:int>": "/api/inventory/{stock}",
    "/api/settings": "/api/settings",
    "/api/robots/<robot_id:str>": "/api/robots/{robot}",
    "/api/video-streams/<camera_id:str>": "/api/video-streams/{camera}",
}
PATCH_SPECS = [spec for spec in route_specs() if spec.method == "PATCH"]


def _null_cases(clearable: bool) -> list[Any]:
    return [
        pytest.param(PATCH_TARGETS[spec.path], field, id=f"{spec.path} {field}")
        for spec in PATCH_SPECS
        for field in sorted(spec.body.model_fields)  # type: ignore[union-attr]
        if (field in spec.body.NULLABLE) == clearable  # type: ignore[union-attr]
    ]


@pytest.fixture(scope="module")
def patchable(service: ServiceProcess, admin: dict[str, str], ids: dict[str, int]) -> dict[str, Any]:
    """One of everything a PATCH route changes, beyond `ids`."""
    user_id, _ = make_user(service, admin, "kiosk", table_id=ids["table"])
    robot = service.http.post(
        "/api/robots", headers=admin, json={"robot_id": "patch-arm", "kind": "cookbot", "name": "Arm", "legacy": True}
    )
    camera = service.http.post(
        "/api/video-streams",
        headers=admin,
        json={"camera_id": "patch-cam", "name": "Pass", "source": "robot", "robot_id": "patch-arm"},
    )
    assert robot.status_code == 201 and camera.status_code == 201, (robot.text, camera.text)
    return {**ids, "user": user_id, "robot": "patch-arm", "camera": "patch-cam"}


def test_every_patch_route_is_a_patch_model_and_has_a_target() -> None:
    from robodine_edge.http.schemas import PatchModel

    assert {spec.path for spec in PATCH_SPECS} == set(PATCH_TARGETS)
    assert all(spec.body is not None and issubclass(spec.body, PatchModel) for spec in PATCH_SPECS)


@pytest.mark.parametrize(("path", "field"), _null_cases(clearable=False))
def test_null_for_a_field_that_cannot_be_cleared_is_422_and_changes_nothing(
    service: ServiceProcess, admin: dict[str, str], patchable: dict[str, Any], path: str, field: str
) -> None:
    before = state(service, admin, path.format(**patchable))
    response = service.http.patch(path.format(**patchable), headers=admin, json={field: None})
    refused(response, 422, "validation_error", {field})
    assert "may not be null" in response.json()["error"]["fields"][field]
    assert state(service, admin, path.format(**patchable)) == before


@pytest.mark.parametrize(("path", "field"), _null_cases(clearable=True))
def test_null_clears_a_field_that_can_be_cleared(
    service: ServiceProcess, admin: dict[str, str], patchable: dict[str, Any], path: str, field: str
) -> None:
    target = path.format(**patchable)
    body: dict[str, Any] = {field: None}
    if field == "robot_id":  # a camera without a robot is a fixed one
        body["source"] = "fixed"
    if field == "table_id":  # only a kiosk is bound to a table
        body["role"] = "staff"
    response = service.http.patch(target, headers=admin, json=body)
    assert response.status_code == 200, response.text
    assert response.json()[field] is None and state(service, admin, target)[field] is None


# --- every list pages newest first with limit and before ---

UNPAGED = {"/api/video-streams/<camera_id:str>/recordings"}
"""Recordings carry no id to page by (`file` names them): `limit` only (docs/API.md)."""


def test_every_list_route_takes_limit_and_before() -> None:
    lists = [spec for spec in route_specs() if spec.method == "GET" and get_origin(spec.response) is list]
    assert len(lists) > 15
    for spec in lists:
        fields = spec.query.model_fields if spec.query is not None else {}
        assert "limit" in fields, spec.path
        assert ("before" in fields) != (spec.path in UNPAGED), spec.path


def test_tasks_page_newest_first(
    service: ServiceProcess, admin: dict[str, str], staff: dict[str, str], ids: dict[str, int]
) -> None:
    placed = [place(service, staff, ids["table"], ids["dish"])["id"] for _ in range(3)]

    def tasks_of(order_id: int) -> list[dict[str, Any]]:
        return service.http.get("/api/tasks", headers=staff, params={"order_id": order_id}).json()

    for order_id in placed:  # the dispatcher makes them in its own time
        eventually(partial(tasks_of, order_id))
    newest = [t["id"] for t in service.http.get("/api/tasks", headers=staff, params={"limit": 4}).json()]
    assert newest == sorted(newest, reverse=True) and len(newest) == 4
    first = service.http.get("/api/tasks?limit=2", headers=staff).json()
    after = service.http.get(f"/api/tasks?limit=2&before={first[-1]['id']}", headers=staff).json()
    assert [t["id"] for t in first + after] == newest


def test_openapi_offers_null_only_for_the_fields_that_take_it() -> None:
    from robodine_edge.http.openapi import build_openapi

    schemas = build_openapi(route_specs(), title="t", version="1")["components"]["schemas"]
    for spec in PATCH_SPECS:
        assert spec.body is not None
        properties = schemas[spec.body.__name__]["properties"]
        for name, prop in properties.items():
            offers_null = {"type": "null"} in prop.get("anyOf", [])
            assert offers_null == (name in spec.body.NULLABLE), (spec.body.__name__, name)  # type: ignore[attr-defined]


def test_every_route_is_registered_with_its_error_format_so_sanic_reads_no_handler_source() -> None:
    """Without the format given, Sanic parses each handler's source at start-up to guess
    it: a quarter of a start's CPU, for the JSON every error body is anyway."""
    from sanic import Sanic

    from robodine_edge.http.crash_hook import install_crash_hook
    from robodine_edge.http.middleware import ResponseFinisher, install_preflight
    from robodine_edge.http.routing import install
    from robodine_edge.http.ws import install_websockets
    from robodine_edge.process.metrics import Metrics

    specs = route_specs()
    app: Any = Sanic("error_formats")
    install(app, specs)
    install_websockets(app)
    install_preflight(app, specs, ResponseFinisher(Metrics(), ()))
    install_crash_hook(app)
    app.router.finalize()
    formats = {route.path: route.extra.error_format for route in app.router.routes}
    assert len(formats) > len({spec.path for spec in specs})  # the sockets and the hook too
    assert set(formats.values()) == {"json"}, {path: f for path, f in formats.items() if f != "json"}
