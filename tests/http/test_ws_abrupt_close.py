"""WebSocket clients that vanish (a reset, no close handshake) leave nothing pending:
no task of theirs is destroyed later with asyncio's "Task was destroyed but it is pending!".

The clients here speak raw WebSocket over a socket, so they control exactly what the
edge has received and not yet read when they reset."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import orjson
import pytest

from tests.service import ServiceProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
CLOSE = 0x8


class RawSocket:
    """A WebSocket client without a library: frames in and out, and a reset to end."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(UPGRADE.format(path=path).encode())
        self.data = bytearray()
        while b"\r\n\r\n" not in self.data:
            self._more()
        head, _, rest = bytes(self.data).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.data = bytearray(rest)

    def send(self, *texts: bytes) -> None:
        """Text frames (masked, as from a client), all in one write."""
        frames = b""
        for text in texts:
            size = bytes([0x80 | len(text)]) if len(text) < 126 else bytes([0x80 | 126]) + len(text).to_bytes(2, "big")
            frames += b"\x81" + size + b"\0\0\0\0" + text  # a zero mask: the text as it is
        self.sock.sendall(frames)

    def read(self) -> tuple[int, bytes]:
        """The next frame from the edge: (opcode, payload)."""
        while True:
            if len(self.data) >= 2:
                size, at = self.data[1] & 0x7F, 2
                if size == 126 and len(self.data) >= 4:
                    size, at = int.from_bytes(self.data[2:4], "big"), 4
                elif size == 127 and len(self.data) >= 10:
                    size, at = int.from_bytes(self.data[2:10], "big"), 10
                if size < 126 and len(self.data) >= at + size:
                    opcode, payload = self.data[0] & 0x0F, bytes(self.data[at : at + size])
                    del self.data[: at + size]
                    return opcode, payload
            self._more()

    def read_until(self, opcode: int) -> bytes:
        while True:
            got, payload = self.read()
            if got == opcode:
                return payload

    def reset(self) -> None:
        """Vanish: an RST, no close frame (a tablet losing Wi-Fi, a killed browser)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the edge closed the connection")
        self.data += chunk


def test_clients_that_vanish_leave_no_task_pending(tmp_path: Path) -> None:
    """Messages the edge received but never read — sent behind a refused `auth`, behind a
    burst of subscriptions, or to the one-way topic door — are dropped with the
    connection. The service's final collection at stop would log any task left behind."""
    with ServiceProcess(tmp_path) as service:
        token = service.token()
        port = int(service.runtime["http_port"])
        sockets = []
        for _ in range(20):
            refused = RawSocket(port, "/ws")
            refused.send(b'{"type":"hello"}', b'{"type":"more"}', b'{"type":"and more"}')
            assert refused.read_until(CLOSE)[:2] == (4401).to_bytes(2, "big")  # the handler is done
            sockets.append(refused)
            busy = RawSocket(port, "/ws")
            busy.send(orjson.dumps({"type": "auth", "token": token}))
            assert orjson.loads(busy.read()[1]) == {"type": "auth_ok"}
            busy.send(*(b'{"id":%d,"type":"subscribe","topic":"tables"}' % n for n in range(1, 6)))
            assert orjson.loads(busy.read()[1])["type"] == "result"
            sockets.append(busy)
            one_way = RawSocket(port, f"/ws/tables?token={token}")
            assert orjson.loads(one_way.read()[1])["type"] == "snapshot"
            one_way.send(b"hello", b"anyone?", b"hello")
            sockets.append(one_way)
        for client in sockets:
            client.reset()
        eventually(lambda: _clients(service) == 0, what="the edge noticing every client gone")
    assert service.lines and "full garbage collection" in service.log
    left = [line for line in service.lines if "Task was destroyed" in line or "never retrieved" in line]
    assert not left, left[:3]


def _clients(service: ServiceProcess) -> float:
    for line in service.http.get("/metrics").text.splitlines():
        if line.startswith("robodine_websocket_clients "):
            return float(line.split()[1])
    raise AssertionError("no robodine_websocket_clients in /metrics")
