"""The ceiling for telemetry: a bare asyncio (uvloop) datagram endpoint that only counts.

Run as `python -m bench.udp_sink DATA_PORT CONTROL_PORT`; a datagram to the control port
is answered with the count so far.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import uvloop


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.count += 1


class Control(asyncio.DatagramProtocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(str(self.sink.count).encode(), addr)


async def main() -> None:
    loop = asyncio.get_running_loop()
    sink = Sink()
    transport, _ = await loop.create_datagram_endpoint(lambda: sink, local_addr=("127.0.0.1", int(sys.argv[1])))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    await loop.create_datagram_endpoint(lambda: Control(sink), local_addr=("127.0.0.1", int(sys.argv[2])))
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(main())
