"""mDNS (SPEC section 3): which addresses are announced, and a real browser finding the edge.

The browser runs in the test process on loopback, as a robot on the same host would:
it is told of the service by `AsyncServiceBrowser`, resolves it, and is told again when
the record is withdrawn at SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from robodine_edge.net.discovery import Advertisement, Advertiser, advertised_addresses, zeroconf_interfaces
from tests.mdns import ANNOUNCEMENTS, Heard, loopback, service, soon, srv_ports, unicast_lost
from tests.service import ServiceProcess, service_env

STORE = f"browse-{os.getpid()}"  # another run on this host (a worker, a colleague) holds its own
INSTANCE = f"robodine-edge {STORE}"
ROBODINE = "_robodine._tcp.local."
HTTP = "_http._tcp.local."
INTERFACES = ["127.0.0.1", "::1", "192.0.2.2", "10.1.2.3", "fd00::2", "fe80::fc:ff:fe00:1", "169.254.7.7"]


# -- which addresses (pure) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", ["10.1.2.3", "169.254.7.7", "192.0.2.2"]),
        ("", ["10.1.2.3", "169.254.7.7", "192.0.2.2"]),
        ("::", ["10.1.2.3", "169.254.7.7", "192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1"]),
        ("192.0.2.2", ["192.0.2.2"]),
        ("fd00:0::2", ["fd00::2"]),
        ("127.0.0.1", ["127.0.0.1"]),
        ("::1", ["::1"]),
    ],
)
def test_the_addresses_announced_for_each_bind(host: str, expected: list[str]) -> None:
    assert advertised_addresses(host, INTERFACES) == expected


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_with_no_network_yet_falls_back_to_loopback(host: str) -> None:
    assert advertised_addresses(host, ["127.0.0.1", "::1"]) == ["127.0.0.1"]


def test_where_zeroconf_itself_listens() -> None:
    assert zeroconf_interfaces(["127.0.0.1"]) == (["127.0.0.1"], IPVersion.V4Only)
    assert zeroconf_interfaces(["10.1.2.3", "192.0.2.2"]) == (["10.1.2.3", "192.0.2.2"], IPVersion.V4Only)
    assert zeroconf_interfaces(["192.0.2.2", "fd00::2"]) == (InterfaceChoice.All, IPVersion.All)


# -- a real browser ------------------------------------------------------------------------


@pytest.fixture
def advertised(tmp_path: Path) -> Iterator[ServiceProcess]:
    env = service_env(tmp_path, ROBODINE_MDNS="1", ROBODINE_STORE_ID=STORE)
    with ServiceProcess(tmp_path, env) as service:
        yield service


class Browsing:
    """A loopback zeroconf with a browser on both types; `seen` holds (state, type, name).

    Built and used on one asyncio loop; the browser's handler runs on that loop too."""

    def __init__(self) -> None:
        self.zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
        self.seen: list[tuple[ServiceStateChange, str, str]] = []
        self.changed = asyncio.Event()
        self.browser = AsyncServiceBrowser(self.zc.zeroconf, [ROBODINE, HTTP], handlers=[self._on_change])

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        self.seen.append((state_change, service_type, name))
        self.changed.set()

    async def until(self, state: ServiceStateChange, timeout: float = 10.0) -> None:
        """Wait until the browser reported `state` for our instance of both types."""
        wanted = {(state, kind, f"{INSTANCE}.{kind}") for kind in (ROBODINE, HTTP)}
        async with asyncio.timeout(timeout):
            while not wanted <= set(self.seen):
                self.changed.clear()
                await self.changed.wait()

    async def resolve(self, kind: str) -> AsyncServiceInfo:
        info = AsyncServiceInfo(kind, f"{INSTANCE}.{kind}")
        assert await info.async_request(self.zc.zeroconf, 5000), f"{kind} did not resolve"
        return info

    async def close(self) -> None:
        await self.browser.async_cancel()
        await self.zc.async_close()


def browse(scenario: Callable[[Browsing], Awaitable[None]]) -> None:
    async def main() -> None:
        browsing = Browsing()
        try:
            await scenario(browsing)
        finally:
            await browsing.close()

    asyncio.run(main())


