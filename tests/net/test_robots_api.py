"""/api/robots, /api/albabot, /api/cookbot and /api/poses against the real process."""

from __future__ import annotations

import re
import time
from functools import partial

import pytest

from tests.net.conftest import register, robot_port, udp_port
from tests.robot_client import RobotClient
from tests.service import ServiceProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_register_list_get_patch_delete(edge: ServiceProcess, admin: dict[str, str]) -> None:
    created = edge.http.post(
        "/api/robots", headers=admin, json={"robot_id": "crud-1", "kind": "cookbot", "name": "Chef"}
    )
    assert created.status_code == 201
    body = created.json()
    assert len(body["token"]) >= 40 and body["online"] is False and body["state"] == "unknown"
    assert body["kind"] == "cookbot" and body["legacy"] is False and body["pose"] is None
    listed = edge.http.get("/api/robots", headers=admin, params={"kind": "cookbot"}).json()
    assert any(r["robot_id"] == "crud-1" for r in listed) and all(r["kind"] == "cookbot" for r in listed)
    assert "token" not in edge.http.get("/api/robots/crud-1", headers=admin).json()
    patched = edge.http.patch(
        "/api/robots/crud-1",
        headers=admin,
        json={"name": "Head chef", "legacy": True, "legacy_cook_addr": "10.0.0.5:7000"},
    )
    assert (
        patched.status_code == 200
        and patched.json()["name"] == "Head chef"
        and patched.json()["legacy_cook_addr"] == "10.0.0.5:7000"
    )
    assert edge.http.get("/api/cookbot/crud-1", headers=admin).status_code == 200
    assert edge.http.get("/api/albabot/crud-1", headers=admin).status_code == 404
    assert edge.http.delete("/api/robots/crud-1", headers=admin).status_code == 204
    assert edge.http.get("/api/robots/crud-1", headers=admin).status_code == 404
    assert edge.http.delete("/api/robots/crud-1", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "albabot"}, "robot_id"),
        ({"robot_id": "has space", "kind": "albabot"}, "robot_id"),
        ({"robot_id": "x" * 65, "kind": "albabot"}, "robot_id"),
        ({"robot_id": "ok", "kind": "toaster"}, "kind"),
        ({"robot_id": "ok", "kind": "albabot", "legacy": "yes"}, "legacy"),
        ({"robot_id": "ok", "kind": "cookbot", "legacy_cook_addr": "no-port"}, "legacy_cook_addr"),
        ({"robot_id": "ok", "kind": "cookbot", "legacy_cook_addr": "host:99999"}, "legacy_cook_addr"),
    ],
)
def test_invalid_registrations_are_422(edge: ServiceProcess, admin: dict[str, str], body: dict, field: str) -> None:
    response = edge.http.post("/api/robots", headers=admin, json=body)
    assert response.status_code == 422 and field in response.json()["error"]["fields"], response.text


