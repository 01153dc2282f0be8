"""The robot TCP link against the real process: handshake, frames, liveness, commands."""

from __future__ import annotations

import time

import orjson
import pytest

from robodine_edge.net.robot_link import MAX_HELD_LINES
from robodine_edge.protocol.link import MESSAGE_KEPT, NAME_KEPT, REASON_KEPT
from tests.net.conftest import flood_of_cook_commands, metric, offline_because, register, robot_port, udp_port
from tests.robot_client import RobotClient
from tests.service import ServiceProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_handshake_and_welcome(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        welcome = robot.hello(robot_id, token, mac="aa:bb:cc", name="Alba")
        assert welcome["type"] == "welcome" and welcome["session"]
        assert welcome["heartbeat_s"] == 1.0 and welcome["udp_port"] == udp_port(edge)
        assert "video_port" in welcome
        shown = edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()
        assert shown["online"] is True and shown["name"] == "Alba"
        events = edge.http.get("/api/events", headers=admin, params={"type": "robot_online"}).json()
        assert any(e["entity_id"] == robot_id for e in events)


@pytest.mark.parametrize(
    "hello",
    [
        {"robot_id": "{robot}", "kind": "albabot", "proto": 1},  # no token
        {"robot_id": "{robot}", "kind": "albabot", "token": 42, "proto": 1},
        {"robot_id": "{robot}", "kind": "albabot", "token": "", "proto": 1},
        {"robot_id": "{robot}", "kind": "albabot", "token": "x" * 600, "proto": 1},
        {"robot_id": "has space", "kind": "albabot", "token": "{token}", "proto": 1},
        {"robot_id": "{robot}", "kind": "toaster", "token": "{token}", "proto": 1},
    ],
    ids=["no token", "token not text", "empty token", "token too long", "bad robot id", "bad kind"],
)
def test_a_hello_that_cannot_be_read_is_auth_failed_and_closes(
    edge: ServiceProcess, admin: dict[str, str], hello: dict[str, object]
) -> None:
    """SPEC 4: a hello is answered welcome or auth_failed, so a robot with a broken
    token set-up learns at once rather than reading bad_frame on an open link."""
    robot_id, token = register(edge, admin)
    fields = {k: v.format(robot=robot_id, token=token) if isinstance(v, str) else v for k, v in hello.items()}
    with RobotClient(robot_port(edge)) as robot:
        robot.send(type="hello", **fields)
        assert robot.read() == {"type": "error", "code": "auth_failed"}
        assert robot.closed_by_edge()


@pytest.mark.parametrize("case", ["wrong token", "unknown robot", "wrong kind"])
def test_auth_failure_closes_the_link(edge: ServiceProcess, admin: dict[str, str], case: str) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        if case == "wrong token":
            answer = robot.hello(robot_id, token + "x")
        elif case == "unknown robot":
            answer = robot.hello("nobody-here", token)
        else:
            answer = robot.hello(robot_id, token, kind="cookbot")
        assert answer == {"type": "error", "code": "auth_failed"}
        assert robot.closed_by_edge()
    assert edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"] is False


def test_a_refused_hello_is_in_the_event_log_as_a_system_log(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        assert robot.hello(robot_id, token + "x") == {"type": "error", "code": "auth_failed"}

    def logged() -> list[dict[str, object]]:
        found = edge.http.get("/api/events", headers=admin, params={"type": "system_log", "limit": 1000}).json()
        return [e for e in found if robot_id in str(e["message"]) and "hello refused" in str(e["message"])]

    [event] = eventually(logged, what="the warning recorded as an event")
    assert (event["level"], event["entity_type"], event["entity_id"]) == (
        "warning", "logger", "robodine_edge.net.robot_link",
    )  # fmt: skip


def test_unsupported_protocol_version(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.send(type="hello", robot_id=robot_id, kind="albabot", token=token, proto=2)
        assert robot.read()["code"] == "unsupported_proto"
        assert robot.closed_by_edge()


def test_the_first_frame_must_be_hello(edge: ServiceProcess) -> None:
    with RobotClient(robot_port(edge)) as robot:
        robot.send(type="ping")
        assert robot.read() == {"type": "error", "code": "hello_required", "message": "the first frame must be hello"}


def test_bad_frames_are_answered_and_ten_in_a_row_close_the_link(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        before = metric(edge, 'robodine_link_frames_total{result="bad_frame"}')
        for bad in (b"not json\n", b"[1,2]\n", b'{"type":"dance"}\n', b'{"type":"ack","id":"x"}\n'):
            robot.send_raw(bad)
            reply = robot.read()
            assert reply["type"] == "error" and reply["code"] == "bad_frame" and reply["message"]
        robot.send(type="ping")  # a good frame resets the count
        for _ in range(9):
            robot.send_raw(b"{{{\n")
            assert robot.read()["code"] == "bad_frame"
        robot.send(type="status", state="idle")
        for _ in range(10):
            robot.send_raw(b"\x00\xff garbage\n")
        assert robot.closed_by_edge()
    assert metric(edge, 'robodine_link_frames_total{result="bad_frame"}') >= before + 22  # and one unknown_type
    assert edge.http.get("/health").json()["status"] == "ok"


def test_an_oversized_frame_is_refused_and_the_link_goes_on(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        robot.send_raw(b'{"type":"status","state":"idle","pad":"' + b"x" * (70 * 1024) + b'"}\n')
        assert robot.read() == {"type": "error", "code": "bad_frame", "message": "frame over 64 KiB"}
        robot.send(type="status", state="serving", battery=50, pose={"x": 4, "y": 5})
        robot.send(type="ping")
        eventually(lambda: edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["state"] == "serving")
        shown = edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()
        assert shown["battery"] == 50 and shown["pose"]["x"] == 4


def test_silence_for_three_heartbeats_takes_a_robot_offline(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    staff = admin
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        started = time.monotonic()
        assert robot.closed_by_edge(timeout=6)
        silent = time.monotonic() - started
        assert 2.9 <= silent < 5.0
    eventually(lambda: not edge.http.get(f"/api/robots/{robot_id}", headers=staff).json()["online"])
    events = edge.http.get("/api/events", headers=staff, params={"type": "robot_offline"}).json()
    assert any(e["entity_id"] == robot_id and e["level"] == "warning" for e in events)
    notes = edge.http.get("/api/notifications", headers=staff).json()
    assert any(n["type"] == "robot_offline" and robot_id in n["message"] for n in notes)


def test_a_second_connection_replaces_the_first(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as first, RobotClient(robot_port(edge)) as second:
        first.hello(robot_id, token)
        second.hello(robot_id, token)
        assert first.closed_by_edge()
        assert second.session != first.session
        second.send(type="ping")
        assert edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"] is True


def test_commands_are_acked_resent_and_finished(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        sent = edge.http.post(
            f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "go_to", "args": {"x": 1, "y": 2}}
        )
        assert sent.status_code == 202 and sent.json()["status"] == "sent"
        command = robot.read_until("command")
        assert command == {"type": "command", "id": sent.json()["id"], "name": "go_to", "args": {"x": 1.0, "y": 2.0}}
        started = time.monotonic()
        again = robot.read_until("command", timeout=8, keepalive_s=0.5)
        assert again["id"] == command["id"] and 4.5 <= time.monotonic() - started < 7.5
        robot.send(type="ack", id=command["id"])
        robot.send(type="task_update", task_id=command["id"], state="started")
        robot.send(type="task_update", task_id=command["id"], state="done")
        robot.send(type="ping")
        history = eventually(
            lambda: (
                (h := edge.http.get(f"/api/robots/{robot_id}/commands", headers=admin).json())[0]["status"] == "done"
                and h
            )
        )
        assert history[0]["acked_at"] and history[0]["finished_at"]


def test_pending_commands_are_delivered_on_reconnect(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    queued = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "dock", "args": {}})
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        command = robot.read_until("command")
        assert (command["id"], command["name"]) == (queued.json()["id"], "dock")


def test_a_command_sent_but_not_acked_is_sent_again_when_the_robot_comes_back(
    edge: ServiceProcess, admin: dict[str, str]
) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        sent = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "dock", "args": {}})
        assert sent.status_code == 202 and sent.json()["status"] == "sent"
        assert robot.read_until("command")["id"] == sent.json()["id"]  # read, never acked: the link drops
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        again = robot.read_until("command")
        assert (again["id"], again["name"]) == (sent.json()["id"], "dock")  # same id: the robot de-duplicates
        robot.send(type="ack", id=again["id"])
        robot.send(type="ping")
        eventually(
            lambda: edge.http.get(f"/api/robots/{robot_id}/commands", headers=admin).json()[0]["status"] == "acked"
        )


def test_nack_and_failed_tasks_are_recorded(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        first = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "dock"}).json()
        robot.send(type="nack", id=robot.read_until("command")["id"], reason="battery too low")
        second = edge.http.post(
            f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "clean", "args": {"table_id": 3}}
        ).json()
        task = robot.read_until("command")["id"]
        robot.send(type="ack", id=task)
        robot.send(type="task_update", task_id=task, state="started")
        robot.send(type="task_update", task_id=task, state="failed", detail="mop stuck")
        robot.send(type="ping")

        def commands() -> dict[int, dict]:
            return {c["id"]: c for c in edge.http.get(f"/api/robots/{robot_id}/commands", headers=admin).json()}

        by_id = eventually(lambda: (c := commands())[second["id"]]["status"] == "failed" and c)
        assert by_id[first["id"]]["status"] == "nacked" and by_id[first["id"]]["reason"] == "battery too low"
        assert by_id[second["id"]]["reason"] == "mop stuck"


def test_long_free_text_is_kept_shortened_not_answered_bad_frame(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """SPEC section 4: a frame within 64 KiB is not refused for a long message, reason, detail or name."""
    robot_id, token = register(edge, admin)
    long = "\u00fc" * 20_000  # 40 KB of UTF-8: within the line limit
    read: list[dict] = []

    def next_frame(robot: RobotClient, kind: str) -> dict:
        while (frame := robot.read())["type"] != kind:
            read.append(frame)
        return frame

    with RobotClient(robot_port(edge)) as robot:
        assert robot.hello(robot_id, token, name=long)["type"] == "welcome"
        robot.send(type="event", code="log", level="warning", message=long)
        dock = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json={"name": "dock"}).json()
        robot.send(type="nack", id=next_frame(robot, "command")["id"], reason=long)
        clean = {"name": "clean", "args": {"table_id": 3}}
        task = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json=clean).json()
        robot.send(type="task_update", task_id=next_frame(robot, "command")["id"], state="failed", detail=long)
        robot.send_raw(b"[1]\n")  # a marker: the link answers in order, so a bad_frame for any frame above comes first
        marker = next_frame(robot, "error")
        assert marker["message"] == "a frame must be a JSON object" and not [f for f in read if f["type"] == "error"]

        def commands() -> dict[int, dict]:
            return {c["id"]: c for c in edge.http.get(f"/api/robots/{robot_id}/commands", headers=admin).json()}

        def robot_events() -> list[dict]:
            events = edge.http.get("/api/events", headers=admin, params={"type": "robot_event"}).json()
            return [e for e in events if e["entity_id"] == robot_id]

        by_id = eventually(lambda: (c := commands())[task["id"]]["status"] == "failed" and c)
        assert (by_id[dock["id"]]["status"], by_id[dock["id"]]["reason"]) == ("nacked", long[:REASON_KEPT])
        assert by_id[task["id"]]["reason"] == long[:REASON_KEPT]
        [event] = eventually(robot_events, what="the robot's event")
        assert event["message"] == f"robot {robot_id}: log: {long[:MESSAGE_KEPT]}"
        assert edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["name"] == long[:NAME_KEPT]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "fly"}, "name"),
        ({"name": "go_to", "args": {"x": 1}}, "args.y"),
        ({"name": "serve", "args": {"order_id": 1, "table_id": 2}}, "args.table"),
        ({"name": "dock", "args": {"speed": 3}}, "args.speed"),
        ({"name": "go_to", "args": [1, 2]}, "args"),
    ],
)
def test_invalid_commands_are_422(edge: ServiceProcess, admin: dict[str, str], body: dict, field: str) -> None:
    robot_id, _ = register(edge, admin)
    response = edge.http.post(f"/api/robots/{robot_id}/commands", headers=admin, json=body)
    assert response.status_code == 422 and field in response.json()["error"]["fields"], response.text
    assert edge.http.post("/api/robots/nobody/commands", headers=admin, json={"name": "dock"}).status_code == 404


