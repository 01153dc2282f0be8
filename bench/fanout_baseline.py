"""The floor for fan-out: a bare uvloop server that writes each message to every WebSocket.

Run as `python -m bench.fanout_baseline PORT`. `GET` with `Upgrade: websocket` is a
subscriber: it gets the 101, then one snapshot frame (as the service sends), and every
message from then on. `POST /publish` with a JSON body writes that body as one text
frame to every subscriber, then answers 204: one encoding and one `write` per socket,
nothing else (no topic, no queue, no numbering). The bench posts the service's own
message bytes to it, so the two are timed with the same clients and the same sizes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
from typing import Any

import uvloop

from robodine_edge.http.wsframe import text_frame

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SNAPSHOT = text_frame(b'{"topic":"orders","seq":0,"type":"snapshot","data":[]}')


class Connection(asyncio.Protocol):
    def __init__(self, subscribers: set[asyncio.Transport]) -> None:
        self.subscribers = subscribers
        self.transport: Any = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.subscribers.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.transport in self.subscribers:
            return  # a subscriber sends nothing we read
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if head.startswith(b"GET") and headers.get(b"upgrade", b"").lower() == b"websocket":
                accept = base64.b64encode(hashlib.sha1(headers[b"sec-websocket-key"] + GUID).digest())
                self.transport.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + SNAPSHOT
                )
                self.subscribers.add(self.transport)
                self.buffer = b""
                return
            length = int(headers.get(b"content-length", b"0"))
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            frame = text_frame(body)
            for subscriber in self.subscribers:
                subscriber.write(frame)
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")


async def main() -> None:
    subscribers: set[asyncio.Transport] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(subscribers), "127.0.0.1", int(sys.argv[1]), backlog=2048)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())
