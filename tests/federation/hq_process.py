"""`robodine-edge hq` in a child process, for end-to-end tests of headquarters."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.child import ChildProcess

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


class HqProcess(ChildProcess):
    """One hq process; its stderr collected line by line; `http` talks to its API with the token."""

    what = "hq"
    runtime_file = "hq-runtime.json"

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        super().__init__(data_dir, env, ("hq",))

    def start(self, timeout: float = 30.0, *, subscribed: bool = True) -> HqProcess:
        """Start and wait for `ready`; with `subscribed`, also for its subscriptions to the broker
        (`ready` comes once the API listens, whether the broker answers or not, and an event
        published before HQ subscribed reaches nobody: a real store would send it again)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.spawn()
        deadline = time.monotonic() + timeout
        self.wait_ready(timeout)
        while subscribed and self.get("/health")["broker"] != "connected":
            if time.monotonic() > deadline:
                raise RuntimeError(f"hq did not connect to the broker:\n{self.log}")
            time.sleep(0.05)
        return self

    def client_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        return super().stop(sig, timeout)

    def kill(self) -> None:
        """kill -9: no drain, no goodbye."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> HqProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:  # the test failed: its log says why hq did what it did
            print(f"--- hq log ({self.data_dir}) ---\n{self.log[-6000:]}")
        if self.running:
            self.stop()
        else:
            self.close_client()
