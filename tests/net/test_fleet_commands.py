"""Commands to the whole fleet against the real process, over TCP: the emergency stop and
its resume, a crash right after the stop's commit, and dock all."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.net.conftest import register, robot_port
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_every_robot_of_a_fleet_is_stopped_and_resumed_and_each_ack_is_its_own(
    edge: ServiceProcess, admin: dict[str, str]
) -> None:
    robots = []
    for _ in range(20):
        robot_id, token = register(edge, admin)
        client = RobotClient(robot_port(edge))
        client.hello(robot_id, token)
        robots.append((robot_id, client))
    try:
        declared = edge.http.post("/api/emergencies", headers=admin, json={"reason": "drill"})
        assert declared.status_code == 201, declared.text
        stops = {}
        for robot_id, client in robots:
            stops[robot_id] = client.read_until("command")
            client.send(type="ack", id=stops[robot_id]["id"])
        assert {frame["name"] for frame in stops.values()} == {"emergency_stop"}
        for robot_id, frame in stops.items():

            def acked(robot_id: str = robot_id, command_id: int = frame["id"]) -> bool:
                listed = edge.http.get(f"/api/robots/{robot_id}/commands", headers=admin).json()
                return any(c["id"] == command_id and c["status"] == "acked" and c["acked_at"] for c in listed)

            eventually(acked, what=f"{robot_id}'s own ack recorded")
        resolved = edge.http.post(f"/api/emergencies/{declared.json()['id']}/resolve", headers=admin)
        assert resolved.status_code == 200, resolved.text
        assert {client.read_until("command")["name"] for _, client in robots} == {"resume"}
    finally:
        for _, client in robots:
            client.close()


def test_an_edge_killed_once_the_stop_is_committed_stops_the_robot_when_it_is_back(tmp_path: Path) -> None:
    """The stop is committed as owed to each robot before anything is sent, so whatever
    became of the frames (killed before, or after, the loop wrote them), the restarted
    edge finds the emergency active and sends the robot the same stop at its hello (and
    the stop every robot linking during an emergency is sent); the resolve then resumes
    it. A stop is never sent that the database could lose."""
    service = ServiceProcess(tmp_path).start()
    try:
        admin = service.auth(service.token())
        robot_id, token = register(service, admin)
        with RobotClient(robot_port(service)) as robot:
            robot.hello(robot_id, token)
            declared = service.http.post("/api/emergencies", headers=admin, json={})
            assert declared.status_code == 201, declared.text
            first = robot.read_until("command")  # not acknowledged: the edge dies first
            service.stop(signal.SIGKILL)
        ports = {"ROBODINE_ROBOT_PORT": str(service.runtime["robot_port"])}
        service = ServiceProcess(tmp_path, service_env(tmp_path, **ports)).start()
        admin = service.auth(service.token())
        with RobotClient(robot_port(service)) as robot:
            robot.hello(robot_id, token)
            again = robot.read_until("command")
            assert again == first and again["name"] == "emergency_stop"
            arrival = robot.read_until("command")  # and, as any robot linking during an emergency, a stop of its own
            assert arrival["name"] == "emergency_stop" and arrival["id"] != first["id"]
            for frame in (again, arrival):
                robot.send(type="ack", id=frame["id"])
            listed = service.http.get("/api/emergencies", headers=admin).json()
            assert [(e["id"], e["active"]) for e in listed] == [(declared.json()["id"], True)]
            resolved = service.http.post(f"/api/emergencies/{declared.json()['id']}/resolve", headers=admin)
            assert resolved.status_code == 200, resolved.text
            assert robot.read_until("command")["name"] == "resume"
    finally:
        service.stop()


def test_dock_all_over_http_sends_the_free_albabots_to_dock(edge: ServiceProcess, admin: dict[str, str]) -> None:
    alba_id, alba_token = register(edge, admin, "albabot")
    cook_id, cook_token = register(edge, admin, "cookbot")
    with RobotClient(robot_port(edge)) as alba, RobotClient(robot_port(edge)) as cook:
        alba.hello(alba_id, alba_token)
        cook.hello(cook_id, cook_token, kind="cookbot")
        sent = edge.http.post("/api/robots/dock", headers=admin)
        assert sent.status_code == 202, sent.text
        mine = [command for command in sent.json() if command["robot_id"] in (alba_id, cook_id)]
        assert [(c["robot_id"], c["name"], c["status"]) for c in mine] == [(alba_id, "dock", "sent")]
        frame = alba.read_until("command")
        assert (frame["id"], frame["name"]) == (mine[0]["id"], "dock")
        alba.send(type="ack", id=frame["id"])
        with pytest.raises(TimeoutError):
            cook.read_until("command", timeout=0.3)
        listed = edge.http.get(f"/api/robots/{alba_id}/commands", headers=admin).json()
        assert [c["name"] for c in listed] == ["dock"]
