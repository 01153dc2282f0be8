"""Names an edge may take over mDNS: the candidates, the probe, what counts as taken. No
network: records are built by hand and given to the watch as zeroconf would give them."""

from __future__ import annotations

import socket

from zeroconf import DNSAddress, DNSIncoming, DNSPointer, DNSRecord, DNSService, DNSText, RecordUpdate

from robodine_edge.config import MAX_STORE_ID
from robodine_edge.mdns_names import Names, NameWatch, candidates, probe_packet

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
