"""Fan-out to many clients on one loop: every connection given frames in a turn is
written at the end of that turn (one callback for all, `EndOfTurn`), and batching them
changes nothing a client sees — every frame, in order, counted once; a client that is
behind or broken holds back no one else (a broken one is cut).

Real sockets on 127.0.0.1; the stand-ins are the object holding the transport and the
protocol state, which Sanic's WebSocket gives the hub in the service, and one transport
whose write fails (`BrokenTransport`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import SimpleNamespace
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from websockets.protocol import State
from websockets.server import ServerProtocol

from robodine_edge.http.hub import Connection, Hub
from robodine_edge.http.outbound import OutboundQueue
from robodine_edge.http.topics import encode, make_message
from robodine_edge.http.wsframe import text_frame
from robodine_edge.process.metrics import Metrics
from tests.http.test_hub_backpressure import FlowControlled, payload, principal, read_all

CLIENTS = 40
MESSAGES = 30


class Reader(asyncio.Protocol):
    """The client's end: keeps every byte; `done` once `expected` bytes arrived."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.data = bytearray()
        self.done = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data.extend(data)
        if len(self.data) >= self.expected:
            self.done.set()


class BrokenTransport:
    """A transport whose every write fails, as one whose socket went away under it may."""

    def __init__(self) -> None:
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        raise ConnectionResetError("the socket went away")


def websocket(io_proto: Any, **more: Any) -> Any:
    """What a Connection uses of Sanic's Websocket: its protocol (holding the transport)
    and the WebSocket protocol's state."""
    return SimpleNamespace(io_proto=io_proto, ws_proto=ServerProtocol(state=State.OPEN), **more)


async def snapshot(topic: str, who: Any) -> list[dict[str, Any]]:
    return []


def orders(n: int) -> dict[str, Any]:
    return {"id": n, "table_id": 1, "status": "placed", "note": "x" * 40}


def test_every_client_of_a_fan_out_gets_every_message_in_order_and_each_is_counted_once() -> None:
    """Several publishes in one turn and one per turn, to many connections: each client's
    bytes are exactly the snapshot then every message in order."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        metrics = Metrics()
        hub = Hub(metrics)
        hub.attach(loop, snapshot)
        readers: list[Reader] = []

        def reader() -> Reader:
            readers.append(Reader(len(expected)))
            return readers[-1]

        expected = text_frame(encode("orders", 0, "snapshot", []))
        expected += b"".join(make_message("orders", n + 1, "upsert", orders(n)).frame for n in range(MESSAGES))
        server = await loop.create_server(reader, "127.0.0.1", 0)
        connections = []
        for _ in range(CLIENTS):
            transport, protocol = await loop.create_connection(FlowControlled, *server.sockets[0].getsockname()[:2])
            ws = websocket(protocol)
            connection = Connection(ws, principal(), metrics)
            hub.connect(connection)
            await hub.subscribe(connection, "orders", None, None)
            connections.append((connection, transport))
        for n in range(MESSAGES):
            hub.publish("orders", "upsert", orders(n))
            if n % 3 == 2:  # three to a turn
                await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*(reader.done.wait() for reader in readers)), 10)
        assert len(readers) == CLIENTS
        assert all(bytes(reader.data) == expected for reader in readers)
        sent = metrics.registry.get_sample_value("robodine_websocket_messages_total")
        assert sent == CLIENTS * (MESSAGES + 1)  # the snapshot and every message, once each
        for connection, transport in connections:
            hub.disconnect(connection)
            transport.close()
        server.close()

    asyncio.run(scenario())


def test_a_client_behind_holds_back_no_one_and_gets_everything_once_it_reads() -> None:
    """In the same turns as clients that read, one that does not: theirs arrive, its
    frames wait in its queue, and once it reads it has them all in order."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        stalled_transport, stalled_protocol = await loop.create_connection(FlowControlled, *listener.getsockname())
        stalled_peer, _ = listener.accept()
        stalled_transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        stalled = Connection(websocket(stalled_protocol), principal())
        frames = [text_frame(payload(n)) for n in range(300)]
        readers = [Reader(sum(map(len, frames))) for _ in range(5)]
        pending = iter(readers)
        server = await loop.create_server(lambda: next(pending), "127.0.0.1", 0)
        reading = []
        for _ in readers:
            transport, protocol = await loop.create_connection(FlowControlled, *server.sockets[0].getsockname()[:2])
            ws = websocket(protocol)
            reading.append((Connection(ws, principal()), transport))
        for frame in frames:
            stalled.put(frame)  # first into every turn's batch
            for connection, _ in reading:
                connection.put(frame)
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*(reader.done.wait() for reader in readers)), 10)
        assert all(bytes(reader.data) == b"".join(frames) for reader in readers)
        assert stalled._waiter is not None and len(stalled.queue) > 0, "the stalled client's frames wait"
        received = bytearray()
        thread = threading.Thread(target=read_all, args=(stalled_peer, sum(map(len, frames)), received))
        thread.start()
        await asyncio.to_thread(thread.join, 20)
        assert bytes(received) == b"".join(frames)
        for connection, transport in [(stalled, stalled_transport), *reading]:
            connection.stop()
            transport.close()
        server.close()
        stalled_peer.close()
        listener.close()

    asyncio.run(scenario())


