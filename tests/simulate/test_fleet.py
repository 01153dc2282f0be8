"""The simulator finding its edge: which advertised addresses count as the `--edge` host."""

from __future__ import annotations

import asyncio

import ifaddr

from robodine_edge.simulate.fleet import _addresses


def test_a_loopback_edge_matches_every_address_of_this_machine() -> None:
    """An edge bound to every interface advertises its non-loopback addresses only;
    `--edge 127.0.0.1:PORT` still names it."""
    local = {ip.ip if isinstance(ip.ip, str) else ip.ip[0] for adapter in ifaddr.get_adapters() for ip in adapter.ips}
    for host in ("127.0.0.1", "localhost"):
        assert local | {"127.0.0.1"} <= asyncio.run(_addresses(host))


def test_another_host_matches_only_its_own_addresses() -> None:
    assert asyncio.run(_addresses("192.0.2.77")) == {"192.0.2.77"}
