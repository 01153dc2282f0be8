"""The simulator's way to the edge's HTTP API: what a tablet or a host stand would send."""

from __future__ import annotations

import urllib.request
from typing import Any

import orjson


class SimulationError(Exception):
    """The simulation cannot start: no edge found, no tokens, registration refused."""


def http_json(api: str, method: str, path: str, body: Any, token: str | None, key: str | None = None) -> Any:
    """One API call as a client would make it (blocking: run it in a thread)."""
    request = urllib.request.Request(
        api.rstrip("/") + path, method=method, data=orjson.dumps(body) if body is not None else None
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if key:
        request.add_header("Idempotency-Key", key)
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())
