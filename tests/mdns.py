"""mDNS on loopback for tests: responders standing in for other edges, a listener that
hears what one responder sends, and a way to lose the unicast answers between responders.

Everything async here runs on the test's own asyncio loop (`asyncio.run`).
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from zeroconf import DNSIncoming, DNSService, IPVersion, current_time_millis
from zeroconf._core import _REGISTER_BROADCASTS
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

ROBODINE = "_robodine._tcp.local."
HTTP = "_http._tcp.local."
TYPE_SRV = 33
CLASS_IN = 1
MDNS_GROUP = socket.inet_aton("224.0.0.251")
ANNOUNCEMENTS = _REGISTER_BROADCASTS
"""How many times zeroconf announces a registered service (RFC 6762 section 8.3 asks for at
least two), 225 ms apart: a responder that starts after the last one never hears them. The
count is zeroconf's: nothing on the wire says an announcement was the last."""

T = TypeVar("T")


def loopback() -> AsyncZeroconf:
    """A zeroconf of the test's own on loopback, as an edge bound to 127.0.0.1 has."""
    return AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)


def service(kind: str, instance: str, port: int, host: str, txt: dict[str, str] | None = None) -> AsyncServiceInfo:
    return AsyncServiceInfo(
        kind, f"{instance}.{kind}", port=port, properties=txt or {}, server=host, parsed_addresses=["127.0.0.1"]
    )


@contextmanager
def unicast_lost() -> Iterator[None]:
    """While inside, unicast mDNS between the responders on loopback goes to nobody.

    Every responder here binds 127.0.0.1:5353 with SO_REUSEPORT, and Linux hands a unicast
    datagram to one socket of that group, picked by a hash of the addresses and a per-boot
    secret: on some machines the answer to a probe (which zeroconf asks for by unicast)
    reaches the prober, on others the answering responder's own socket. A socket bound there
    and connected to 127.0.0.1:5353 matches those datagrams more closely than the group, so it
    takes them all: the unlucky machine's behaviour, on every machine. Multicast is untouched
    (it goes to every socket bound to the wildcard address and joined to the group)."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sink.bind(("127.0.0.1", 5353))
        sink.connect(("127.0.0.1", 5353))
        yield
    finally:
        sink.close()


class Heard(asyncio.DatagramProtocol):
    """Counts, per name, the mDNS responses on loopback that carry an SRV record for it:
    a socket of the test's own in the mDNS group, reading every packet as it comes.

    Not a zeroconf listener: zeroconf drops a packet identical to one it read in the last
    0.8 s, and a responder's repeated announcements are exactly that. Runs on the test's loop."""

    def __init__(self, names: list[str]) -> None:
        self.names = {name.lower() for name in names}
        self.packets: Counter[str] = Counter()
        self.changed = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> Heard:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("", 5353))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, MDNS_GROUP + socket.inet_aton("127.0.0.1"))
        self._transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = DNSIncoming(data)
        if not message.is_response():
            return
        for name in {r.key for r in message.answers() if r.type == TYPE_SRV and r.ttl and r.key in self.names}:
            self.packets[name] += 1
        self.changed.set()

    async def until(self, packets: int, timeout: float = 15.0) -> None:
        """Wait until every name was heard in `packets` packets."""
        async with asyncio.timeout(timeout):
            while any(self.packets[name] < packets for name in self.names):
                self.changed.clear()
                await self.changed.wait()


async def soon(check: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """`tests.waiting.eventually` for the event loop: poll `check` without blocking it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {result!r})")
        await asyncio.sleep(0.02)
    return result


def srv_ports(zc: AsyncZeroconf, name: str) -> set[int]:
    """The ports of the live SRV records for `name` in this zeroconf's cache: what a robot
    resolving the name would be told."""
    now = current_time_millis()
    records = zc.zeroconf.cache.async_all_by_details(name, TYPE_SRV, CLASS_IN)
    return {record.port for record in records if isinstance(record, DNSService) and not record.is_expired(now)}
