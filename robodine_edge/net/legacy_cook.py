"""Cook commands for legacy arms (docs/ROBOTS.md): plain-text dish names over TCP.

The dispatcher hands over `(address, dish names)` from its thread; on the event loop
each name goes in a connection of its own, as the bytes of the name and nothing else
(the old arms read one dish per connection, to its end), one after the other. The
returned future tells whether all got through. Attached to the loop once the service
starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 3.0


class LegacyCookSender:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

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
        host, _, port = address.rpartition(":")
        for name in names:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, writer = await asyncio.open_connection(host, int(port))
                try:
                    writer.write(name.encode())
                    await writer.drain()
                finally:
                    writer.close()
                    await writer.wait_closed()
        log.info("sent %d dish(es) to the legacy arm at %s", len(names), address)