def test_duplicate_robot_ids_are_409(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, _ = register(edge, admin)
    again = edge.http.post("/api/robots", headers=admin, json={"robot_id": robot_id, "kind": "albabot"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_last_known_state_is_kept_while_offline_and_across_restarts(tmp_path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        robot_id, token = register(service, admin)
        with RobotClient(robot_port(service)) as robot:
            robot.hello(robot_id, token)
            robot.send(type="status", state="serving", battery=42.5, pose={"x": 6.0, "y": 2.0, "yaw": 1.5})
            robot.send(type="ping")
            eventually(lambda: service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["battery"] == 42.5)
        offline = eventually(
            lambda: (r := service.http.get(f"/api/robots/{robot_id}", headers=admin).json()) and not r["online"] and r
        )
        assert offline["state"] == "serving" and offline["pose"]["x"] == 6.0 and offline["last_seen"]
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        again = service.http.get(f"/api/robots/{robot_id}", headers=admin).json()
        assert (again["online"], again["battery"], again["pose"]["yaw"]) == (False, 42.5, 1.5)


def test_trail_and_pose_history(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)

    def posed_at(x: float) -> bool:
        return (edge.http.get(f"/api/albabot/{robot_id}", headers=admin).json()["pose"] or {}).get("x") == x

    def trail_has(x: float) -> bool:
        return any(p["x"] == x for p in edge.http.get(f"/api/albabot/{robot_id}/trail", headers=admin).json())

    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        for seq, x in enumerate((1.0, 2.0, 3.0), start=1):
            robot.telemetry(udp_port(edge), robot_id, seq, x=x, y=0.5)
            robot.send(type="ping")
            eventually(partial(posed_at, x))
            eventually(partial(trail_has, x), timeout=4)
    trail = edge.http.get(f"/api/albabot/{robot_id}/trail", headers=admin).json()
    assert [p["x"] for p in trail] == sorted((p["x"] for p in trail), reverse=True)
    assert all(p["frame"] == "world" and p["robot_id"] == robot_id for p in trail)
    limited = edge.http.get("/api/poses", headers=admin, params={"robot_id": robot_id, "limit": 1}).json()
    assert len(limited) == 1 and limited[0]["x"] == 3.0
    since = edge.http.get(
        "/api/poses", headers=admin, params={"robot_id": robot_id, "since": "2999-01-01T00:00:00Z"}
    ).json()
    assert since == []
    for bad in ({"since": "soon"}, {"limit": 5000}, {"robot_id": "bad id"}):
        assert edge.http.get("/api/poses", headers=admin, params=bad).status_code == 422


def commits(service: ServiceProcess) -> float:
    found = re.search(r"^robodine_db_commit_seconds_count (\S+)$", service.http.get("/metrics").text, re.M)
    assert found, "no commit count in /metrics"
    return float(found.group(1))


def test_telemetry_waits_for_the_fleets_next_write_and_a_history_read_has_it_written(tmp_path) -> None:
    """A robot sending telemetry at 10 Hz and pinging for 3 s: its samples (1 Hz) wait for
    the fleet's next write (`telemetry.write_every_s`, 10 s by default), so the service
    commits nothing meanwhile (it made a commit a second); reading the history writes
    them first, in one commit, and shows them."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        robot_id, token = register(service, admin)
        with RobotClient(robot_port(service)) as robot:
            robot.hello(robot_id, token)
            eventually(lambda: service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"])
            assert service.http.get("/api/poses", headers=admin).status_code == 200  # what was pending is written
            before = commits(service)
            for seq in range(1, 31):
                robot.telemetry(udp_port(service), robot_id, seq, x=float(seq), y=0.5)
                if seq % 5 == 0:
                    robot.send(type="ping")
                time.sleep(0.1)  # the robot's own pace, 10 Hz
            eventually(lambda: service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["pose"]["x"] == 30.0)
            assert commits(service) == before, "telemetry and pings were written as they came"
            trail = service.http.get(f"/api/albabot/{robot_id}/trail", headers=admin).json()
            assert commits(service) == before + 1
        assert len(trail) >= 2 and all(1.0 <= p["x"] <= 30.0 for p in trail), trail


def test_robot_routes_are_for_staff(edge: ServiceProcess, admin: dict[str, str]) -> None:
    from tests.http.conftest import make_user

    _, staff = make_user(edge, admin, "staff")
    assert edge.http.get("/api/robots", headers=staff).status_code == 200
    assert edge.http.post("/api/robots", headers=staff, json={"robot_id": "x", "kind": "albabot"}).status_code == 403
    assert edge.http.get("/api/robots").status_code == 401


def test_robot_lists_keep_registration_order_across_restarts(tmp_path) -> None:
    """Newest registered first, from the robots table's row ids, not from a name sort
    or the order robot actors happened to start in."""
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        for robot_id in ("zed", "amy", "mid"):
            created = service.http.post("/api/robots", headers=admin, json={"robot_id": robot_id, "kind": "albabot"})
            assert created.status_code == 201, created.text
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        listed = service.http.get("/api/robots", headers=admin).json()
        assert [r["robot_id"] for r in listed] == ["mid", "amy", "zed"]
        page = service.http.get("/api/albabot", headers=admin, params={"before": "amy"}).json()
        assert [r["robot_id"] for r in page] == ["zed"]