def test_a_client_whose_write_fails_is_cut_and_the_others_still_get_the_frame() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        broken_transport = BrokenTransport()
        broken = Connection(websocket(SimpleNamespace(transport=broken_transport)), principal())
        frame = text_frame(b'{"n":1}')
        readers = [Reader(len(frame)) for _ in range(3)]
        pending = iter(readers)
        server = await loop.create_server(lambda: next(pending), "127.0.0.1", 0)
        healthy = []
        for _ in readers:
            transport, protocol = await loop.create_connection(FlowControlled, *server.sockets[0].getsockname()[:2])
            ws = websocket(protocol)
            healthy.append((Connection(ws, principal()), transport))
        broken.put(frame)  # first in the turn's batch
        for connection, _ in healthy:
            connection.put(frame)
        await asyncio.wait_for(asyncio.gather(*(reader.done.wait() for reader in readers)), 10)
        assert all(bytes(reader.data) == frame for reader in readers)
        assert broken.closed and broken_transport.aborted
        broken.put(frame)
        await asyncio.sleep(0)
        assert len(broken.queue) == 0, "nothing more is queued for it"
        for connection, transport in healthy:
            connection.stop()
            transport.close()
        server.close()

    asyncio.run(scenario())


class AlwaysIndexed:
    """The queue's rule stated plainly: at or over the cap, a frame with a key replaces
    the last frame put with that key if it is still waiting."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[tuple[int, Any, bytes]] = []
        self.last: dict[Any, int] = {}
        self.counter = 0
        self.coalesced = 0

    def put(self, frame: bytes, key: Any) -> int:
        self.counter += 1
        if key is not None and len(self.items) >= self.cap and key in self.last:
            waiting = [item for item in self.items if item[0] == self.last[key]]
            if waiting:
                self.items.remove(waiting[0])
                self.coalesced += 1
        self.items.append((self.counter, key, frame))
        if key is not None:
            self.last[key] = self.counter
        return len(self.items)

    def take(self, limit: int) -> list[bytes]:
        frames: list[bytes] = []
        while self.items and sum(map(len, frames)) < limit:
            frames.append(self.items.pop(0)[2])
        return frames

    def take_all(self) -> list[bytes]:
        frames = [frame for _, _, frame in self.items]
        self.items.clear()
        return frames


frames = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.integers(1, 30)), min_size=1, max_size=6)
"""A turn's frames for one client: (key, size) each, a few keys so that they repeat."""


class QueueAgainstThePlainRule(RuleBasedStateMachine):
    """The queue indexes its keys only while at its cap; what it holds, hands out and
    coalesces is what it would be had it always indexed them (`AlwaysIndexed`), as it
    fills, drains below its cap and fills again."""

    @initialize(cap=st.integers(1, 6))
    def start(self, cap: int) -> None:
        self.queue, self.plain, self.n = OutboundQueue(cap), AlwaysIndexed(cap), 0

    @rule(burst=frames)
    def put(self, burst: list[tuple[Any, int]]) -> None:
        for key, size in burst:
            self.n += 1
            frame = self.n.to_bytes(2, "big") * size
            assert self.queue.put(frame, key) == self.plain.put(frame, key)

    @rule(limit=st.integers(1, 120))
    def take(self, limit: int) -> None:
        assert self.queue.take(limit) == self.plain.take(limit)

    @rule()
    def take_all(self) -> None:
        assert self.queue.take_all() == self.plain.take_all()

    @invariant()
    def holds_the_same(self) -> None:
        if hasattr(self, "queue"):  # before `start`
            assert len(self.queue) == len(self.plain.items)
            assert self.queue.coalesced == self.plain.coalesced
            assert (self.queue.over_since is not None) == (len(self.plain.items) >= self.plain.cap)


test_the_queue_keeps_and_coalesces_exactly_what_the_plain_rule_says = QueueAgainstThePlainRule.TestCase
test_the_queue_keeps_and_coalesces_exactly_what_the_plain_rule_says.settings = settings(
    max_examples=200, stateful_step_count=60, deadline=None
)
