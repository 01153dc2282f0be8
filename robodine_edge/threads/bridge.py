"""The one crossing from the event loop into the actors (and the read pool).

`await pykka_future` would call `get()` and stall the whole loop (pykka#99). Instead
the bridge hangs a callback on the future (`ActorFuture.add_done_callback`, run in the
actor's thread) that hands the outcome to the loop with `call_soon_threadsafe`; the
awaiting coroutine sleeps, and no thread is parked per request.

Every wait has a timeout (`TimedOut`, HTTP 504) and a dead actor becomes
`Unavailable` (HTTP 503).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TypeVar

import pykka

from robodine_edge.actors.base import ActorFuture
from robodine_edge.errors import TimedOut, Unavailable

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 5.0


async def wait(
    future: ActorFuture[T] | concurrent.futures.Future[T],
    timeout: float = DEFAULT_TIMEOUT_S,
) -> T:
    """Await an actor reply (or a pool future) on the running loop without blocking it.

    Runs on the event loop thread.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T]
    if isinstance(future, concurrent.futures.Future):
        waiter = asyncio.wrap_future(future, loop=loop)
    else:
        waiter = loop.create_future()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(_settle, waiter, done))
    try:
        async with asyncio.timeout(timeout):
            return await waiter
    except TimeoutError:
        raise TimedOut(f"no answer within {timeout:g}s") from None
    except pykka.ActorDeadError as exc:
        raise Unavailable(f"a part of the service is not running: {exc}") from None


def _settle(waiter: asyncio.Future[T], done: ActorFuture[T]) -> None:
    """Runs on the loop: copy the actor's outcome into the waiter unless it gave up."""
    if waiter.done():
        return
    try:
        waiter.set_result(done.get(timeout=0))
    except BaseException as exc:  # the actor's own exception, re-raised by get()
        waiter.set_exception(exc)
