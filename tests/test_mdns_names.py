"""Names an edge may take over mDNS: the candidates, the probe, what counts as taken, and
RFC 6762's tie-break between two holders. No network: records are built by hand and given
to the watch as zeroconf would give them."""

from __future__ import annotations

import asyncio
import socket

from zeroconf import DNSAddress, DNSIncoming, DNSPointer, DNSRecord, DNSService, DNSText, RecordUpdate

from robodine_edge.config import MAX_STORE_ID
from robodine_edge.net.mdns_names import Names, NameWatch, candidates, probe_packet, wins

ROBODINE, HTTP = "_robodine._tcp.local.", "_http._tcp.local."
TYPES = (ROBODINE, HTTP)
A, PTR, TXT, SRV, ANY = 1, 12, 16, 33, 255
IN, CACHE_FLUSH = 1, 0x8000
NAME = f"robodine-edge s.{ROBODINE}"
HOST = "robodine-edge-s.local."


def srv(port: int, name: str = NAME, host: str = HOST, ttl: int = 120) -> DNSService:
    return DNSService(name, SRV, IN | CACHE_FLUSH, ttl, 0, 0, port, host)


def txt(text: bytes, name: str = NAME) -> DNSText:
    return DNSText(name, TXT, IN | CACHE_FLUSH, 4500, text)


def addr(ip: str, host: str = HOST, scope: int | None = None, ttl: int = 120) -> DNSAddress:
    return DNSAddress(host, A, IN | CACHE_FLUSH, ttl, socket.inet_aton(ip), scope_id=scope)


def ptr(instance: str, ttl: int = 4500) -> DNSPointer:
    return DNSPointer(ROBODINE, PTR, IN, ttl, instance)


def heard(watch: NameWatch, *records: DNSRecord) -> None:
    """What zeroconf does with a packet it received: every record, on the loop."""
    watch.async_update_records(None, records[0].created, [RecordUpdate(record) for record in records])  # type: ignore[arg-type]


# -- candidates --------------------------------------------------------------------------


def test_the_candidates_are_the_store_name_then_numbered_ones_on_instance_and_host_alike() -> None:
    names = list(candidates("Store_1.a"))
    assert names[:2] == [
        Names("robodine-edge Store_1.a", "robodine-edge-Store-1-a.local."),
        Names("robodine-edge Store_1.a-2", "robodine-edge-Store-1-a-2.local."),
    ]
    assert names[-1].instance == "robodine-edge Store_1.a-99" and len(names) == 99


def test_the_longest_store_id_keeps_every_candidate_within_one_dns_label() -> None:
    names = list(candidates("x" * MAX_STORE_ID))
    assert len(names) == 99
    assert len(names[-1].instance.encode()) == 63
    assert all(len(n.instance.encode()) <= 63 and len(n.host.removesuffix(".local.").encode()) <= 63 for n in names)


def test_a_longer_id_gets_only_the_candidates_that_fit_a_label() -> None:
    assert len(list(candidates("x" * (MAX_STORE_ID + 1)))) == 9  # 61 bytes: room for -2 to -9
    assert len(list(candidates("x" * (MAX_STORE_ID + 3)))) == 1


# -- the probe -----------------------------------------------------------------------------


def test_a_probe_asks_about_every_name_for_a_multicast_answer_and_proposes_our_records() -> None:
    """QM questions: the answer reaches every responder's socket, not one picked by the kernel."""
    proposed = [srv(8001), txt(b"\x07proto=1"), addr("127.0.0.1")]
    wire = probe_packet(Names("robodine-edge s", HOST), TYPES, proposed, browse=True).packets()
    packet = DNSIncoming(wire[0])
    assert len(wire) == 1 and packet.is_query() and packet.is_probe()
    assert [(q.name, q.type, q.unicast) for q in packet.questions] == [
        (ROBODINE, PTR, False),
        (f"robodine-edge s.{ROBODINE}", ANY, False),
        (f"robodine-edge s.{HTTP}", ANY, False),
        (HOST, ANY, False),
    ]
    assert set(packet.answers()) == set(proposed)  # the authority section


