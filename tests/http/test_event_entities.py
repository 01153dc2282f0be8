"""Events name their entity with the SPEC's id types: an integer for a stored row (an
order, a table, an inventory item, an emergency), the string id for a robot; the same
in `GET /api/events`, the `events` WebSocket topic's updates and its snapshot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets

from tests.http.store_setup import make_dish, make_stock, make_table
from tests.net.conftest import register
from tests.robot_client import RobotClient
from tests.service import ServiceProcess
from tests.waiting import eventually
from tests.ws_client import recv, recv_until, ws_url

pytestmark = pytest.mark.e2e


def cause_events(service: ServiceProcess, admin: dict[str, str]) -> dict[tuple[str, str], int | str]:
    """One event of each kind of entity; returns (type, entity_type) -> expected entity_id."""
    table = make_table(service, admin)
    item = make_stock(service, admin, count=1)
    dish = make_dish(service, admin, {item["id"]: 1})
    body = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
    order = service.http.post("/api/orders", headers=admin, json=body)
    assert order.status_code == 201, order.text
    called = service.http.post(f"/api/tables/{table['id']}/call-staff", headers=admin, json={"message": "here"})
    assert called.is_success, called.text
    emergency = service.http.post("/api/emergencies", headers=admin, json={"reason": "drill"})
    assert emergency.status_code == 201, emergency.text
    resolved = service.http.post(f"/api/emergencies/{emergency.json()['id']}/resolve", headers=admin)
    assert resolved.status_code == 200, resolved.text
    robot_id, token = register(service, admin)
    with RobotClient(int(service.runtime["robot_port"])) as robot:
        robot.hello(robot_id, token)
    return {
        ("order_placed", "order"): order.json()["id"],
        ("out_of_stock", "inventory"): item["id"],
        ("staff_called", "table"): table["id"],
        ("emergency", "emergency"): emergency.json()["id"],
        ("emergency_resolved", "emergency"): emergency.json()["id"],
        ("robot_online", "robot"): robot_id,
    }


def found(events: list[dict[str, Any]], expected: dict[tuple[str, str], int | str]) -> dict[tuple[str, str], Any]:
    """The entity_id of each expected (type, entity_type) event, in whatever type it came."""
    ids: dict[tuple[str, str], Any] = {}
    for event in events:
        key = (event["type"], event["entity_type"])
        if key in expected and str(event["entity_id"]) == str(expected[key]):
            ids.setdefault(key, event["entity_id"])
    return ids


def assert_typed(ids: dict[tuple[str, str], Any], expected: dict[tuple[str, str], int | str]) -> None:
    assert ids == expected
    for (_, entity_type), entity_id in ids.items():
        assert type(entity_id) is (str if entity_type == "robot" else int), (entity_type, entity_id)


def test_stored_rows_are_integers_robots_strings_everywhere(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> tuple[dict[tuple[str, str], int | str], list[dict[str, Any]]]:
        token = service.token()
        async with websockets.connect(ws_url(service.url, f"/ws/events?token={token}"), max_size=None) as ws:
            assert (await recv(ws))["type"] == "snapshot"
            expected = await asyncio.to_thread(cause_events, service, admin)
            updates: list[dict[str, Any]] = []

            def seen_all(message: dict[str, Any]) -> bool:
                updates.append(message["data"])
                return found(updates, expected).keys() == expected.keys()

            await recv_until(ws, seen_all, timeout=10)
        async with websockets.connect(ws_url(service.url, f"/ws/events?token={token}"), max_size=None) as ws:
            snapshot = await recv(ws)
        assert_typed(found(snapshot["data"], expected), expected)
        return expected, updates

    expected, updates = asyncio.run(scenario())
    assert_typed(found(updates, expected), expected)
    listed = eventually(
        lambda: (
            (events := service.http.get("/api/events", headers=admin, params={"limit": 1000}).json())
            and found(events, expected).keys() == expected.keys()
            and events
        )
    )
    assert_typed(found(listed, expected), expected)
