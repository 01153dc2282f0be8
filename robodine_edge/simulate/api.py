"""The simulator's way to the edge's HTTP API: what a tablet or a host stand would send."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
TIMEOUT_S = 10.0


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
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return orjson.loads(response.read())


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` in a daemon thread of its own, awaited from the event loop.

    Not the loop's default executor: the simulator stopping while a call hangs (an API
    that does not answer) must not wait for it, and `asyncio.run` joins that executor's
    threads (so does the interpreter at exit); a daemon thread is left behind instead."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():  # the awaiting side was cancelled meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        result, error = None, None
        try:
            result = call(*args)
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="simulate-api", daemon=True).start()
    return await done
