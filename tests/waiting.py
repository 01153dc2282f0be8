"""Waiting for something another process does: a bounded poll with a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T | Literal[False] | None],
    timeout: float = 5.0,
    interval: float = 0.05,
    what: str = "the condition",
) -> T:
    """Call `check` until it returns something truthy (that is returned: `False` or None
    means not yet); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {result!r})")
        time.sleep(interval)
