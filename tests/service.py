"""Running the real `robodine-edge` process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

ADMIN_PASSWORD = "admin-password-for-tests"
EXECUTABLE = str(Path(sys.executable).parent / "robodine-edge")


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a test service: loopback only, any free port, no mDNS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBODINE_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    env.update(
        ROBODINE_CONFIG=os.devnull,  # an empty file: no checkout config, the packaged defaults
        ROBODINE_DATA_DIR=str(data_dir),
        ROBODINE_HOST="127.0.0.1",
        ROBODINE_HTTP_PORT="0",
        ROBODINE_ROBOT_PORT="0",
        ROBODINE_TELEMETRY_PORT="0",
        ROBODINE_VIDEO_PORT="0",
        ROBODINE_MDNS="0",
        ROBODINE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ROBODINE_HTTP_VALIDATE_RESPONSES="1",
        ROBODINE_LOG_LEVEL="info",
    )
    env.update(extra)
    return env


class ServiceProcess:
    """`robodine-edge run` in a child process; its stderr is collected line by line."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.env = env or service_env(data_dir)
        self.args = args
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.runtime: dict[str, Any] = {}
        self._client: httpx.Client | None = None

    def start(self, timeout: float = 30.0, *, wait_ready: bool = True) -> ServiceProcess:
        self._proc = subprocess.Popen(
            [EXECUTABLE, "run", *self.args],
            env=self.env,
            cwd=self.data_dir if self.data_dir.is_dir() else self.data_dir.parent,  # a first start creates it
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, name="service-stderr", daemon=True)
        self._reader.start()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if " msg=ready" in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"service did not become ready:\n{self.log}")
        self.runtime = orjson.loads((self.data_dir / "runtime.json").read_bytes())

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.runtime['http_port']}"

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=10)
        return self._client

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = self.http.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def wait(self, timeout: float = 15.0) -> int:
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
            tail = "\n".join(self.lines[-30:])
            raise AssertionError(f"the service did not exit within {timeout:g} s; its last lines:\n{tail}") from None
        if self._reader is not None:
            self._reader.join(timeout)
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self._client is not None:
            self._client.close()
            self._client = None
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
        return self.wait(timeout)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.stop()
