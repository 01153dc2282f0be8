"""A `robodine-edge` subcommand in a child process: what the service's and headquarters'
end-to-end wrappers (`tests/service.py`, `tests/federation/hq_process.py`) share.

The child's stderr is read line by line by a thread of the test (`lines`, `log`); its
`msg=ready` line sets `ready`, after which the runtime file the command writes is read
(`runtime`). Stopping sends a signal and waits, and a child that does not exit in time
is killed and the test fails with its last lines.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

EXECUTABLE = str(Path(sys.executable).parent / "robodine-edge")


class ChildProcess:
    """`robodine-edge COMMAND ARGS` with `env`, run in `data_dir` (its parent before a first
    start creates it); `what` names it in failures, `runtime_file` is what it writes once ready."""

    what = "the child process"
    runtime_file = "runtime.json"

    def __init__(self, data_dir: Path, env: dict[str, str], command: tuple[str, ...]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.command = command
        self.lines: list[str] = []
        self.runtime: dict[str, Any] = {}
        self._ready = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def spawn(self) -> None:
        self._proc = subprocess.Popen(
            [EXECUTABLE, *self.command],
            env=self.env,
            cwd=self.data_dir if self.data_dir.is_dir() else self.data_dir.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, name=f"{self.command[0]}-stderr", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if " msg=ready" in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until its `ready` line, then its runtime file read; fails if it exits first."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.what} did not become ready:\n{self.log}")
        self.runtime = orjson.loads((self.data_dir / self.runtime_file).read_bytes())

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

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
            self._client = httpx.Client(base_url=self.url, timeout=10, headers=self.client_headers())
        return self._client

    def client_headers(self) -> dict[str, str]:
        """Headers `http` sends with every request."""
        return {}

    def wait(self, timeout: float = 15.0) -> int:
        """Its exit code; a child still running after `timeout` is killed and the test fails."""
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
            tail = "\n".join(self.lines[-30:])
            raise AssertionError(f"{self.what} did not exit within {timeout:g} s; its last lines:\n{tail}") from None
        if self._reader is not None:
            self._reader.join(timeout)
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        self.close_client()
        if self.running:
            assert self._proc is not None
            self._proc.send_signal(sig)
        return self.wait(timeout)

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
