"""A hub connection writes straight to its transport, holds frames while the client is
behind, and resumes once it catches up: nothing lost, nothing reordered.

Real sockets on 127.0.0.1; the only stand-in is the object holding the transport and
the protocol state, which Sanic's WebSocket gives the hub in the service, and a protocol
doing with the transport's flow control what Sanic's does (`FlowControlled`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

from websockets.protocol import State
from websockets.server import ServerProtocol

from robodine_edge.http.hub import HIGH_WATER, QUEUE_LIMIT, Connection
from robodine_edge.http.outbound import OutboundQueue
from robodine_edge.http.wsframe import text_frame
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import Principal, Role, UserId

FRAME_COUNT = 600
PAYLOAD = 4000


class FlowControlled(asyncio.Protocol):
    """As Sanic's `SanicProtocol`: the transport pauses and resumes it, `send` waits."""

    def __init__(self) -> None:
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    async def send(self, data: bytes) -> None:
        await self.can_write.wait()
        self.transport.write(data)


def principal() -> Principal:
    return Principal(UserId(1), "ana", Role.STAFF, "jti", time.time() + 3600)


def payload(n: int) -> bytes:
    return (b'{"n":%06d,"pad":"' % n) + b"x" * (PAYLOAD - 20) + b'"}'


def read_all(sock: socket.socket, size: int, out: bytearray) -> None:
    sock.settimeout(10)  # a broken resume fails the test instead of hanging it
    while len(out) < size:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            return
        if not chunk:
            return
        out.extend(chunk)


def close_frame(stream: bytes) -> int | None:
    """The code of the close frame `stream` (server frames, unmasked) ends with; None without one."""
    at, code = 0, None
    while at + 2 <= len(stream):
        opcode, size, head = stream[at] & 0x0F, stream[at + 1] & 0x7F, 2
        if size == 126:
            size, head = int.from_bytes(stream[at + 2 : at + 4], "big"), 4
        elif size == 127:
            size, head = int.from_bytes(stream[at + 2 : at + 10], "big"), 10
        code = int.from_bytes(stream[at + head : at + head + 2], "big") if opcode == 0x8 else None
        at += head + size
    return code


def test_a_client_that_falls_behind_gets_everything_in_order_once_it_reads() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        transport, protocol = await loop.create_connection(FlowControlled, *listener.getsockname())
        peer, _ = listener.accept()
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)  # as the service caps
        ws: Any = SimpleNamespace(io_proto=protocol, ws_proto=ServerProtocol(state=State.OPEN))  # what Connection uses
        metrics = Metrics()
        connection = Connection(ws, principal(), metrics)
        frames = [text_frame(payload(n)) for n in range(FRAME_COUNT)]
        held = False
        for frame in frames:  # one frame per loop turn, as a steady publisher would
            connection.put(frame)
            await asyncio.sleep(0)
            held = held or connection._waiter is not None
        assert held, "the client never read, so the connection must have stopped writing"
        assert transport.get_write_buffer_size() <= HIGH_WATER + len(frames[0])
        assert len(connection.queue) > 0, "frames wait in the bounded queue, not in the transport"
        received = bytearray()
        reader = threading.Thread(target=read_all, args=(peer, sum(map(len, frames)), received))
        reader.start()
        await asyncio.to_thread(reader.join, 20)
        assert bytes(received) == b"".join(frames)
        assert len(connection.queue) == 0 and connection._waiter is None
        connection.stop()
        transport.close()
        peer.close()
        listener.close()

    asyncio.run(scenario())


def test_nothing_is_written_after_the_close_frame() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        transport, protocol = await loop.create_connection(FlowControlled, *listener.getsockname())
        peer, _ = listener.accept()
        proto: Any = ServerProtocol(state=State.OPEN)
        ws: Any = SimpleNamespace(io_proto=protocol, ws_proto=proto)
        connection = Connection(ws, principal())
        connection.put(text_frame(b'{"first":1}'))
        await asyncio.sleep(0.05)
        proto.send_close(1001, "bye")  # now CLOSING: data frames may no longer be sent
        connection.put(text_frame(b'{"late":1}'))
        await asyncio.sleep(0.05)
        peer.settimeout(1)
        assert peer.recv(1024) == text_frame(b'{"first":1}')
        transport.close()
        peer.close()
        listener.close()

    asyncio.run(scenario())


def test_a_client_too_far_behind_is_closed_at_once_and_its_queue_dropped() -> None:
    """New entities do not coalesce: past the hard limit the client goes (1013) now,
    not after five seconds of memory growing."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        transport, protocol = await loop.create_connection(FlowControlled, *listener.getsockname())
        peer, _ = listener.accept()
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        ws: Any = SimpleNamespace(io_proto=protocol, ws_proto=ServerProtocol(state=State.OPEN))
        metrics = Metrics()
        connection = Connection(ws, principal(), metrics)
        for n in range(QUEUE_LIMIT + 200):  # a new key each: nothing to coalesce
            connection.put(text_frame(payload(n)), key=("events", n))
            if n % 100 == 0:
                await asyncio.sleep(0)
        assert connection.closed and len(connection.queue) == 0
        received = bytearray()
        await asyncio.to_thread(read_all, peer, 1 << 30, received)  # to the end: the close frame, then EOF
        assert close_frame(bytes(received)) == 1013
        assert metrics.registry.get_sample_value("robodine_websocket_slow_closed_total") == 1
        transport.close()
        peer.close()
        listener.close()

    asyncio.run(scenario())


def test_a_partial_take_leaves_the_rest_queued_and_still_coalescing() -> None:
    queue = OutboundQueue(cap=3)
    for n in range(5):
        queue.put(bytes([n]) * 100, key=("robots", n % 2))  # keys 0 and 1 alternate
    assert len(queue) == 3  # past the cap, frames 1 and 2 were replaced by 3 and 4 (same keys)
    taken = queue.take(150)  # the frame crossing 150 bytes goes too
    assert [frame[0] for frame in taken] == [0, 3]
    assert len(queue) == 1 and queue.over_since is None
    queue.put(bytes([7]) * 100, key=("robots", 7))
    queue.put(bytes([8]) * 100, key=("robots", 8))
    queue.put(bytes([9]) * 100, key=("robots", 0))  # at the cap: replaces frame 4, the waiting key 0
    assert [frame[0] for frame in queue.take(10_000)] == [7, 8, 9]
