"""Advertising the edge over mDNS / DNS-SD (SPEC section 3), with python-zeroconf's async API.

Two records: `_robodine._tcp.local.` for robots (port = the robot TCP port, TXT with
the other ports, store and version) and `_http._tcp.local.` for tablets. Addresses are
every non-loopback interface the service listens on; when it binds loopback only, the
loopback address, and zeroconf itself then stays on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from typing import Any

import ifaddr
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)
ROBODINE_TYPE = "_robodine._tcp.local."
HTTP_TYPE = "_http._tcp.local."
PROTO_VERSION = "1"


@dataclass(frozen=True)
class Advertisement:
    store_id: str
    version: str
    host: str
    http_port: int
    robot_port: int
    telemetry_port: int
    video_port: int | None


def instance_name(store_id: str) -> str:
    return f"robodine-edge {store_id}"


def advertised_addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce for a listener bound to `host`."""
    if host in ("0.0.0.0", "", "::"):
        found = [
            str(ip.ip)
            for adapter in ifaddr.get_adapters()
            for ip in adapter.ips
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback
        ]
        return sorted(set(found)) or ["127.0.0.1"]
    return [host]


class Advertiser:
    """Registers the records when the service is ready, withdraws them when it stops.

    Both methods run on the event loop; registering waits for mDNS probing (~1.2 s).
    """

    def __init__(self, ad: Advertisement) -> None:
        self._ad = ad
        self._zc: AsyncZeroconf | None = None
        self._announcing: asyncio.Future[Any] | None = None
        self.infos: list[AsyncServiceInfo] = []

    async def start(self) -> None:
        addresses = advertised_addresses(self._ad.host)
        loopback_only = all(ipaddress.ip_address(a).is_loopback for a in addresses)
        self._zc = AsyncZeroconf(interfaces=["127.0.0.1"] if loopback_only else addresses, ip_version=IPVersion.V4Only)
        self.infos = self._records(addresses)
        # Both records probe at once: one ~1.1 s wait (the protocol's), not two. Once
        # probed they are ours and answered; the announcements go out in the background.
        announcements = await asyncio.gather(*(self._zc.async_register_service(info) for info in self.infos))
        self._announcing = asyncio.gather(*announcements)
        log.info(
            "advertised over mDNS",
            extra={"fields": {"name": instance_name(self._ad.store_id), "addresses": ",".join(addresses)}},
        )

    async def stop(self) -> None:
        if self._zc is None:
            return
        if self._announcing is not None:
            await asyncio.gather(self._announcing, return_exceptions=True)
        try:
            await self._zc.async_unregister_all_services()
        finally:
            await self._zc.async_close()
            self._zc = None

    def _records(self, addresses: list[str]) -> list[AsyncServiceInfo]:
        ad = self._ad
        name = instance_name(ad.store_id)
        server = re.sub(r"[^A-Za-z0-9-]", "-", f"robodine-edge-{ad.store_id}") + ".local."
        packed = [socket.inet_aton(address) for address in addresses]
        txt = {
            "proto": PROTO_VERSION,
            "http": str(ad.http_port),
            "udp": str(ad.telemetry_port),
            "video": str(ad.video_port) if ad.video_port is not None else "",
            "store": ad.store_id,
            "version": ad.version,
        }
        return [
            AsyncServiceInfo(
                ROBODINE_TYPE,
                f"{name}.{ROBODINE_TYPE}",
                port=ad.robot_port,
                properties=txt,
                server=server,
                addresses=packed,
            ),
            AsyncServiceInfo(
                HTTP_TYPE,
                f"{name}.{HTTP_TYPE}",
                port=ad.http_port,
                properties={"path": "/"},
                server=server,
                addresses=packed,
            ),
        ]
