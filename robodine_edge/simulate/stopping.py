"""Stopping the simulator in any phase: SIGTERM, SIGINT and `--duration` set one event.

Every step that may wait long (finding the edge over mDNS, registering through the API,
connecting, waiting for a welcome) is raced against that event, so a stop is honoured
at once wherever the simulator is, not once the step gives up by itself. On the
simulator's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The simulator was told to stop before the step it waited on was done."""


async def unless_stopped(step: Awaitable[T], stop: asyncio.Event) -> T:
    """What `step` gives, or `Stopped` as soon as `stop` is set (`step` is cancelled then)."""
    task = asyncio.ensure_future(step)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise Stopped
    return task.result()
