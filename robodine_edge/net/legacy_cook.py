"""Cook commands for legacy arms (docs/ROBOTS.md): plain-text dish names over TCP.

The dispatcher hands over `(address, dish names)` from its thread; on the event loop
each name goes in a connection of its own, as the bytes of the name and nothing else
(the old arms read one dish per connection, to its end), one after the other. The
returned future tells whether all got there. Attached to the loop once the service
starts.

A dish counts as delivered only when the arm accepted the connection, the name was
written, our end of the stream was closed, and the arm then closed its end cleanly:
the original arm reads until our end, then closes, and a clean close says it read the
name (a socket closed on unread bytes sends a reset instead). Anything else — refused,
reset, timed out — is an attempt that failed. The original arm makes its listening
socket afresh for each connection, so between two dishes it may refuse a connection
(not listening yet) or reset one (queued behind the dish it was reading when it closed
that listening socket): each dish waits `pace_s` after the one before, and a failed
attempt is tried again after `pace_s`, doubling up to `MAX_BACKOFF_S`, for at most
`dish_deadline_s` from the dish's first attempt. A dish still not delivered ends the
send there: the future fails with `NotDelivered`, saying which dishes did arrive; the
rest are not sent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging

log = logging.getLogger(__name__)
ATTEMPT_TIMEOUT_S = 3.0
"""One attempt: connecting, writing the name and the arm's close behind ours."""
DISH_DEADLINE_S = 10.0
"""All the attempts of one dish: longer than the 2 s the original arm waits after a
failure before it listens again."""
PACE_S = 0.05
"""Between two dishes, and before the first retry: the original arm is listening again
within a few milliseconds of closing a connection."""
MAX_BACKOFF_S = 1.0


class NotDelivered(ConnectionError):
    """A dish did not reach the arm within its deadline; those before it did."""

    def __init__(self, address: str, delivered: list[str], failed: str, attempts: int, cause: BaseException) -> None:
        arrived = f"{len(delivered)} dish(es) delivered before it" + (f" ({', '.join(delivered)})" if delivered else "")
        super().__init__(f"{address} did not take {failed!r} in {attempts} attempt(s) ({_describe(cause)}); {arrived}")
        self.delivered = delivered
        self.failed = failed


class _GaveUp(Exception):
    """One dish ran out of time (chained to its last failure), after `attempts`."""

    def __init__(self, attempts: int) -> None:
        super().__init__(attempts)
        self.attempts = attempts


class LegacyCookSender:
    def __init__(
        self,
        *,
        pace_s: float = PACE_S,
        dish_deadline_s: float = DISH_DEADLINE_S,
        attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pace_s = pace_s
        self._dish_deadline_s = dish_deadline_s
        self._attempt_timeout_s = attempt_timeout_s

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __call__(self, address: str, names: list[str]) -> concurrent.futures.Future[None]:
        """Any thread."""
        if self._loop is None:
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_exception(ConnectionError("the service is not running yet"))
            return future
        return asyncio.run_coroutine_threadsafe(self._send(address, names), self._loop)

    async def _send(self, address: str, names: list[str]) -> None:
        """Event loop: the dishes in order, each delivered before the next is sent."""
        host, _, port = address.rpartition(":")
        attempts = 0
        for index, name in enumerate(names):
            if index:
                await asyncio.sleep(self._pace_s)
            try:
                attempts += await self._deliver(host, int(port), name)
            except _GaveUp as exc:
                failed = NotDelivered(address, names[:index], name, exc.attempts, exc.__cause__ or exc)
                log.warning("legacy arm: %s", failed)
                raise failed from None
        log.info("delivered %d dish(es) to the legacy arm at %s in %d connection(s)", len(names), address, attempts)

    async def _deliver(self, host: str, port: int, name: str) -> int:
        """One dish, tried until delivered or out of time; returns the attempts it took."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._dish_deadline_s
        backoff = self._pace_s
        attempts = 0
        while True:
            attempts += 1
            try:
                async with asyncio.timeout(min(self._attempt_timeout_s, max(0.0, deadline - loop.time()))):
                    await _attempt(host, port, name)
                return attempts
            except (OSError, TimeoutError) as exc:
                failure: BaseException = exc
            if loop.time() + backoff > deadline:
                raise _GaveUp(attempts) from failure
            log.info(
                "legacy arm at %s:%d did not take %r (attempt %d: %s); again in %.2f s",
                host, port, name, attempts, _describe(failure), backoff,
            )  # fmt: skip
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


async def _attempt(host: str, port: int, name: str) -> None:
    """Connect, write the name, close our end, and read until the arm closes its end.
    A reset instead of that close raises (`ConnectionResetError`)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(name.encode())
        await writer.drain()
        writer.write_eof()
        while await reader.read(1024):
            pass  # the arm answers nothing; whatever it sends is not the point
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # a reset is already reported by the read
            await writer.wait_closed()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the arm"
    return str(exc) or type(exc).__name__
