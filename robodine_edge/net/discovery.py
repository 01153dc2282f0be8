"""Advertising the edge over mDNS / DNS-SD (docs/ROBOTS.md, "Finding the edge"), with python-zeroconf's async API.

Two records: `_robodine._tcp.local.` for robots (port = the robot TCP port, TXT with
the other ports, store and version) and `_http._tcp.local.` for tablets, under one instance
name of our own on the link (`mdns_names`). Addresses are every non-loopback interface the
service listens on; when it binds loopback only, the loopback address, and zeroconf itself
then stays on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

import ifaddr
from zeroconf import DNSRecord, InterfaceChoice, IPVersion, current_time_millis
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from robodine_edge.config import MDNS_INSTANCE_PREFIX
from robodine_edge.errors import NoMdnsName
from robodine_edge.net.mdns_names import FLUSH_AFTER_MS, SETTLE_S, Names, NameWatch, first_free, probe, wins

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
    return f"{MDNS_INSTANCE_PREFIX}{store_id}"


WILDCARD_V4 = ("0.0.0.0", "")
WILDCARD_V6 = "::"


def local_addresses() -> list[str]:
    """Every address of this machine's interfaces, IPv4 and IPv6 (without a `%scope`).

    Reads the interfaces afresh (a Pi's Wi-Fi may have come up since the last call);
    quick enough for the event loop, which is where `Advertiser.start` calls it."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            found.append(ip.ip if isinstance(ip.ip, str) else ip.ip[0].split("%")[0])
    return found


def advertised_addresses(host: str, interfaces: list[str]) -> list[str]:
    """The addresses to announce for listeners bound to `host` (an IP literal or a
    wildcard), given the machine's interface addresses. Pure, so each case is tested.

    `0.0.0.0` (or empty) listens on every IPv4 interface, `::` on every IPv4 and IPv6
    one (Linux binds it dual-stack): each non-loopback address of those families.
    A specific address is itself, loopback included (then only loopback is reachable,
    which is what tests on one host need). A wildcard on a machine with no network
    yet falls back to `127.0.0.1`, so the edge is still found on the machine itself."""
    if host in WILDCARD_V4 or host == WILDCARD_V6:
        families = (4, 6) if host == WILDCARD_V6 else (4,)
        found = {
            ip
            for ip in map(ipaddress.ip_address, interfaces)
            if ip.version in families and not ip.is_loopback and not ip.is_unspecified
        }
        ordered = sorted(found, key=lambda ip: (ip.version, ip.packed))
        return [str(ip) for ip in ordered] or ["127.0.0.1"]
    return [str(ipaddress.ip_address(host))]


def zeroconf_interfaces(addresses: list[str]) -> tuple[list[str] | InterfaceChoice, IPVersion]:
    """Where zeroconf itself sends and listens, for records carrying `addresses`. Pure.

    Loopback only: loopback only (multicast works on `lo`, and nothing leaves the
    host). IPv4 only: exactly those interfaces. With IPv6 (zeroconf names IPv6
    interfaces by index, not address): every interface, both families."""
    ips = [ipaddress.ip_address(a) for a in addresses]
    if all(ip.is_loopback for ip in ips):
        return ["127.0.0.1"], IPVersion.V4Only
    if all(ip.version == 4 for ip in ips):
        return [str(ip) for ip in ips], IPVersion.V4Only
    return InterfaceChoice.All, IPVersion.All


async def bound_address(host: str) -> str:
    """`host` as the IP the listeners bound: a name (`localhost`) is resolved the way
    `bind` resolves it (IPv4 unless it contains `:`, see `net.sockets`). Event loop."""
    if host in WILDCARD_V4 or host == WILDCARD_V6:
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
        return str(infos[0][4][0])


class Advertiser:
    """Claims a name of its own on the link when the service is ready, keeps it against
    later claimants while running, withdraws the records when the service stops.

    Every method runs on the event loop. `start` returns once the records are announced:
    probing the name takes ~0.75-1.0 s (`mdns_names`), each name found taken up to 0.25 s more.
    """

    def __init__(self, ad: Advertisement) -> None:
        self._ad = ad
        self._zc: AsyncZeroconf | None = None
        self._watch: NameWatch | None = None
        self._addresses: list[str] = []
        self._announcing: list[asyncio.Future[Any]] = []
        self._defending: asyncio.Task[None] | None = None
        self.infos: list[AsyncServiceInfo] = []

    @property
    def name(self) -> str | None:
        """The instance name in use (`robodine-edge <id>` or `-2`, ...), None before start."""
        return self.infos[0].get_name() if self.infos else None

    async def start(self) -> None:
        self._addresses = advertised_addresses(await bound_address(self._ad.host), local_addresses())
        interfaces, ip_version = zeroconf_interfaces(self._addresses)
        self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=ip_version)
        await self._zc.zeroconf.async_wait_for_start()
        self._watch = NameWatch(self._ad.store_id)
        self._zc.zeroconf.async_add_listener(self._watch, None)
        await self._claim()
        self._defending = asyncio.get_running_loop().create_task(self._defend())

    async def stop(self) -> None:
        if self._zc is None:
            return
        if self._defending is not None:
            self._defending.cancel()
            await asyncio.gather(self._defending, return_exceptions=True)
        await asyncio.gather(*self._announcing, return_exceptions=True)
        try:
            await self._zc.async_unregister_all_services()
        finally:
            await self._zc.async_close()
            self._zc = None

    async def _claim(self) -> None:
        """Probe the first name nobody is known to hold, the next one while they turn out
        taken, then register both records under it. zeroconf's own probing is skipped
        (`cooperating_responders`): ours has just been done, with multicast answers."""
        assert self._zc is not None and self._watch is not None
        zc, types = self._zc.zeroconf, (ROBODINE_TYPE, HTTP_TYPE)
        for names in first_free(self._ad.store_id, self._watch, types):
            infos = self._records(names)
            if await probe(zc, self._watch, names, types, _unique_records(infos)):
                break
        for info in infos:
            self._announcing.append(
                asyncio.ensure_future(await zc.async_register_service(info, cooperating_responders=True))
            )
        self.infos = infos
        self._watch.claim(names.owners(types), _unique_records(infos))
        wanted = instance_name(self._ad.store_id)
        if names.instance != wanted:
            log.warning("mDNS name %r is taken on this network (another edge with store id %r?); advertised as %r",
                        wanted, self._ad.store_id, names.instance)  # fmt: skip
        log.info(
            "advertised over mDNS", extra={"fields": {"name": names.instance, "addresses": ",".join(self._addresses)}}
        )

    async def _defend(self) -> None:
        """RFC 6762 section 9, for as long as the records are out: another responder
        announcing our name with other data (an edge with our store id that started at the
        same moment, or came back on the link) is a conflict. Both judge it by the same
        tie-break (`wins`), so of two edges exactly one moves on. The loser stops announcing
        and withdraws without goodbyes (a goodbye would also withdraw the PTR record the
        winner shares), then claims the next free name. The winner announces again once the
        other's records are a second old: caches took them with the cache-flush bit, which
        dropped ours, and a record flushes only those received over a second before it
        (RFC 6762 section 10.2)."""
        assert self._zc is not None and self._watch is not None
        zc, watch = self._zc.zeroconf, self._watch
        while True:
            await watch.conflict.wait()
            await asyncio.sleep(SETTLE_S)
            watch.conflict.clear()
            theirs = watch.contested()
            if not theirs:
                continue
            if wins(_unique_records(self.infos), theirs):
                watch.settle(theirs)
                log.info("mDNS name %r is announced by another responder too, which yields to us", self.name)
                while (wait_ms := watch.newest(theirs) + FLUSH_AFTER_MS - current_time_millis()) > 0:
                    await asyncio.sleep(wait_ms / 1000)
                self._announcing = [future for future in self._announcing if not future.done()]
                for info in self.infos:
                    self._announcing.append(asyncio.ensure_future(await zc.async_update_service(info)))
                continue
            for future in self._announcing:
                future.cancel()
            self._announcing = []
            zc.registry.async_remove([*self.infos])
            watch.release()
            try:
                await self._claim()
            except NoMdnsName as exc:
                log.error("not advertised over mDNS any more (robots must be told the edge's address): %s", exc)
                return

    def _records(self, names: Names) -> list[AsyncServiceInfo]:
        ad = self._ad
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
                f"{names.instance}.{ROBODINE_TYPE}",
                port=ad.robot_port,
                properties=txt,
                server=names.host,
                parsed_addresses=self._addresses,
            ),
            AsyncServiceInfo(
                HTTP_TYPE,
                f"{names.instance}.{HTTP_TYPE}",
                port=ad.http_port,
                properties={"path": "/"},
                server=names.host,
                parsed_addresses=self._addresses,
            ),
        ]


def _unique_records(infos: list[AsyncServiceInfo]) -> list[DNSRecord]:
    """The records only we may hold under these names: SRV and TXT of each service, and
    the host's addresses (one host for both)."""
    records: list[DNSRecord] = [record for info in infos for record in (info.dns_service(), info.dns_text())]
    return records + list(infos[0].dns_addresses())