def test_telemetry_updates_live_state_and_bad_sessions_are_dropped(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        accepted = metric(edge, 'robodine_telemetry_datagrams_total{result="accepted"}')
        wrong = metric(edge, 'robodine_telemetry_datagrams_total{result="bad_session"}')
        late = metric(edge, 'robodine_telemetry_datagrams_total{result="out_of_order"}')
        robot.telemetry(udp_port(edge), robot_id, 5, x=7.5, y=1.5)
        robot.telemetry(udp_port(edge), robot_id, 6, session="someone-else", x=99, y=99)
        robot.telemetry(udp_port(edge), robot_id, 4, x=88, y=88)
        eventually(lambda: metric(edge, 'robodine_telemetry_datagrams_total{result="out_of_order"}') >= late + 1)
        assert metric(edge, 'robodine_telemetry_datagrams_total{result="bad_session"}') == wrong + 1
        assert metric(edge, 'robodine_telemetry_datagrams_total{result="accepted"}') == accepted + 1
        pose = edge.http.get(f"/api/albabot/{robot_id}", headers=admin).json()["pose"]
        assert (pose["x"], pose["y"]) == (7.5, 1.5)


def test_token_rotation_ends_the_link_and_the_old_token(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        rotated = edge.http.post(f"/api/robots/{robot_id}/token", headers=admin)
        assert rotated.status_code == 200 and rotated.json()["token"] != token
        assert robot.closed_by_edge()
    with RobotClient(robot_port(edge)) as robot:
        assert robot.hello(robot_id, token)["code"] == "auth_failed"
    with RobotClient(robot_port(edge)) as robot:
        assert robot.hello(robot_id, rotated.json()["token"])["type"] == "welcome"


def test_deleting_a_robot_closes_its_link(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        assert edge.http.delete(f"/api/robots/{robot_id}", headers=admin).status_code == 204
        assert robot.closed_by_edge()
    assert edge.http.get(f"/api/robots/{robot_id}", headers=admin).status_code == 404
    with RobotClient(robot_port(edge)) as robot:
        assert robot.hello(robot_id, token)["code"] == "auth_failed"


def test_bytes_without_a_newline_are_no_heartbeat(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """SPEC 4: the robot sends a *frame* every heartbeat; a line that never ends is none."""
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        started = time.monotonic()
        with robot.sending_every(0.2, b" "):
            assert robot.closed_by_edge(timeout=6)
        assert 2.9 <= time.monotonic() - started < 5.0
    eventually(lambda: not edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"])


def test_telemetry_whose_state_is_no_word_is_dropped_and_counted(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        robot.hello(robot_id, token)
        invalid = metric(edge, 'robodine_telemetry_datagrams_total{result="invalid"}')
        accepted = metric(edge, 'robodine_telemetry_datagrams_total{result="accepted"}')
        robot.telemetry(udp_port(edge), robot_id, 1, state="DANCE PARTY", x=9, y=9)
        robot.telemetry(udp_port(edge), robot_id, 2, state="cleaning", x=3, y=4)
        eventually(lambda: metric(edge, 'robodine_telemetry_datagrams_total{result="accepted"}') >= accepted + 1)
        assert metric(edge, 'robodine_telemetry_datagrams_total{result="invalid"}') == invalid + 1
        shown = eventually(lambda: (r := edge.http.get(f"/api/robots/{robot_id}", headers=admin).json())["pose"] and r)
        assert shown["state"] == "cleaning" and (shown["pose"]["x"], shown["pose"]["y"]) == (3, 4)


LINK_RESULTS = ("ok", "hello_required", "bad_frame", "unknown_type", "too_long", "already_linked", "auth_failed")


def link_frames(edge: ServiceProcess) -> dict[str, float]:
    return {result: metric(edge, f'robodine_link_frames_total{{result="{result}"}}') for result in LINK_RESULTS}


def test_link_frames_are_counted_by_result(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """SPEC 8: frames received, and dropped by reason."""
    robot_id, token = register(edge, admin)
    before = link_frames(edge)
    with RobotClient(robot_port(edge)) as robot:
        robot.send(type="ping")
        assert robot.read()["code"] == "hello_required"
        robot.hello(robot_id, token)
        for line in (b"not json\n", b'{"type":"dance"}\n', b'{"type":"ping","pad":"' + b"x" * (70 * 1024) + b'"}\n'):
            robot.send_raw(line)
            assert robot.read()["code"] == "bad_frame"
        assert robot.hello(robot_id, token)["code"] == "already_linked"
        robot.send(type="status", state="idle")
        robot.send(type="ping")
        with RobotClient(robot_port(edge)) as intruder:
            assert intruder.hello(robot_id, token + "x")["code"] == "auth_failed"
        expected = {"ok": 3, "hello_required": 1, "bad_frame": 1, "unknown_type": 1, "too_long": 1}
        expected |= {"already_linked": 1, "auth_failed": 1}
        eventually(lambda: {k: v - before[k] for k, v in link_frames(edge).items()} == expected, what="the counts")


def test_a_robot_that_pings_but_never_reads_is_closed(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """The edge's unsent bytes to a robot are bounded (1 MiB): past that the link is cut."""
    robot_id, token = register(edge, admin, "cookbot")
    with RobotClient(robot_port(edge), rcvbuf=4096) as robot:
        robot.hello(robot_id, token, kind="cookbot")
        with robot.sending_every(0.2):  # alive, but it never reads again
            flood_of_cook_commands(edge, admin, robot_id)
            eventually(lambda: offline_because(edge, admin, robot_id, "not reading"), what="the link being cut")


def test_a_silent_robot_that_stopped_reading_still_goes_offline(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """A close waits to flush what is unsent; to a peer that never reads, that is for ever,
    unless the edge cuts the connection after a grace period."""
    robot_id, token = register(edge, admin, "cookbot")
    with RobotClient(robot_port(edge), rcvbuf=4096) as robot:
        robot.hello(robot_id, token, kind="cookbot")
        flood_of_cook_commands(edge, admin, robot_id, count=8)  # more than the kernel holds, under 1 MiB
        eventually(lambda: offline_because(edge, admin, robot_id, "3 heartbeats"), timeout=8)


def hello_line(robot_id: str, token: str) -> bytes:
    return orjson.dumps({"type": "hello", "robot_id": robot_id, "kind": "albabot", "token": token, "proto": 1}) + b"\n"


def test_frames_sent_with_the_hello_are_handled_after_the_welcome(edge: ServiceProcess, admin: dict[str, str]) -> None:
    """A robot may write hello and its first status in one go: welcome comes first, then
    the rest is taken in order (the bad line's answer follows the welcome)."""
    robot_id, token = register(edge, admin)
    with RobotClient(robot_port(edge)) as robot:
        status = orjson.dumps({"type": "status", "state": "serving", "battery": 42}) + b"\n"
        robot.send_raw(hello_line(robot_id, token) + status + b'{"type":"ping"}\nnot json\n')
        assert robot.read()["type"] == "welcome"
        assert robot.read()["code"] == "bad_frame"
        shown = eventually(
            lambda: (r := edge.http.get(f"/api/robots/{robot_id}", headers=admin).json())["battery"] and r
        )  # the fleet view may show the robot online a moment before its status
        assert (shown["online"], shown["state"], shown["battery"]) == (True, "serving", 42)


def test_what_waits_for_the_welcome_is_bounded(edge: ServiceProcess, admin: dict[str, str]) -> None:
    robot_id, token = register(edge, admin)
    before = metric(edge, 'robodine_link_frames_total{result="held_over"}')
    with RobotClient(robot_port(edge)) as robot:
        robot.send_raw(hello_line(robot_id, token) + b'{"type":"ping"}\n' * (MAX_HELD_LINES + 10))
        assert robot.read()["type"] == "welcome"
        eventually(lambda: metric(edge, 'robodine_link_frames_total{result="held_over"}') == before + 10)
        robot.send(type="status", state="cleaning")
        eventually(lambda: edge.http.get(f"/api/robots/{robot_id}", headers=admin).json()["state"] == "cleaning")
