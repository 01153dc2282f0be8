"""The data directory is the service user's only: folders 0700, files 0600, whatever
made them (the service, SQLite's WAL, a camera recording, backup and restore), and
what an older version left open to other users is closed at the next start."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from robodine_edge.protocol.video import encode_chunks
from tests.service import EXECUTABLE, ServiceProcess, service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
TIGHTENED = "were readable by other users"


def modes(root: Path) -> dict[str, int]:
    """{path relative to root: permission bits} of root and everything under it."""
    found = {".": stat.S_IMODE(root.lstat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder, name)
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def open_to_others(root: Path) -> dict[str, str]:
    return {
        path: oct(mode) for path, mode in modes(root).items() if mode != (0o700 if (root / path).is_dir() else 0o600)
    }


def record_a_little(service: ServiceProcess, admin: dict[str, str]) -> None:
    created = service.http.post("/api/video-streams", headers=admin, json={"camera_id": "pass"})
    assert created.status_code == 201, created.text
    assert service.http.post("/api/video-streams/pass/recordings/start", headers=admin).status_code == 200
    frame = b"\xff\xd8" + b"frame" * 100 + b"\xff\xd9"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(3):
            for datagram in encode_chunks("pass", time.time(), n, frame):
                udp.sendto(datagram, ("127.0.0.1", service.runtime["video_port"]))

    def written() -> bool:
        return service.http.get("/api/video-streams/pass/recordings", headers=admin).json()[0]["bytes"] > 0

    eventually(written, what="a recording written")


def cli(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([EXECUTABLE, *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_everything_the_service_writes_is_its_users_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir)
    del env["ROBODINE_ADMIN_PASSWORD"]  # the generated one is written to a file too
    elsewhere = tmp_path / "usb" / "night.sqlite3"
    with ServiceProcess(data_dir, env) as service:
        password = (data_dir / "initial-admin-password").read_text().strip()
        record_a_little(service, service.auth(service.token("admin", password)))
        cli("backup", "--out", str(data_dir / "backups" / "manual.sqlite3"), env=env)
        cli("backup", "--out", str(elsewhere), env=env)
        running = modes(data_dir)
        assert {"robodine.sqlite3-wal", "robodine.sqlite3-shm", "runtime.json", "token-key"} <= set(running)
        assert any(path.startswith("videos/pass/") and path.endswith(".mjpeg") for path in running)
        assert open_to_others(data_dir) == {}
    assert TIGHTENED not in service.log  # made private, not tightened afterwards
    cli("restore", "--from", str(elsewhere), env=env)
    assert any(path.startswith("backups/before-restore-") for path in modes(data_dir))
    assert open_to_others(data_dir) == {}
    assert open_to_others(elsewhere.parent) == {}


def test_what_an_older_version_left_open_is_closed_at_start_and_said_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir)
    with ServiceProcess(data_dir, env):
        pass
    recording = data_dir / "videos" / "pass" / "pass-20260101T000000Z.mjpeg"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"\xff\xd8\xff\xd9")
    theirs = data_dir / "notes" / "readme.txt"  # a folder someone else put there: left alone
    theirs.parent.mkdir()
    theirs.write_text("hello")
    for path in (data_dir, *data_dir.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)  # as versions before this one left them
    with ServiceProcess(data_dir, env) as service:
        [said] = [line for line in service.lines if TIGHTENED in line]
        assert "level=warning" in said and str(data_dir) in said
        assert open_to_others(data_dir) == {"notes": "0o755", "notes/readme.txt": "0o644"}
    with ServiceProcess(data_dir, env) as service:
        assert TIGHTENED not in service.log