@pytest.mark.e2e
def test_a_browser_finds_both_records_with_every_txt_key_and_sees_them_withdrawn(advertised: ServiceProcess) -> None:
    runtime = advertised.runtime

    async def scenario(browsing: Browsing) -> None:
        await browsing.until(ServiceStateChange.Added)
        robodine = await browsing.resolve(ROBODINE)
        assert robodine.port == runtime["robot_port"]
        assert robodine.parsed_addresses() == ["127.0.0.1"]  # bound to loopback only
        txt = {k.decode(): (v or b"").decode() for k, v in robodine.properties.items()}
        assert set(txt) == {"proto", "http", "udp", "video", "store", "version"}
        assert {k: v for k, v in txt.items() if k != "video"} == {
            "proto": "1",
            "http": str(runtime["http_port"]),
            "udp": str(runtime["telemetry_port"]),
            "store": STORE,
            "version": runtime["version"],
        }
        http = await browsing.resolve(HTTP)
        assert http.port == runtime["http_port"] and http.properties == {b"path": b"/"}
        assert http.parsed_addresses() == ["127.0.0.1"]

        assert await asyncio.to_thread(advertised.stop, signal.SIGTERM) == 0
        await browsing.until(ServiceStateChange.Removed)

    browse(scenario)


@pytest.mark.e2e
def test_the_txt_video_key_is_the_bound_video_port(advertised: ServiceProcess) -> None:
    found: dict[bytes, bytes | None] = {}

    async def scenario(browsing: Browsing) -> None:
        await browsing.until(ServiceStateChange.Added)
        found.update((await browsing.resolve(ROBODINE)).properties)

    browse(scenario)
    video_port = advertised.runtime["video_port"]
    assert isinstance(video_port, int) and video_port > 0
    assert found[b"video"] == str(video_port).encode()


@pytest.mark.e2e
def test_a_second_edge_with_the_same_store_id_is_renamed_not_failed(tmp_path: Path) -> None:
    """DNS-SD's conflict rule: the second `robodine-edge <id>` on the network comes up as
    `robodine-edge <id>-2`, both records, both resolvable, instead of exiting with a
    traceback or advertising the first edge's name a second time.

    The second edge starts once the first's announcements are over (heard, all of them),
    and the unicast answers to zeroconf's own probes are lost (`unicast_lost`), as they are
    on machines where the kernel hands them to the answering edge's socket: the second edge
    only learns the name is taken by asking for multicast answers. With zeroconf's
    `allow_name_change` alone it advertised the same name, on every run."""
    store = f"dup-{os.getpid()}"
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    first = ServiceProcess(first_dir, service_env(first_dir, ROBODINE_MDNS="1", ROBODINE_STORE_ID=store))
    second = ServiceProcess(second_dir, service_env(second_dir, ROBODINE_MDNS="1", ROBODINE_STORE_ID=store))
    ports: dict[tuple[str, str], int] = {}

    async def scenario() -> None:
        listening = loopback()
        heard = await Heard([f"robodine-edge {store}.{kind}" for kind in (ROBODINE, HTTP)]).start()
        try:
            await asyncio.to_thread(first.start)
            await heard.until(ANNOUNCEMENTS)
            with unicast_lost():
                await asyncio.to_thread(second.start)
            for kind in (ROBODINE, HTTP):
                for name in (f"robodine-edge {store}", f"robodine-edge {store}-2"):
                    info = AsyncServiceInfo(kind, f"{name}.{kind}")
                    assert await info.async_request(listening.zeroconf, 5000), f"{name}.{kind} did not resolve"
                    ports[(kind, name)] = info.port or 0
        finally:
            heard.close()
            await listening.async_close()

    try:
        asyncio.run(scenario())
    finally:
        for edge in (second, first):
            edge.__exit__()
    assert any("is taken on this network" in line for line in second.lines)
    assert not any("is taken on this network" in line for line in first.lines)
    assert ports == {
        (ROBODINE, f"robodine-edge {store}"): first.runtime["robot_port"],
        (ROBODINE, f"robodine-edge {store}-2"): second.runtime["robot_port"],
        (HTTP, f"robodine-edge {store}"): first.runtime["http_port"],
        (HTTP, f"robodine-edge {store}-2"): second.runtime["http_port"],
    }


# -- an advertiser against other responders, in this process ---------------------------------


def advertisement(store: str, port: int) -> Advertisement:
    """An edge whose HTTP port is `port`, robot port `port + 1` (nothing listens: mDNS only)."""
    return Advertisement(store, "1.0", "127.0.0.1", port, port + 1, port + 2, None)


def names_of(advertiser: Advertiser) -> list[tuple[str, str | None]]:
    return [(info.name, info.server) for info in advertiser.infos]


def named(store: str, suffix: str = "") -> list[tuple[str, str | None]]:
    """Both records of `robodine-edge <store><suffix>` and the host they point at."""
    return [
        (f"robodine-edge {store}{suffix}.{kind}", f"robodine-edge-{store}{suffix}.local.") for kind in (ROBODINE, HTTP)
    ]


