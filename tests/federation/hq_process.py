"""`robodine-edge hq` in a child process, for end-to-end tests of headquarters."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.service import EXECUTABLE

API_TOKEN = "hq-token-for-tests"


def hq_env(data_dir: Path, broker_url: str, database_url: str, chain: str = "acme", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBODINE_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    env.update(
        ROBODINE_CONFIG=os.devnull,
        ROBODINE_DATA_DIR=str(data_dir),
        ROBODINE_HOST="127.0.0.1",
        ROBODINE_HQ_HTTP_PORT="0",
        ROBODINE_HQ_DATABASE_URL=database_url,
        ROBODINE_HQ_API_TOKEN=API_TOKEN,
        ROBODINE_FEDERATION_URL=broker_url,
        ROBODINE_FEDERATION_CHAIN=chain,
        ROBODINE_FEDERATION_KEEPALIVE_S="5",
        ROBODINE_LOG_LEVEL="info",
    )
    env.update(extra)
    return env


class HqProcess:
    """One hq process; its stderr collected line by line; `http` talks to its API with the token."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.lines: list[str] = []
        self.runtime: dict[str, Any] = {}
        self._ready = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def start(self, timeout: float = 30.0, *, subscribed: bool = True) -> HqProcess:
        """Start and wait for `ready`; with `subscribed`, also for its subscriptions to the broker
        (`ready` comes once the API listens, whether the broker answers or not, and an event
        published before HQ subscribed reaches nobody: a real store would send it again)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [EXECUTABLE, "hq"], env=self.env, cwd=self.data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._reader = threading.Thread(target=self._read, name="hq-stderr", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hq did not become ready:\n{self.log}")
        self.runtime = orjson.loads((self.data_dir / "hq-runtime.json").read_bytes())
        while subscribed and self.get("/health")["broker"] != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError(f"hq did not connect to the broker:\n{self.log}")
            time.sleep(0.05)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if " msg=ready" in line:
                self._ready.set()

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
            self._client = httpx.Client(base_url=self.url, timeout=10, headers={"Authorization": f"Bearer {API_TOKEN}"})
        return self._client

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self._client is not None:
            self._client.close()
            self._client = None
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
            raise AssertionError(f"hq did not exit within {timeout:g} s:\n{self.log[-3000:]}") from None
        if self._reader is not None:
            self._reader.join(timeout)
        return code

    def kill(self) -> None:
        """kill -9: no drain, no goodbye."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> HqProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:  # the test failed: its log says why hq did what it did
            print(f"--- hq log ({self.data_dir}) ---\n{self.log[-6000:]}")
        if self._proc is not None and self._proc.poll() is None:
            self.stop()
        elif self._client is not None:
            self._client.close()
