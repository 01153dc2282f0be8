"""Running the real `robodine-edge` process for end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

from tests.child import EXECUTABLE, ChildProcess

__all__ = ["ADMIN_PASSWORD", "EXECUTABLE", "ServiceProcess", "service_env"]

ADMIN_PASSWORD = "admin-password-for-tests"


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


class ServiceProcess(ChildProcess):
    """`robodine-edge run ARGS` in a child process; its stderr is collected line by line."""

    what = "the service"

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        super().__init__(data_dir, env or service_env(data_dir), ("run", *args))
        self.args = args

    def start(self, timeout: float = 30.0, *, wait_ready: bool = True) -> ServiceProcess:
        self.spawn()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = self.http.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        if self.running:
            self.stop()
