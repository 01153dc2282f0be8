"""Loop-only objects refuse calls from other threads (`robodine_edge.threads.loop_thread`).

Each object is made or attached on a real event loop; the wrong call comes from a plain
thread, as an actor's would, and must raise there instead of racing the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from robodine_edge.actors.robots.fleet import RobotDirectory
from robodine_edge.http.hub import Connection, Hub
from robodine_edge.http.wsframe import text_frame
from robodine_edge.net.links import LinkContext, LinkRegistry
from robodine_edge.net.robot_link import LinkProtocol
from robodine_edge.process.metrics import Metrics
from robodine_edge.threads.loop_thread import WrongThread
from robodine_edge.types import Principal, Role, Topic, UserId


def principal() -> Principal:
    return Principal(UserId(1), "staff", Role.STAFF, "t-1", 2e9)


async def no_snapshot(topic: Topic, who: Principal) -> list[dict[str, Any]]:
    return []


async def from_another_thread(call: Callable[[], object]) -> BaseException | None:
    """Run `call` on a fresh thread (not the loop's); what it raised, if anything."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="not-the-loop") as pool:
        try:
            await asyncio.wrap_future(pool.submit(call))
        except Exception as exc:
            return exc
    return None


def test_the_hub_refuses_loop_work_from_another_thread_once_attached() -> None:
    async def scenario() -> None:
        hub = Hub(Metrics())
        hub.attach(asyncio.get_running_loop(), no_snapshot)
        refused = await from_another_thread(lambda: hub.publish("tables", "upsert", {"id": 1}))
        assert isinstance(refused, WrongThread) and "Hub.publish" in str(refused)
        assert hub.topics["tables"].seq == 0, "nothing was published from the wrong thread"
        assert isinstance(await from_another_thread(lambda: hub.close_all()), WrongThread)
        assert await from_another_thread(lambda: hub.publish_threadsafe("tables", "upsert", {"id": 1})) is None
        await asyncio.sleep(0)  # the turn that drains it, on the loop
        assert hub.topics["tables"].seq == 1

    asyncio.run(scenario())


def test_a_websocket_connection_refuses_writes_from_another_thread() -> None:
    async def scenario() -> None:
        ws: Any = SimpleNamespace(io_proto=None, ws_proto=None)  # never written to: the queue is checked first
        connection = Connection(ws, principal())
        refused = await from_another_thread(lambda: connection.put(text_frame(b"{}")))
        assert isinstance(refused, WrongThread) and "Connection.put" in str(refused)
        assert len(connection.queue) == 0
        connection.stop()  # on the loop: fine

    asyncio.run(scenario())


def test_a_robot_link_refuses_calls_from_another_thread() -> None:
    async def scenario() -> None:
        made: list[LinkProtocol] = []
        context = LinkContext(LinkRegistry(), RobotDirectory(), Metrics(), 2.0, None, None, 5.0)

        def protocol() -> LinkProtocol:
            made.append(LinkProtocol(context))
            return made[-1]

        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, "127.0.0.1", 0)
        client = socket.create_connection(server.sockets[0].getsockname()[:2])
        while not made:
            await asyncio.sleep(0.01)
        link = made[0]
        refused = await from_another_thread(lambda: link.send_bytes(b'{"type":"welcome"}\n'))
        assert isinstance(refused, WrongThread) and "LinkProtocol.send_bytes" in str(refused)
        assert isinstance(await from_another_thread(lambda: link.close_link("test")), WrongThread)
        link.close_link("test over")  # on the loop: fine
        client.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
