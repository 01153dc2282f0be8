"""Low disk, on a small filesystem of its own (a 24 MiB tmpfs) filled by recordings:
recordings stop and none may start, the closed ones are removed oldest first, one
`disk_low` event is raised however long it lasts, and orders go on being taken."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.care.recordings import Recordings, RecordingsCap
from robodine_edge.clock import utcnow
from robodine_edge.data import video
from robodine_edge.data.models import Recording
from robodine_edge.protocol.video import encode_chunks
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually

MIB = 2**20
FRAME = b"\xff\xd8" + os.urandom(60_000) + b"\xff\xd9"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs: low disk for real, without filling the machine's."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def send_frames(service: ServiceProcess, camera_id: str, count: int, start: int = 0) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(start, start + count):
            for datagram in encode_chunks(camera_id, time.time(), n, FRAME):
                udp.sendto(datagram, ("127.0.0.1", service.runtime["video_port"]))
            time.sleep(0.004)


def recorded(service: ServiceProcess, admin: dict[str, str], camera_id: str) -> list[dict[str, Any]]:
    response = service.http.get(f"/api/video-streams/{camera_id}/recordings", headers=admin)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()))  # oldest first


def record(service: ServiceProcess, admin: dict[str, str], camera_id: str, frames: int, start: int) -> None:
    """One recording of about `frames` frames, closed."""
    assert service.http.post(f"/api/video-streams/{camera_id}/recordings/start", headers=admin).status_code == 200
    send_frames(service, camera_id, frames, start)
    assert service.http.post(f"/api/video-streams/{camera_id}/recordings/stop", headers=admin).status_code == 200


def free_mib(path: Path) -> float:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize / MIB


@pytest.mark.e2e
def test_low_disk_stops_recordings_removes_the_oldest_and_orders_go_on(small_disk: Path) -> None:
    env = service_env(small_disk, ROBODINE_DATA_MIN_FREE_MB="8", ROBODINE_RETENTION_RECORDINGS_MB="0")
    with ServiceProcess(small_disk, env) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin)
        dish = make_dish(service, admin, {make_stock(service, admin, 1000)["id"]: 1})
        order = {"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]}
        camera_id = service.http.post("/api/video-streams", headers=admin, json={"camera_id": "cam-a"}).json()[
            "camera_id"
        ]
        record(service, admin, camera_id, 50, 0)  # ~3 MiB each
        record(service, admin, camera_id, 50, 100)
        first, second = (item["file"] for item in recorded(service, admin, camera_id))
        assert service.http.post(f"/api/video-streams/{camera_id}/recordings/start", headers=admin).status_code == 200
        ballast = small_disk / "ballast"  # what the disk is full of, besides recordings: it stays low
        ballast.write_bytes(
            b"\0" * int((free_mib(small_disk) - 1) * MIB)
        )  # under 8 MiB even once the ~6 MiB of recordings go
        events = eventually(lambda: disk_events(service, admin), timeout=15, what="disk_low")
        view = eventually(
            lambda: (
                (v := service.http.get(f"/api/video-streams/{camera_id}", headers=admin).json())["recording"] is False
                and v
            ),
            what="the recording stopped",
        )
        assert view["recording"] is False
        eventually(lambda: not (small_disk / "videos" / second).exists(), what="the closed recordings removed")
        for _ in range(3):  # low for seconds: still one event, and orders are taken
            placed = service.http.post("/api/orders", headers=admin, json=order)
            assert placed.status_code == 201, placed.text
            time.sleep(1)
        assert [e["type"] for e in disk_events(service, admin)] == ["disk_low"]
        assert events[0]["level"] == "warning" and "min_free_mb" in events[0]["message"]
        refused = service.http.post(f"/api/video-streams/{camera_id}/recordings/start", headers=admin)
        assert refused.status_code == 409 and "disk is low" in refused.json()["error"]["message"]
        notes = service.http.get("/api/notifications", headers=admin).json()
        assert "disk_low" in [n["type"] for n in notes]
        remaining = [item["file"] for item in recorded(service, admin, camera_id)]
        assert first not in remaining and second not in remaining  # files and rows
        assert not (small_disk / "videos" / first).exists()
        ballast.unlink()
        eventually(lambda: [e["type"] for e in disk_events(service, admin)] == ["disk_ok", "disk_low"], what="ok")
        assert service.http.post(f"/api/video-streams/{camera_id}/recordings/start", headers=admin).status_code == 200


def disk_events(service: ServiceProcess, admin: dict[str, str]) -> list[dict[str, Any]]:
    found = service.http.get("/api/events", headers=admin).json()
    return [event for event in found if event["type"] in ("disk_low", "disk_ok")]


# -- the recordings cap and removal, in-process ------------------------------------------------


@pytest.fixture
def store(db: SqliteDatabase) -> Writer:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db))
    return Writer(slot)


def make_recording(videos: Path, camera_id: str, n: int, size: int, *, running: bool = False) -> str:
    name = f"{camera_id}/{camera_id}-{n:02d}.mjpeg"
    path = videos / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"j" * size)
    os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    row = video.start_recording(camera_id, name, utcnow())
    if not running:
        video.finish_recording(row.id, utcnow(), size)
    return name


def test_the_cap_removes_the_oldest_closed_recordings_and_asks_running_ones_to_go_on(
    db: SqliteDatabase, store: Writer, data_dir: Path
) -> None:
    videos = data_dir / "videos"
    for camera_id in ("a", "b"):
        video.create_stream(camera_id, None, "fixed", None)
    names = [make_recording(videos, "ab"[n % 2], n, 100_000) for n in range(6)]
    running = make_recording(videos, "b", 9, 150_000, running=True)
    orphan = videos / "gone-camera" / "gone-camera-00.mjpeg"  # a deleted camera's: no row, still counted
    orphan.parent.mkdir()
    orphan.write_bytes(b"j" * 100_000)
    os.utime(orphan, (1_600_000_000, 1_600_000_000))
    asked: list[tuple[set[str], bool]] = []
    cap = RecordingsCap(Recordings(videos, store), 450_000, lambda ids, why, go_on: asked.append((ids, go_on)))
    cap.run()
    left = sorted(str(p.relative_to(videos)) for p in videos.rglob("*.mjpeg"))
    assert left == sorted([*names[3:], running])  # the orphan (oldest) and the three oldest closed went
    assert {row.file for row in Recording.select()} == set(left)
    assert asked == []
    RecordingsCap(Recordings(videos, store), 100_000, lambda ids, why, go_on: asked.append((ids, go_on))).run()
    assert sorted(str(p.relative_to(videos)) for p in videos.rglob("*.mjpeg")) == [running]
    assert asked == [({"b"}, True)]  # the running one alone is over the cap: go on in a new file


@pytest.mark.e2e
def test_a_recording_past_the_cap_goes_on_in_a_new_file_and_its_older_part_goes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir, ROBODINE_RETENTION_RECORDINGS_MB="1")
    with ServiceProcess(data_dir, env) as service:
        admin = service.auth(service.token())
        camera_id = service.http.post("/api/video-streams", headers=admin, json={"camera_id": "cam-cap"}).json()[
            "camera_id"
        ]
        assert service.http.post(f"/api/video-streams/{camera_id}/recordings/start", headers=admin).status_code == 200
        send_frames(service, camera_id, 30)  # ~1.8 MiB in one recording: over the cap alone
        first = recorded(service, admin, camera_id)[0]["file"]
        eventually(lambda: not (data_dir / "videos" / first).exists(), timeout=30, what="the older part removed")
        files = recorded(service, admin, camera_id)
        view = service.http.get(f"/api/video-streams/{camera_id}", headers=admin).json()
    assert first not in [item["file"] for item in files]
    assert view["recording"] is True and len(files) >= 1  # recording goes on, in a new file
    assert sum(p.stat().st_size for p in (data_dir / "videos").rglob("*.mjpeg")) <= 2**20
