"""The real process: readiness, systemd notification, shutdown, first start, durability."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess, service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_ready_writes_runtime_json_and_serves_health(data_dir: Path) -> None:
    with ServiceProcess(data_dir) as service:
        runtime = service.runtime
        assert set(runtime) == {
            "pid",
            "http_port",
            "robot_port",
            "telemetry_port",
            "video_port",
            "version",
            "started_at",
        }
        assert runtime["pid"] == service.pid and runtime["http_port"] > 0
        assert runtime["started_at"].endswith("Z")
        health = service.http.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert set(body) == {"status", "version", "uptime_s", "db", "robots_online", "federation"}  # SPEC 2, 11
        assert body["status"] == "ok" and body["db"] == "ok" and body["robots_online"] == 0
        assert body["federation"] == "off"
        assert body["version"] == runtime["version"] and body["uptime_s"] >= 0
        assert service.http.get("/api/health").json()["status"] == "ok"
        assert any(" msg=ready " in line and f"http_port={runtime['http_port']}" in line for line in service.lines)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly_within_five_seconds(data_dir: Path, sig: int) -> None:
    service = ServiceProcess(data_dir).start()
    started = time.monotonic()
    assert service.stop(sig) == 0
    assert time.monotonic() - started < 5
    assert not (data_dir / "runtime.json").exists()
    assert "msg=stopped" in service.log


@pytest.mark.parametrize("after_s", [0.0, 0.1, 0.25, 0.5])
def test_a_stop_at_any_moment_of_start_up_exits_0(data_dir: Path, after_s: float) -> None:
    """SPEC 1: SIGTERM means exit 0, also while the command is still importing the
    service or opening the database (systemd may stop a service the moment it started
    it). Timed from the command's first log line, written once the configuration is
    read (the handlers are in place before that, but an earlier moment cannot be
    caught from outside reliably: under load it may still be the interpreter
    starting, which no program can answer)."""
    env = service_env(data_dir, ROBODINE_LOG_LEVEL="debug")
    process = subprocess.Popen([EXECUTABLE, "run"], env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()
    assert 'msg="starting run"' in first, first
    time.sleep(after_s)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and not (data_dir / "runtime.json").exists()


def test_sd_notify_ready_watchdog_and_stopping(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        env = service_env(data_dir, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
        service = ServiceProcess(data_dir, env).start()
        try:
            assert sock.recv(256) == b"READY=1"
            assert (data_dir / "runtime.json").exists()
            beats = [sock.recv(256) for _ in range(3)]
            assert beats == [b"WATCHDOG=1"] * 3
        finally:
            assert service.stop() == 0
        messages = []
        sock.settimeout(1)
        try:
            while True:
                messages.append(sock.recv(256))
        except TimeoutError:
            pass
        assert b"STOPPING=1" in messages


def test_sd_notify_abstract_socket(data_dir: Path) -> None:
    name = f"robodine-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        with ServiceProcess(data_dir, service_env(data_dir, NOTIFY_SOCKET="@" + name)):
            assert sock.recv(256) == b"READY=1"


def test_a_second_service_on_the_same_data_is_refused(data_dir: Path) -> None:
    with ServiceProcess(data_dir):
        second = ServiceProcess(data_dir).start(wait_ready=False)
        assert second.wait() == 1
        assert "in use" in second.log


def test_a_port_in_use_fails_with_exit_1(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = ServiceProcess(data_dir, service_env(data_dir, ROBODINE_HTTP_PORT=str(port))).start(wait_ready=False)
        assert service.wait() == 1
        assert "Address already in use" in service.log


def test_invalid_config_exits_2_naming_the_key(data_dir: Path) -> None:
    service = ServiceProcess(data_dir, service_env(data_dir, ROBODINE_VIDEO_PORT="video")).start(wait_ready=False)
    assert service.wait() == 2
    assert service.lines == [
        "robodine-edge: config error: video.port (from ROBODINE_VIDEO_PORT='video'): expected an integer"
    ]


def test_first_start_writes_a_random_admin_password_once(data_dir: Path) -> None:
    env = service_env(data_dir)
    del env["ROBODINE_ADMIN_PASSWORD"]
    password_file = data_dir / "initial-admin-password"
    with ServiceProcess(data_dir, env) as service:
        password = password_file.read_text().strip()
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert str(password_file) in service.log and password not in service.log
        assert service.token("admin", password)
    with ServiceProcess(data_dir, env) as service:
        assert password_file.read_text().strip() == password
        assert service.token("admin", password)


def test_admin_password_from_environment(data_dir: Path) -> None:
    with ServiceProcess(data_dir) as service:
        assert service.token("admin", ADMIN_PASSWORD)
        assert not (data_dir / "initial-admin-password").exists()
        assert ADMIN_PASSWORD not in service.log


def test_a_201_survives_kill_9(data_dir: Path) -> None:
    service = ServiceProcess(data_dir).start()
    token = service.token()
    created = service.http.post(
        "/api/users",
        headers=service.auth(token),
        json={"username": "durable", "password": "password-1", "role": "staff"},
    )
    assert created.status_code == 201
    os.kill(service.pid, signal.SIGKILL)
    assert service.wait() == -signal.SIGKILL
    with ServiceProcess(data_dir) as again:
        assert again.token("durable", "password-1")


def test_sigterm_during_start_up_is_not_lost(data_dir: Path) -> None:
    """SIGTERM while mDNS probes (after listening, before ready) still stops the service."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = service_env(data_dir, ROBODINE_MDNS="1", ROBODINE_HTTP_PORT=str(port), ROBODINE_STORE_ID="sigterm-race")
    service = ServiceProcess(data_dir, env).start(wait_ready=False)

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    eventually(listening, timeout=20, interval=0.01, what="the HTTP listener")
    assert " msg=ready" not in service.log
    started = time.monotonic()
    assert service.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("variable", "key", "kind"), [
    ("ROBODINE_HTTP_PORT", "http.port", socket.SOCK_STREAM),
    ("ROBODINE_ROBOT_PORT", "robots.port", socket.SOCK_STREAM),
    ("ROBODINE_TELEMETRY_PORT", "telemetry.port", socket.SOCK_DGRAM),
    ("ROBODINE_VIDEO_PORT", "video.port", socket.SOCK_DGRAM),
])  # fmt: skip
def test_a_port_in_use_is_one_line_naming_its_key_and_creates_nothing(
    tmp_path: Path, variable: str, key: str, kind: int
) -> None:
    """The listeners are bound first: a start that cannot listen leaves no data
    directory, no database and, above all, no admin password of a user never made."""
    data_dir = tmp_path / "first-start"
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        env = {**service_env(data_dir), variable: str(port)}
        del env["ROBODINE_ADMIN_PASSWORD"]
        result = subprocess.run([EXECUTABLE, "run"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if "level=error" in line]
    assert f"cannot listen on {key} {port} at net.host 127.0.0.1" in line and "in use" in line
    assert "Traceback" not in result.stderr
    assert not data_dir.exists()


def test_a_second_service_on_the_same_data_and_port_says_the_data_is_in_use(data_dir: Path) -> None:
    with ServiceProcess(data_dir) as first:
        env = service_env(data_dir, ROBODINE_HTTP_PORT=str(first.runtime["http_port"]))
        result = subprocess.run([EXECUTABLE, "run"], env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        [line] = [line for line in result.stderr.splitlines() if "level=error" in line]
        assert f"{data_dir} is in use by a running robodine-edge" in line, line
        assert (data_dir / "runtime.json").exists()  # the first one's, left alone
        assert first.http.get("/health").status_code == 200
