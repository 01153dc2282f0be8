"""Legacy frames, a robot on a real pty, and the fleet simulator (mDNS itself: test_discovery)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from robodine_edge.protocol.pose import AXES
from tests.http.conftest import seed_table
from tests.legacy_robots import (
    alba_manager_send,
    albabot_report,
    camera_datagram,
    cook_manager_send,
    cookbot_report,
    face_report,
    ingredient_report,
)
from tests.net.conftest import flood_of_cook_commands, metric, offline_because, register, robot_port
from tests.robot_client import RobotClient
from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess, service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def legacy_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data_dir = tmp_path_factory.mktemp("legacy")
    seed_table(data_dir, "Window")
    with ServiceProcess(data_dir, service_env(data_dir, ROBODINE_LEGACY="1")) as running:
        yield running


def legacy_send(service: ServiceProcess, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", robot_port(service)), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
    return answer


def albabot_frame(robot_id: int, status: str = "SERVING", battery: float = 0.5) -> dict[str, object]:
    frame: dict[str, object] = {"msg_type": "Albabot", "robot_id": robot_id, "status": status, "battery_level": battery}
    for n, prefix in enumerate(("pinky_", "global_", "world_")):
        frame.update({prefix + axis: float(n + 1) for axis in AXES})
    return frame


def test_legacy_albabot_and_face_frames(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    created = legacy_edge.http.post(
        "/api/robots", headers=admin, json={"robot_id": "41", "kind": "albabot", "legacy": True}
    )
    assert created.status_code == 201
    face = {"msg_type": "Face", "table_id": 1, "history": "[]", "nowdetected": "person", "reliability": 91, "exist": 1}
    answer = legacy_send(legacy_edge, orjson.dumps(albabot_frame(41)) + orjson.dumps(face))
    assert answer == b"OK"
    robot = legacy_edge.http.get("/api/robots/41", headers=admin).json()
    assert robot["online"] is True and robot["state"] == "serving" and robot["battery"] == 50.0
    assert robot["pose"]["x"] == 3.0  # the world frame
    assert legacy_edge.http.get("/api/tables/1", headers=admin).json()["present"] is True
    stored = legacy_edge.http.get("/api/poses", headers=admin, params={"robot_id": "41"}).json()
    assert {p["frame"] for p in stored} == {"pinky", "global", "world"}  # stored before the OK
    for battery in (0.2, 0.3):  # only the battery moves: still shown before the OK, not 1 s later
        assert legacy_send(legacy_edge, orjson.dumps(albabot_frame(41, battery=battery))) == b"OK"
        assert legacy_edge.http.get("/api/robots/41", headers=admin).json()["battery"] == battery * 100


def test_legacy_cookbot_and_ingredient(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    legacy_edge.http.post(
        "/api/robots",
        headers=admin,
        json={"robot_id": "robot48", "kind": "cookbot", "legacy": True, "legacy_cook_addr": "127.0.0.1:9"},
    )
    cook: dict[str, object] = {"msg_type": "Cookbot", "robot_id": "robot48", "status": "COOKING"}
    cook.update({f"angle_{n}": n / 10 for n in range(1, 7)})
    cook.update({f"endpoint_{axis}": 0.25 for axis in AXES})
    ingredient = {"msg_type": "Ingredient", "ingredient_id": 5, **{axis: 1.0 for axis in AXES}}
    assert legacy_send(legacy_edge, orjson.dumps(cook) + b"\n" + orjson.dumps(ingredient)) == b"OK"
    joints = legacy_edge.http.get("/api/cookbot/robot48/joints", headers=admin).json()
    assert joints["joints"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] and joints["state"] == "cooking"
    eventually(lambda: legacy_edge.http.get("/api/poses", headers=admin, params={"frame": "inventory"}).json())


@pytest.mark.parametrize(
    "payload",
    [
        orjson.dumps(albabot_frame(999)),  # not registered
        b'{"msg_type": "Face", "table_id": 99, "exist": 1}',  # no such table
        b'{"msg_type": "Toaster"}',
        b'{"msg_type": "Face", "table_id": 1, "exist": 1} {"broken": ',
        b'{"msg_type": "Albabot", "robot_id": 41, "x": NaN}',  # unreadable, but legacy by its key
        orjson.dumps(albabot_frame(41)) + b"xx",
        b'{"msg_type": "Albabot"' + b" " * (2 * 1024 * 1024),  # past the 1 MiB a stream may take
        b'{"msg_type": "Albabot", "x": ' + b"[" * 100_000,
    ],
    ids=lambda payload: repr(payload[:40]),
)
def test_legacy_frames_that_cannot_apply_answer_error(legacy_edge: ServiceProcess, payload: bytes) -> None:
    assert legacy_send(legacy_edge, payload) == b"ERROR"
    assert legacy_edge.http.get("/health").json()["status"] == "ok"


def test_legacy_frames_and_answers_are_counted(legacy_edge: ServiceProcess) -> None:
    def counts() -> dict[str, float]:
        found = {
            f"frames {r}": metric(legacy_edge, f'robodine_legacy_frames_total{{result="{r}"}}')
            for r in ("ok", "not_applied", "skipped", "unreadable")
        }
        for answer in ("ok", "error"):
            found[f"answers {answer}"] = metric(legacy_edge, f'robodine_legacy_answers_total{{answer="{answer}"}}')
        return found

    before = counts()
    face = {"msg_type": "Face", "table_id": 1, "history": "[]", "nowdetected": "", "reliability": 50, "exist": 0}
    assert legacy_send(legacy_edge, orjson.dumps(face)) == b"OK"
    stopped = orjson.dumps(face) + orjson.dumps({**face, "table_id": 99}) + orjson.dumps(face)
    assert legacy_send(legacy_edge, stopped) == b"ERROR"
    assert legacy_send(legacy_edge, b'{"msg_type": "Toaster"}') == b"ERROR"
    assert {k: v - before[k] for k, v in counts().items()} == {
        "frames ok": 2, "frames not_applied": 1, "frames skipped": 1, "frames unreadable": 1,
        "answers ok": 1, "answers error": 2,
    }  # fmt: skip


def register_legacy(service: ServiceProcess, admin: dict[str, str], robot_id: str, kind: str) -> None:
    body = {"robot_id": robot_id, "kind": kind, "legacy": True}
    assert service.http.post("/api/robots", headers=admin, json=body).status_code == 201


def test_the_original_alba_manager_gets_ok_without_closing_its_side(legacy_edge: ServiceProcess) -> None:
    """The original client sends and waits up to 5 s for the answer, its side open; its
    node reports its robots one after another, so a late answer delays every robot."""
    admin = legacy_edge.auth(legacy_edge.token())
    robots = (61, 62, 63)
    for robot_id in robots:
        register_legacy(legacy_edge, admin, str(robot_id), "albabot")
    took = []
    for n in range(5):
        for robot_id in robots:
            answer, seconds = alba_manager_send(robot_port(legacy_edge), albabot_report(robot_id, "IDLE", 80, x=n))
            assert answer == "OK"
            took.append(seconds)
    assert max(took) < 1.0, f"slowest OK took {max(took):.2f} s"
    for robot_id in robots:
        robot = legacy_edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()
        assert robot["online"] is True and robot["battery"] == 80 and robot["pose"]["x"] == 400.0  # the world frame


def test_the_original_face_and_ingredient_reports_get_ok_without_closing(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    for report in (face_report(1, exist=0), ingredient_report(101), face_report(1, exist=1)):
        answer, seconds = alba_manager_send(robot_port(legacy_edge), report)
        assert answer == "OK" and seconds < 1.0
    assert legacy_edge.http.get("/api/tables/1", headers=admin).json()["present"] is True
    poses = legacy_edge.http.get("/api/poses", headers=admin, params={"frame": "inventory"}).json()
    assert any(p["ingredient_id"] == 101 and p["yaw"] == 45.0 for p in poses)


def test_the_original_cook_manager_node_with_and_without_waiting(legacy_edge: ServiceProcess) -> None:
    """Its arms' reports back to back on one connection, closed at once (no answer read),
    or (a later version) waited for with the side open."""
    admin = legacy_edge.auth(legacy_edge.token())
    for robot_id in ("robot71", "robot72"):
        register_legacy(legacy_edge, admin, robot_id, "cookbot")
    cook_manager_send(robot_port(legacy_edge), [cookbot_report("robot71", "COOKING"), cookbot_report("robot72")])

    def states() -> list[str]:
        return [legacy_edge.http.get(f"/api/robots/{r}", headers=admin).json()["state"] for r in ("robot71", "robot72")]

    eventually(lambda: states() == ["cooking", "idle"], what="both arms' reports applied")
    reports = [cookbot_report("robot71"), cookbot_report("robot72", "PICKUP")]
    answered = cook_manager_send(robot_port(legacy_edge), reports, wait_answer=True)
    assert answered is not None and answered[0] == "OK" and answered[1] < 1.0
    assert states() == ["idle", "pickup"]


def test_a_sender_with_its_side_open_is_answered_only_once_its_object_is_complete(
    legacy_edge: ServiceProcess,
) -> None:
    payload = orjson.dumps(face_report(1))
    with socket.create_connection(("127.0.0.1", robot_port(legacy_edge)), timeout=5) as sock:
        sock.sendall(payload[:20])
        sock.settimeout(0.8)  # over three quiet intervals: a half object is not answered
        with pytest.raises(TimeoutError):
            sock.recv(16)
        sock.settimeout(5)
        started = time.monotonic()
        sock.sendall(payload[20:])
        assert sock.recv(16) == b"OK" and time.monotonic() - started < 1.0
        assert sock.recv(16) == b""  # then closed


def test_a_stream_told_legacy_only_in_its_second_piece_keeps_its_first(legacy_edge: ServiceProcess) -> None:
    """The link reads a connection's first bytes until they tell a legacy stream; the
    stream's own protocol then takes over with every byte read so far, the piece that
    told it included, and answers as if the stream had come in one piece."""
    payload = orjson.dumps(face_report(1, exist=0))
    assert payload.startswith(b'{"msg_type":"Face"')
    pieces = (payload[:7], payload[7:16], payload[16:])  # {"msg_t | ype":"Fac | e",... (told by the 2nd)
    before = metric(legacy_edge, 'robodine_legacy_frames_total{result="ok"}')
    with socket.create_connection(("127.0.0.1", robot_port(legacy_edge)), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces[:2]:
            sock.sendall(piece)
            sock.settimeout(0.4)  # over a quiet interval: neither an untold prefix nor a half object is answered
            with pytest.raises(TimeoutError):
                sock.recv(16)
        sock.settimeout(5)
        sock.sendall(pieces[2])
        assert sock.recv(16) == b"OK"
        assert sock.recv(16) == b""  # then closed
    assert metric(legacy_edge, 'robodine_legacy_frames_total{result="ok"}') == before + 1


def test_a_stream_that_ends_before_it_tells_is_answered_as_legacy(legacy_edge: ServiceProcess) -> None:
    """At EOF a stream not yet told (no `msg_type` key seen, its first object unfinished)
    is taken as a legacy stream, and is unreadable: `ERROR`, not the link's NDJSON."""
    before = metric(legacy_edge, 'robodine_legacy_frames_total{result="unreadable"}')
    assert legacy_send(legacy_edge, b'{"robot_id": 41, "status": ') == b"ERROR"
    assert metric(legacy_edge, 'robodine_legacy_frames_total{result="unreadable"}') == before + 1


