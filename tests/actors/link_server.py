"""The service's robot link (`LinkProtocol`) served from an event loop of its own, for
actor tests that link robots over real sockets (`tests/robot_client.py`)."""

from __future__ import annotations

import asyncio
import threading

from robodine_edge.net.links import LinkContext, LinkRegistry
from robodine_edge.net.robot_link import LinkProtocol
from robodine_edge.process.metrics import Metrics
from robodine_edge.wiring import ActorTree


class LinkServer:
    """The robot link of the service (`LinkProtocol`), on an event loop in its own thread."""

    def __init__(
        self,
        tree: ActorTree,
        *,
        heartbeat_s: float = 2.0,
        ask_timeout_s: float = 5.0,
        registry: LinkRegistry | None = None,
    ) -> None:
        """`registry`: the one a `FleetLinks` handed to the tree writes through (a new one if none)."""
        self.loop = asyncio.new_event_loop()
        self.registry = registry or LinkRegistry()
        self.metrics = Metrics()
        context = LinkContext(self.registry, tree.robots, self.metrics, heartbeat_s, None, None, ask_timeout_s)
        self._thread = threading.Thread(target=self.loop.run_forever, name="link-loop")
        self._thread.start()
        serving = self.loop.create_server(lambda: LinkProtocol(context), "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(serving, self.loop).result(5)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def session_of(self, robot_id: str) -> str | None:
        async def read() -> str | None:
            entry = self.registry.session_of(robot_id)
            return entry.session if entry is not None else None

        return asyncio.run_coroutine_threadsafe(read(), self.loop).result(5)

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
            self.registry.close_all("test over")
            await asyncio.sleep(0.05)  # let the closed links report to their actors

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
