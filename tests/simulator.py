"""Running `robodine-edge simulate` against a test service."""

from __future__ import annotations

import os
import subprocess

from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess


class Simulator:
    """A simulated fleet in a child process, registering its robots as admin."""

    def __init__(
        self, service: ServiceProcess, *args: str, albabots: int = 3, cookbots: int = 2, speed: float = 20.0
    ) -> None:
        self.command = [
            EXECUTABLE, "simulate",
            "--edge", f"127.0.0.1:{service.runtime['robot_port']}",
            "--api", service.url,
            "--admin-password", ADMIN_PASSWORD,
            "--albabots", str(albabots), "--cookbots", str(cookbots),
            "--speed", str(speed), "--telemetry-hz", "5", *args,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Simulator:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}
        self.proc = subprocess.Popen(self.command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