def test_the_original_legacy_camera_datagram(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    jpeg = b"\xff\xd8" + b"original camera " * 200 + b"\xff\xd9"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(camera_datagram(jpeg), ("127.0.0.1", int(legacy_edge.runtime["video_port"])))

    def shown() -> bool:
        shot = legacy_edge.http.get("/api/video-streams/legacy-127-0-0-1/snapshot.jpg", headers=admin)
        return shot.status_code == 200 and shot.content == jpeg

    eventually(shown, what="the legacy camera's frame")


def test_a_command_to_a_legacy_robot_is_refused_not_kept(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    register_legacy(legacy_edge, admin, "91", "albabot")
    answer = legacy_edge.http.post("/api/robots/91/commands", headers=admin, json={"name": "stop"})
    assert answer.status_code == 409 and answer.json()["error"] == {
        "code": "conflict",
        "message": "robot 91 is a legacy robot and takes no commands: it only reports its state",
    }
    assert legacy_edge.http.get("/api/robots/91/commands", headers=admin).json() == []


def test_a_registered_non_legacy_robot_is_not_fed_by_legacy_frames(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    legacy_edge.http.post("/api/robots", headers=admin, json={"robot_id": "77", "kind": "albabot"})
    assert legacy_send(legacy_edge, orjson.dumps(albabot_frame(77))) == b"ERROR"


def test_modern_robots_still_link_when_legacy_is_on(legacy_edge: ServiceProcess) -> None:
    admin = legacy_edge.auth(legacy_edge.token())
    robot_id, token = register(legacy_edge, admin)
    with RobotClient(robot_port(legacy_edge)) as robot:
        assert robot.hello(robot_id, token)["type"] == "welcome"


def test_legacy_frames_are_refused_when_legacy_is_off(edge: ServiceProcess) -> None:
    with socket.create_connection(("127.0.0.1", robot_port(edge)), timeout=5) as sock:
        sock.sendall(orjson.dumps(albabot_frame(41)))
        sock.shutdown(socket.SHUT_WR)
        reply = sock.recv(4096)
    assert orjson.loads(reply.splitlines()[0]) == {
        "type": "error",
        "code": "bad_frame",
        "message": "unknown frame type None",
    }


def test_a_robot_on_a_serial_port(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    device = os.ttyname(slave)
    env = service_env(tmp_path, ROBODINE_SERIAL=orjson.dumps([{"port": device, "baud": 115200}]).decode())
    try:
        with ServiceProcess(tmp_path, env) as service:
            admin = service.auth(service.token())
            robot_id, token = register(service, admin, "cookbot")
            robot = RobotClient(fd=master)
            answer = robot.hello(robot_id, token, kind="cookbot")
            assert answer["type"] == "welcome"
            sent = service.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "stop"}).json()
            assert robot.read_until("command")["id"] == sent["id"]
            robot.send(type="ack", id=sent["id"])
            robot.send(type="status", state="idle", battery=64)
            robot.send(type="ping")
            eventually(lambda: service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["battery"] == 64)
    finally:
        os.close(master)
        os.close(slave)


def test_a_serial_port_speaks_only_the_link_protocol_when_legacy_is_on(tmp_path: Path) -> None:
    """Legacy streams end at EOF, which a serial port never sends: a legacy object there
    is just a bad frame before the hello, and the port goes on to link a robot."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    serial = orjson.dumps([{"port": os.ttyname(slave), "baud": 115200}]).decode()
    env = service_env(tmp_path, ROBODINE_SERIAL=serial, ROBODINE_LEGACY="1")
    try:
        with ServiceProcess(tmp_path, env) as service:
            admin = service.auth(service.token())
            robot_id, token = register(service, admin, "albabot")
            robot = RobotClient(fd=master)
            robot.send_raw(orjson.dumps(albabot_frame(41)) + b"\n")
            assert robot.read()["code"] == "bad_frame"  # a frame without a type
            assert robot.hello(robot_id, token)["type"] == "welcome"
            assert service.http.get("/health").json()["status"] == "ok"
    finally:
        os.close(master)
        os.close(slave)


def test_a_legacy_stream_that_never_ends_is_answered_error_after_ten_seconds(legacy_edge: ServiceProcess) -> None:
    """A legacy robot that stops half-way would hold its socket for ever."""
    with socket.create_connection(("127.0.0.1", robot_port(legacy_edge)), timeout=15) as sock:
        sock.sendall(b'{"msg_type": "Albabot", "robot_id": 41, ')
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
        assert answer == b"ERROR" and 9 < time.monotonic() - started < 14
    assert 'result="timeout"' in legacy_edge.http.get("/metrics").text


def test_a_robot_on_a_serial_port_that_reads_too_slowly_is_cut_off(tmp_path: Path) -> None:
    """A serial write that keeps moving never times out, so only the 1 MiB bound on what
    waits to be written stops a robot that reads slower than commands come."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    env = service_env(tmp_path, ROBODINE_SERIAL=orjson.dumps([{"port": os.ttyname(slave), "baud": 115200}]).decode())
    stop = threading.Event()

    def read_slowly() -> None:  # ~300 KiB/s: each frame is written well within the 2 s write timeout
        while not stop.wait(0.05):
            if select.select([master], [], [], 0)[0]:
                os.read(master, 16 * 1024)

    try:
        with ServiceProcess(tmp_path, env) as service:
            admin = service.auth(service.token())
            robot_id, token = register(service, admin, "cookbot")
            robot = RobotClient(fd=master)
            assert robot.hello(robot_id, token, kind="cookbot")["type"] == "welcome"
            reader = threading.Thread(target=read_slowly, name="slow-reader")
            reader.start()
            try:
                with robot.sending_every(0.2):
                    flood_of_cook_commands(service, admin, robot_id)
                    eventually(lambda: offline_because(service, admin, robot_id, "not reading"), timeout=10)
            finally:
                stop.set()
                reader.join()
    finally:
        os.close(master)
        os.close(slave)


def test_the_simulator_finds_the_edge_registers_and_works(tmp_path: Path) -> None:
    store = f"sim-store-{os.getpid()}"  # other tests' edges advertise on this host too
    env = service_env(tmp_path, ROBODINE_MDNS="1", ROBODINE_STORE_ID=store)
    with ServiceProcess(tmp_path, env) as service:
        simulator = subprocess.Popen(
            [EXECUTABLE, "simulate", "--albabots", "2", "--cookbots", "1", "--admin-password", ADMIN_PASSWORD,
             "--speed", "20", "--telemetry-hz", "20", "--duration", "60", "--store", store],  # found over mDNS
            env={k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            admin = service.auth(service.token())
            eventually(
                lambda: len([r for r in service.http.get("/api/robots", headers=admin).json() if r["online"]]) == 3,
                timeout=20,
                what="the simulated robots coming online",
            )
            robots = {r["robot_id"]: r for r in service.http.get("/api/robots", headers=admin).json()}
            assert set(robots) == {"sim-alba-1", "sim-alba-2", "sim-cook-1"}
            command = service.http.post(
                "/api/robots/sim-alba-1/commands", headers=admin, json={"name": "go_to", "args": {"x": 5, "y": 3}}
            ).json()
            eventually(
                lambda: (
                    service.http.get("/api/robots/sim-alba-1/commands", headers=admin).json()[0]["status"] == "done"
                ),
                timeout=20,
                what="the simulated robot finishing its go_to",
            )

            # The robot says `done` on arrival and reports where it stopped in its next status
            # frame and datagram: the pose follows the `done`, it does not come with it.
            def at_target() -> bool:
                pose = service.http.get("/api/albabot/sim-alba-1", headers=admin).json()["pose"]
                return (pose["x"], pose["y"]) == (5.0, 3.0)

            eventually(at_target, timeout=5, what="the robot's pose at (5, 3) after its done")
            assert command["id"]
        finally:
            simulator.terminate()
            assert simulator.wait(10) == 0


def test_the_simulator_given_only_the_robot_port_finds_the_api_over_mdns(tmp_path: Path) -> None:
    """SPEC 1: the API is `--api`, else the `http` port the edge advertises, else the
    configured `http.port`. Here the edge's HTTP port is a random one, so only the
    advertised one works (the configured default, 8000, is not it)."""
    env = service_env(tmp_path, ROBODINE_MDNS="1", ROBODINE_STORE_ID=f"api-store-{os.getpid()}")
    with ServiceProcess(tmp_path, env) as service:
        robot_port = service.runtime["robot_port"]
        result = subprocess.run(
            [EXECUTABLE, "simulate", "--edge", f"127.0.0.1:{robot_port}", "--admin-password", ADMIN_PASSWORD,
             "--albabots", "1", "--cookbots", "0", "--duration", "3"],
            env={k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"the edge's API: http://127.0.0.1:{service.runtime['http_port']}" in result.stderr
        admin = service.auth(service.token())
        assert [r["robot_id"] for r in service.http.get("/api/robots", headers=admin).json()] == ["sim-alba-1"]


def test_the_simulator_names_the_api_it_cannot_reach(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:  # no mDNS: the configured port is the last resort
        robot_port = service.runtime["robot_port"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}
        env.update(ROBODINE_HTTP_PORT="9", ROBODINE_CONFIG=os.devnull)
        result = subprocess.run(
            [EXECUTABLE, "simulate", "--edge", f"127.0.0.1:{robot_port}", "--admin-password", ADMIN_PASSWORD],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert "cannot reach the edge's API at http://127.0.0.1:9" in result.stderr
