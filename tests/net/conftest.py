"""A real service for robot-link tests: short heartbeat, robots registered through the API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.service import ServiceProcess, service_env

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("edge")
    env = service_env(data_dir, ROBODINE_ROBOTS_HEARTBEAT_S="1.0")
    with ServiceProcess(data_dir, env) as running:
        yield running


@pytest.fixture(scope="module")
def admin(edge: ServiceProcess) -> dict[str, str]:
    return edge.auth(edge.token())


def register(service: ServiceProcess, admin: dict[str, str], kind: str = "albabot", **extra: Any) -> tuple[str, str]:
    """A new robot of `kind`; returns its id and token."""
    robot_id = f"{kind[:4]}-{next(_ids)}"
    response = service.http.post("/api/robots", headers=admin, json={"robot_id": robot_id, "kind": kind, **extra})
    assert response.status_code == 201, response.text
    return robot_id, response.json()["token"]


def robot_port(service: ServiceProcess) -> int:
    return int(service.runtime["robot_port"])


def udp_port(service: ServiceProcess) -> int:
    return int(service.runtime["telemetry_port"])


def metric(service: ServiceProcess, sample: str) -> float:
    """One sample of /metrics, e.g. `robodine_telemetry_datagrams_total{result="bad_session"}`."""
    for line in service.http.get("/metrics").text.splitlines():
        if line.rsplit(" ", 1)[0] == sample:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def flood_of_cook_commands(service: ServiceProcess, admin: dict[str, str], robot_id: str, count: int = 40) -> None:
    """`count` cook commands of ~55 KiB each (50 items with long notes): ~2 MiB to send."""
    items = [{"menu_item_id": n, "quantity": 1, "note": "x" * 1000} for n in range(50)]
    for _ in range(count):
        response = service.http.post(
            f"/api/robots/{robot_id}/commands",
            headers=admin,
            json={"name": "cook", "args": {"order_id": 1, "items": items}},
        )
        assert response.status_code == 202, response.text


def offline_because(service: ServiceProcess, admin: dict[str, str], robot_id: str, reason: str) -> bool:
    """Whether the robot is offline and its last `robot_offline` event gives `reason`."""
    if service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"]:
        return False
    events = service.http.get("/api/events", headers=admin, params={"type": "robot_offline"}).json()
    return any(e["entity_id"] == robot_id and reason in e["message"] for e in events)