def test_only_the_first_probe_browses() -> None:
    packet = DNSIncoming(probe_packet(Names("robodine-edge s", HOST), TYPES, [srv(1)], browse=False).packets()[0])
    assert PTR not in {q.type for q in packet.questions}


# -- what counts as taken ------------------------------------------------------------------


def test_a_name_is_held_on_any_record_for_it_and_freed_by_a_goodbye() -> None:
    watch = NameWatch("s")
    first, second = list(candidates("s"))[:2]
    heard(watch, ptr(f"robodine-edge s-2.{ROBODINE}"), ptr(f"robodine-edge other.{ROBODINE}"))
    assert not watch.held(first.owners(TYPES)) and watch.held(second.owners(TYPES))
    heard(watch, addr("10.0.0.9"))  # the host name alone
    assert watch.held(first.owners(TYPES))
    heard(watch, ptr(f"robodine-edge s-2.{ROBODINE}", ttl=0), addr("10.0.0.9", ttl=0))
    assert not watch.held(first.owners(TYPES)) and not watch.held(second.owners(TYPES))


def test_the_names_of_other_stores_are_not_kept() -> None:
    watch = NameWatch("s")
    heard(watch, srv(1, name=f"robodine-edge t.{ROBODINE}"), addr("10.0.0.1", host="robodine-edge-t.local."))
    assert not watch.held(next(candidates("t")).owners(TYPES))


def test_once_claimed_only_other_data_for_our_names_is_a_conflict() -> None:
    async def main() -> None:
        watch = NameWatch("s")
        names = next(candidates("s"))
        ours = [srv(8001), txt(b"\x07proto=1"), addr("127.0.0.1")]
        watch.claim(names.owners(TYPES), ours)
        heard(watch, srv(8001), txt(b"\x07proto=1"), addr("127.0.0.1", scope=1))  # our own, looped back
        heard(watch, srv(5, name=f"robodine-edge s-2.{ROBODINE}"), ptr(NAME))  # not our name; a shared record
        assert not watch.conflict.is_set() and watch.contested() == []
        heard(watch, srv(9001))
        assert watch.conflict.is_set() and watch.contested() == [srv(9001)]
        watch.settle([srv(9001)])
        watch.conflict.clear()
        heard(watch, srv(9001))  # the same rival again: judged already
        assert not watch.conflict.is_set() and watch.contested() == []

    asyncio.run(main())


# -- the tie-break ---------------------------------------------------------------------------


def test_of_two_holders_exactly_one_keeps_the_name() -> None:
    """Two Pis with one store id and one config: only their addresses differ."""
    pi1 = [srv(8001), txt(b"\x07proto=1"), addr("10.0.0.1")]
    pi2 = [srv(8001), txt(b"\x07proto=1"), addr("10.0.0.2")]
    assert not wins(pi1, [addr("10.0.0.2")])  # 10.0.0.2 is lexicographically later
    assert wins(pi2, [addr("10.0.0.1")])


def test_the_later_srv_port_wins_and_record_types_the_rival_did_not_contest_are_left_out() -> None:
    assert not wins([srv(8001), txt(b"\x01z")], [srv(9001)])
    assert wins([srv(9001), txt(b"\x01a")], [srv(8001)])


def test_records_are_compared_in_type_order_then_by_data() -> None:
    """RFC 6762 section 8.2: class, then type (A before SRV), then rdata."""
    assert wins([addr("10.0.0.9"), srv(1)], [addr("10.0.0.1"), srv(9000)])
    assert not wins([addr("10.0.0.1"), addr("10.0.0.3")], [addr("10.0.0.2")])
    assert wins([addr("10.0.0.2")], [addr("10.0.0.1"), addr("10.0.0.3")])
