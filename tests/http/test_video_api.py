"""Cameras against the real process: registration, frames over UDP, snapshot, live MJPEG,
recordings and their files, the video_streams topic, restarts and legacy cameras."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from robodine_edge.net.video import MAX_LEGACY_CAMERAS
from robodine_edge.protocol.video import encode_chunks, encode_legacy
from tests.http.conftest import make_user, unique
from tests.net.conftest import register
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually
from tests.ws_client import recv, recv_until, ws_url

pytestmark = pytest.mark.e2e


def jpeg(n: int) -> bytes:
    return b"\xff\xd8" + f"frame {n} ".encode() * 300 + b"\xff\xd9"


def send_frames(service: ServiceProcess, camera_id: str, numbers: range, fps: float = 50.0) -> list[bytes]:
    sent = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in numbers:
            for datagram in encode_chunks(camera_id, time.time(), n, jpeg(n)):
                udp.sendto(datagram, ("127.0.0.1", service.runtime["video_port"]))
            sent.append(jpeg(n))
            time.sleep(1 / fps)
    return sent


def camera(service: ServiceProcess, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    created = service.http.post("/api/video-streams", headers=admin, json={"camera_id": unique("cam-"), **body})
    assert created.status_code == 201, created.text
    return created.json()


def metric(service: ServiceProcess, name: str, result: str) -> float:
    found = re.search(rf'{name}_total\{{result="{result}"\}} ([\d.e+]+)', service.http.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


def test_registering_cameras_and_what_is_refused(service: ServiceProcess, admin: dict[str, str]) -> None:
    created = camera(service, admin, name="Kitchen pass")
    assert created == {
        "id": created["id"], "camera_id": created["camera_id"], "name": "Kitchen pass", "source": "fixed",
        "robot_id": None, "status": "inactive", "fps": 0.0, "latency_ms": None, "last_frame_at": None,
        "recording": False,
    }  # fmt: skip
    listed = service.http.get("/api/video-streams", headers=admin).json()
    assert listed[0]["camera_id"] == created["camera_id"]
    again = service.http.post("/api/video-streams", headers=admin, json={"camera_id": created["camera_id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    for body, field in [
        ({"camera_id": "no spaces"}, "camera_id"),
        ({"camera_id": "x" * 65}, "camera_id"),
        ({"camera_id": 7}, "camera_id"),
        ({"camera_id": unique("cam-"), "source": "drone"}, "source"),
        ({"camera_id": unique("cam-"), "source": "robot"}, "robot_id"),
        ({"camera_id": unique("cam-"), "source": "robot", "robot_id": "no-such-robot"}, "robot_id"),
        ({"camera_id": unique("cam-"), "robot_id": "alba-1"}, "robot_id"),
        ({"camera_id": unique("cam-"), "name": "bad\x00name"}, "name"),
    ]:
        refused = service.http.post("/api/video-streams", headers=admin, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["error"]["fields"], (body, refused.text)
    robot_id, _ = register(service, admin)
    on_robot = camera(service, admin, source="robot", robot_id=robot_id)
    assert (on_robot["source"], on_robot["robot_id"]) == ("robot", robot_id)
    patched = service.http.patch(f"/api/video-streams/{on_robot['camera_id']}", headers=admin, json={"name": "Nose"})
    assert patched.status_code == 200 and patched.json()["name"] == "Nose"
    _, staff = make_user(service, admin, "staff")
    assert service.http.post("/api/video-streams", headers=staff, json={"camera_id": unique("c")}).status_code == 403


def test_frames_make_the_camera_active_and_the_snapshot_its_latest(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    cam = camera(service, admin)["camera_id"]
    unknown_before = metric(service, "robodine_video_datagrams", "unknown_camera")
    sent = send_frames(service, cam, range(1, 21))
    send_frames(service, "not-registered", range(1, 3))

    def active() -> dict[str, Any] | None:
        view = service.http.get(f"/api/video-streams/{cam}", headers=admin).json()
        return view if view["status"] == "active" and view["fps"] > 0 else None

    view = eventually(active, what="the camera active")
    assert view["last_frame_at"].endswith("Z") and view["latency_ms"] is not None and view["latency_ms"] >= 0
    shot = service.http.get(f"/api/video-streams/{cam}/snapshot.jpg", headers=admin)
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg" and shot.content == sent[-1]
    token = admin["Authorization"].split()[1]
    by_query = httpx.get(f"{service.url}/api/video-streams/{cam}/snapshot.jpg?token={token}")
    assert by_query.status_code == 200 and by_query.content == sent[-1]
    assert httpx.get(f"{service.url}/api/video-streams/{cam}/snapshot.jpg").status_code == 401
    assert metric(service, "robodine_video_datagrams", "unknown_camera") > unknown_before
    quiet = camera(service, admin)["camera_id"]
    missing = service.http.get(f"/api/video-streams/{quiet}/snapshot.jpg", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_live_sends_each_new_frame_as_a_jpeg_part(service: ServiceProcess, admin: dict[str, str]) -> None:
    cam = camera(service, admin)["camera_id"]
    send_frames(service, cam, range(1, 3))
    eventually(lambda: service.http.get(f"/api/video-streams/{cam}/snapshot.jpg", headers=admin).status_code == 200)
    parts: list[bytes] = []
    with httpx.stream("GET", f"{service.url}/api/video-streams/{cam}/live", headers=admin, timeout=10) as live:
        assert live.status_code == 200
        assert live.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        sender = threading.Thread(target=send_frames, args=(service, cam, range(3, 30), 20.0))
        sender.start()
        buffer = b""
        for chunk in live.iter_bytes():
            buffer += chunk
            parts = re.findall(rb"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: (\d+)\r\n\r\n", buffer)
            if len(parts) >= 5:
                break
        sender.join()
    bodies = re.findall(rb"Content-Length: \d+\r\n\r\n(\xff\xd8.*?\xff\xd9)\r\n", buffer, re.S)
    assert bodies[0] == jpeg(2)  # the latest frame first
    numbers = [int(re.match(rb"\xff\xd8frame (\d+)", b).group(1)) for b in bodies]  # type: ignore[union-attr]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers  # newer each time, never repeated


def test_live_answers_at_once_for_a_quiet_camera(service: ServiceProcess, admin: dict[str, str]) -> None:
    """A viewer sees the 200 and the content type before any frame exists (a browser or
    curl would otherwise wait on a blank response), then the first frame once it comes."""
    cam = camera(service, admin)["camera_id"]
    url = f"{service.url}/api/video-streams/{cam}/live"
    with httpx.stream("GET", url, headers=admin, timeout=httpx.Timeout(10, read=3)) as live:
        assert live.status_code == 200  # no frame was ever sent: the headers came first
        assert live.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        assert service.http.get(f"/api/video-streams/{cam}/snapshot.jpg", headers=admin).status_code == 404
        sender = threading.Thread(target=send_frames, args=(service, cam, range(1, 4), 5.0))
        sender.start()
        first = b""
        for chunk in live.iter_bytes():
            first += chunk
            if b"\xff\xd9" in first:
                break
        sender.join()
    assert first.startswith(b"--frame\r\nContent-Type: image/jpeg\r\n") and jpeg(1) in first


def test_recordings_are_files_of_the_frames_served_under_videos(service: ServiceProcess, admin: dict[str, str]) -> None:
    cam = camera(service, admin)["camera_id"]
    started = service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin)
    assert started.status_code == 200 and started.json()["recording"] is True
    twice = service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin)
    assert twice.status_code == 409
    sent = send_frames(service, cam, range(1, 11))
    eventually(lambda: service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()[0]["bytes"]
               == sum(map(len, sent)), what="every frame written")  # fmt: skip
    stopped = service.http.post(f"/api/video-streams/{cam}/recordings/stop", headers=admin)
    assert stopped.status_code == 200 and stopped.json()["recording"] is False
    assert service.http.post(f"/api/video-streams/{cam}/recordings/stop", headers=admin).status_code == 409
    [recording] = service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()
    assert recording["file"].startswith(f"{cam}/") and recording["file"].endswith(".mjpeg")
    assert recording["ended_at"] >= recording["started_at"] and recording["bytes"] == sum(map(len, sent))
    video = service.http.get(f"/videos/{recording['file']}", headers=admin)
    assert video.status_code == 200 and video.content == b"".join(sent)
    token = admin["Authorization"].split()[1]
    assert httpx.get(f"{service.url}/videos/{recording['file']}?token={token}").content == b"".join(sent)
    assert httpx.get(f"{service.url}/videos/{recording['file']}").status_code == 401
    for hostile in ["../robodine.sqlite3", f"{cam}/../../token-key", "%2e%2e/robodine.sqlite3", ".hidden.mjpeg",
                    f"{cam}/missing.mjpeg", cam, "runtime.json"]:  # fmt: skip
        refused = service.http.get(f"/videos/{hostile}", headers=admin)
        assert refused.status_code == 404, (hostile, refused.status_code)


def test_a_removed_camera_ends_its_live_viewers(service: ServiceProcess, admin: dict[str, str]) -> None:
    cam = camera(service, admin)["camera_id"]
    send_frames(service, cam, range(1, 3))
    eventually(lambda: service.http.get(f"/api/video-streams/{cam}/snapshot.jpg", headers=admin).status_code == 200)
    with httpx.stream("GET", f"{service.url}/api/video-streams/{cam}/live", headers=admin, timeout=10) as live:
        stream = live.iter_bytes()
        assert next(stream).startswith(b"--frame")
        assert service.http.delete(f"/api/video-streams/{cam}", headers=admin).status_code == 204
        rest = b"".join(stream)  # ends, instead of waiting for ever
    assert rest.endswith(b"--frame--\r\n")
    assert service.http.get(f"/api/video-streams/{cam}", headers=admin).status_code == 404
    assert service.http.get(f"/api/video-streams/{cam}/live", headers=admin).status_code == 404


def test_the_video_streams_topic_follows_cameras(service: ServiceProcess, admin: dict[str, str]) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(service.url, f"/ws/video_streams?token={service.token()}")) as ws:
            snapshot = await recv(ws)
            assert snapshot["type"] == "snapshot" and isinstance(snapshot["data"], list)
            cam = await asyncio.to_thread(camera, service, admin)
            added = await recv_until(ws, lambda m: m["data"].get("camera_id") == cam["camera_id"])
            assert added["type"] == "upsert" and added["data"]["status"] == "inactive"
            await asyncio.to_thread(send_frames, service, cam["camera_id"], range(1, 4))
            live = await recv_until(ws, lambda m: m["data"].get("status") == "active")
            assert live["data"]["camera_id"] == cam["camera_id"] and live["seq"] > added["seq"]
            await asyncio.to_thread(service.http.delete, f"/api/video-streams/{cam['camera_id']}", headers=admin)
            gone = await recv_until(ws, lambda m: m["type"] == "delete")
            assert gone["data"] == {"camera_id": cam["camera_id"]}

    asyncio.run(scenario())


def test_a_recording_goes_on_in_a_new_file_after_a_restart(tmp_path: Path) -> None:
    env = service_env(tmp_path)
    with ServiceProcess(tmp_path, env) as service:
        admin = service.auth(service.token())
        cam = camera(service, admin)["camera_id"]
        assert service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin).status_code == 200
        first = send_frames(service, cam, range(1, 6))
        eventually(lambda: service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()[0]["bytes"]
                   == sum(map(len, first)))  # fmt: skip
    with ServiceProcess(tmp_path, env) as service:
        admin = service.auth(service.token())
        assert service.http.get(f"/api/video-streams/{cam}", headers=admin).json()["recording"] is True
        second = send_frames(service, cam, range(1, 4))
        eventually(lambda: service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()[0]["bytes"]
                   == sum(map(len, second)))  # fmt: skip
        newest, before = service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()
        assert before["ended_at"] is not None and before["bytes"] == sum(map(len, first))
        assert newest["ended_at"] is None and newest["file"] != before["file"]
        assert (tmp_path / "videos" / before["file"]).read_bytes() == b"".join(first)


def test_a_legacy_camera_is_registered_by_its_first_frame(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path, service_env(tmp_path, ROBODINE_LEGACY="1")) as service:
        admin = service.auth(service.token())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # one frame, no more
            udp.sendto(encode_legacy(time.time(), jpeg(1)), ("127.0.0.1", service.runtime["video_port"]))

        def shown() -> bool:
            shot = service.http.get("/api/video-streams/legacy-127-0-0-1/snapshot.jpg", headers=admin)
            return shot.status_code == 200 and shot.content == jpeg(1)

        eventually(shown, what="the legacy camera registered, showing its first frame")
        listed = service.http.get("/api/video-streams", headers=admin).json()
        assert [c["camera_id"] for c in listed] == ["legacy-127-0-0-1"] and listed[0]["source"] == "fixed"
        assert listed[0]["last_frame_at"] is not None
        assert metric(service, "robodine_video_datagrams", "unknown_camera") == 0


def test_a_recording_that_cannot_go_on_after_a_restart_leaves_the_service_up(tmp_path: Path) -> None:
    env = service_env(tmp_path)
    with ServiceProcess(tmp_path, env) as service:
        admin = service.auth(service.token())
        cam = camera(service, admin)["camera_id"]
        assert service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin).status_code == 200
    folder = tmp_path / "videos" / cam
    for old in folder.iterdir():
        old.unlink()
    folder.rmdir()
    folder.write_bytes(b"")  # a file where the camera's folder was: no new recording can start there
    with ServiceProcess(tmp_path, env) as service:  # starts (it did not before: the camera actor failed)
        admin = service.auth(service.token())
        view = service.http.get(f"/api/video-streams/{cam}", headers=admin).json()
        assert (view["status"], view["recording"]) == ("error", False)
        errors = service.http.get("/api/events", headers=admin, params={"type": "camera_error"}).json()
        assert errors and cam in errors[0]["message"]


def test_legacy_cameras_that_register_themselves_are_bounded(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path, service_env(tmp_path, ROBODINE_LEGACY="1")) as service:
        admin = service.auth(service.token())
        senders = [f"127.0.0.{n}" for n in range(2, MAX_LEGACY_CAMERAS + 6)]
        for address in senders:  # each its own address, as spoofed senders would be
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind((address, 0))
                udp.sendto(encode_legacy(time.time(), jpeg(1)), ("127.0.0.1", service.runtime["video_port"]))
                time.sleep(0.02)

        def listed() -> list[str]:
            return [c["camera_id"] for c in service.http.get("/api/video-streams", headers=admin).json()]

        eventually(lambda: len(listed()) == MAX_LEGACY_CAMERAS, what="the first cameras registered")
        assert metric(service, "robodine_video_datagrams", "legacy_limit") == len(senders) - MAX_LEGACY_CAMERAS
        assert len(listed()) == MAX_LEGACY_CAMERAS


def test_a_recording_read_while_it_grows_is_as_long_as_announced(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    cam = camera(service, admin)["camera_id"]
    assert service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin).status_code == 200
    send_frames(service, cam, range(1, 150), 500.0)  # ~400 KB: more than one read of the file
    [recording] = service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()
    sender = threading.Thread(target=send_frames, args=(service, cam, range(150, 400), 250.0))
    sender.start()
    try:
        for _ in range(10):
            video = service.http.get(f"/videos/{recording['file']}", headers=admin)
            assert video.status_code == 200 and len(video.content) == int(video.headers["content-length"])
    finally:
        sender.join()
    assert (service.data_dir / "videos" / recording["file"]).read_bytes().startswith(video.content)
    pages = service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin, params={"limit": 0})
    assert pages.status_code == 422 and "limit" in pages.json()["error"]["fields"]


def test_a_camera_id_starting_with_a_dot_records_where_its_files_are_served(
    service: ServiceProcess, admin: dict[str, str]
) -> None:
    """The SPEC's id pattern allows a leading dot: its recordings stay under videos/ and
    download like any other; `.` and `..` themselves are refused (no URL can name them)."""
    cam = camera(service, admin, camera_id=".pass-cam")["camera_id"]
    for unreachable in (".", ".."):
        refused = service.http.post("/api/video-streams", headers=admin, json={"camera_id": unreachable})
        assert refused.status_code == 422 and "camera_id" in refused.json()["error"]["fields"]
    assert service.http.post(f"/api/video-streams/{cam}/recordings/start", headers=admin).status_code == 200
    sent = send_frames(service, cam, range(1, 4))
    eventually(lambda: service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()[0]["bytes"]
               == sum(map(len, sent)), what="every frame written")  # fmt: skip
    assert service.http.post(f"/api/video-streams/{cam}/recordings/stop", headers=admin).status_code == 200
    [recording] = service.http.get(f"/api/video-streams/{cam}/recordings", headers=admin).json()
    assert recording["file"].startswith(f"{cam}/{cam}-")
    assert (service.data_dir / "videos" / recording["file"]).is_file()
    video = service.http.get(f"/videos/{recording['file']}", headers=admin)
    assert video.status_code == 200 and video.content == b"".join(sent)


def test_path_ids_are_percent_decoded(service: ServiceProcess, admin: dict[str, str]) -> None:
    cam = camera(service, admin, camera_id=unique("cam-x."))["camera_id"]
    encoded = cam.replace("-", "%2D").replace(".", "%2e")
    found = service.http.get(f"/api/video-streams/{encoded}", headers=admin)
    assert found.status_code == 200 and found.json()["camera_id"] == cam
    assert service.http.get("/api/video-streams/%2e%2e", headers=admin).status_code == 404
    robot = unique("arm-x.")
    assert (
        service.http.post("/api/robots", headers=admin, json={"robot_id": robot, "kind": "cookbot"}).status_code == 201
    )
    found = service.http.get(f"/api/robots/{robot.replace('-', '%2D')}", headers=admin)
    assert found.status_code == 200 and found.json()["robot_id"] == robot
    for unreachable in (".", ".."):
        refused = service.http.post("/api/robots", headers=admin, json={"robot_id": unreachable, "kind": "cookbot"})
        assert refused.status_code == 422 and "robot_id" in refused.json()["error"]["fields"]