def test_a_name_held_by_a_responder_whose_announcements_are_over_is_not_taken_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = f"held-{os.getpid()}"

    async def main() -> None:
        other = loopback()
        advertiser = Advertiser(advertisement(store, 9000))
        try:
            for kind in (ROBODINE, HTTP):  # awaiting a registration awaits its announcements
                await (
                    await other.async_register_service(
                        service(kind, f"robodine-edge {store}", 7000, f"h-{store}.local.")
                    )
                )
            with unicast_lost():
                await advertiser.start()
            assert names_of(advertiser) == named(store, "-2")
        finally:
            await advertiser.stop()
            await other.async_close()

    asyncio.run(main())
    assert f"mDNS name 'robodine-edge {store}' is taken on this network" in caplog.text


def test_the_first_suffix_nobody_holds_is_taken_for_both_records() -> None:
    """Another responder holds `<id>` and `<id>-2` for robots only: both records move to `-3`."""
    store = f"taken-{os.getpid()}"

    async def main() -> None:
        other = loopback()
        advertiser = Advertiser(advertisement(store, 9000))
        try:
            for suffix in ("", "-2"):
                info = service(ROBODINE, f"robodine-edge {store}{suffix}", 7000, f"h-{store}.local.")
                await (await other.async_register_service(info))
            with unicast_lost():
                await advertiser.start()
            assert names_of(advertiser) == named(store, "-3")
        finally:
            await advertiser.stop()
            await other.async_close()

    asyncio.run(main())


def rival(advertiser: Advertiser, port: int) -> AsyncServiceInfo:
    """Our robot record with another port: what an edge with our store id that did not hear
    us (started at the same moment, or away from the link) announces."""
    ours = advertiser.infos[0]
    return AsyncServiceInfo(
        ROBODINE, ours.name, port=port, properties=ours.properties, server=ours.server, parsed_addresses=["127.0.0.1"]
    )


def test_a_later_announcement_of_our_name_that_wins_the_tie_break_moves_us_to_the_next_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RFC 6762 section 9. Only the SRV records differ, and the rival's port is the later
    one (RFC 6762 section 8.2's comparison): we yield, with both records."""
    store = f"yield-{os.getpid()}"

    async def main() -> None:
        advertiser = Advertiser(advertisement(store, 9000))
        other = loopback()
        try:
            await advertiser.start()
            assert names_of(advertiser) == named(store)
            await other.async_register_service(rival(advertiser, 65000), cooperating_responders=True)  # no probe
            await soon(lambda: names_of(advertiser) == named(store, "-2"), what="a move to -2")
        finally:
            await advertiser.stop()
            await other.async_close()

    asyncio.run(main())
    assert f"mDNS name 'robodine-edge {store}' is taken on this network" in caplog.text


def test_a_later_announcement_of_our_name_that_loses_the_tie_break_is_answered_by_announcing_again() -> None:
    """The rival's SRV record (cache-flush) pushed ours out of caches, or sits beside it; we
    keep the name and announce again a second later, which flushes the rival's record from
    every cache (RFC 6762 section 10.2). Without that, caches kept the rival's record."""
    store = f"keep-{os.getpid()}"

    async def main() -> None:
        advertiser = Advertiser(advertisement(store, 9000))
        other, observer = loopback(), loopback()
        name = f"robodine-edge {store}.{ROBODINE}"
        try:
            await advertiser.start()
            await soon(lambda: srv_ports(observer, name) == {9001}, what="our announcement")
            loser = rival(advertiser, 1)
            await (await other.async_register_service(loser, cooperating_responders=True))
            other.zeroconf.registry.async_remove(loser)  # then silent, as an edge that yields (nor answering others)
            assert 1 in srv_ports(observer, name)
            await soon(lambda: srv_ports(observer, name) == {9001}, what="our SRV record alone in the cache again")
            assert names_of(advertiser) == named(store)
        finally:
            await advertiser.stop()
            await asyncio.gather(other.async_close(), observer.async_close())

    asyncio.run(main())


def test_two_edges_starting_together_end_with_two_names() -> None:
    """Whichever finishes probing first holds the name; the other hears its announcement
    while probing, or, started within the same few milliseconds, after announcing too."""
    store = f"together-{os.getpid()}"

    async def main() -> None:
        edges = [Advertiser(advertisement(store, 9000)), Advertiser(advertisement(store, 9100))]
        try:
            await asyncio.gather(*(edge.start() for edge in edges))
            await soon(
                lambda: sorted(names_of(edge) for edge in edges) == sorted([named(store), named(store, "-2")]),
                what="one edge on each name",
            )
        finally:
            await asyncio.gather(*(edge.stop() for edge in edges))

    asyncio.run(main())
