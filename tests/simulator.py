"""Running `robodine-edge simulate` against a test service."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess


def simulate_env() -> dict[str, str]:
    """No ROBODINE_ variables of the developer's, and the packaged defaults (no checkout config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}
    env["ROBODINE_CONFIG"] = os.devnull
    return env


class SimulateProcess:
    """`robodine-edge simulate ARGS` in a child process; its stderr collected line by line."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.lines: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.started_at = 0.0

    def start(self) -> SimulateProcess:
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [EXECUTABLE, "simulate", *self.args], env=simulate_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._reader = threading.Thread(target=self._read, name="simulate-stderr", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 15.0) -> None:
        """Until a line containing `text` (fails if the process ends or time runs out)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"simulate never logged {text!r}:\n{self.log}")
            time.sleep(0.02)

    def wait(self, timeout: float) -> int:
        """The exit code; fails (and kills it) if the process is still running after `timeout`."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"simulate did not exit within {timeout:g} s:\n{self.log}") from None
        if self._reader is not None:
            self._reader.join(5)
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def __enter__(self) -> SimulateProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class Simulator(SimulateProcess):
    """A simulated fleet in a child process, registering its robots as admin."""

    def __init__(
        self, service: ServiceProcess, *args: str, albabots: int = 3, cookbots: int = 2, speed: float = 20.0
    ) -> None:
        super().__init__(
            "--edge", f"127.0.0.1:{service.runtime['robot_port']}",
            "--api", service.url,
            "--admin-password", ADMIN_PASSWORD,
            "--albabots", str(albabots), "--cookbots", str(cookbots),
            "--speed", str(speed), "--telemetry-hz", "5", *args,
        )  # fmt: skip

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
