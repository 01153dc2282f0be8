"""A name of our own on the mDNS link (SPEC section 3): `robodine-edge <store id>`, or
`-2`, `-3`, ... when another responder already answers for it (two edges with one store id).

Why not python-zeroconf's `allow_name_change`: it renames only when the holder's PTR record
is already in its cache, and it learns that record either from the holder's announcements
(sent in the half second after the holder is ready) or from answers to its probes. Its
probes ask for unicast answers (QU); on one host several responders share port 5353, and
the kernel hands a unicast datagram to one of their sockets, picked by a hash of the
addresses and a per-boot secret, so on some machines the prober never sees the answer and
keeps a taken name. Here every probe asks for a multicast answer (QM), which every responder
on the link receives, and a name counts as taken on any record anyone sends for it.

Everything here runs on the event loop, zeroconf's listener callbacks included.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from zeroconf import (
    DNSAddress,
    DNSOutgoing,
    DNSPointer,
    DNSQuestion,
    DNSRecord,
    DNSService,
    DNSText,
    RecordUpdate,
    RecordUpdateListener,
    Zeroconf,
    current_time_millis,
)

from robodine_edge.config import MDNS_INSTANCE_PREFIX
from robodine_edge.errors import NoMdnsName

# DNS protocol values (RFC 1035, 2782, 3596, 6762).
TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV, TYPE_ANY = 1, 12, 16, 28, 33, 255
CLASS_IN = 1
FLAGS_QUERY = 0
CONTESTED_TYPES = frozenset({TYPE_A, TYPE_TXT, TYPE_AAAA, TYPE_SRV})
"""The unique records two holders of one name can disagree on (RFC 6762 section 9)."""

MAX_LABEL = 63
LAST_NUMBER = 99
"""`-99` is the last suffix: config's store id limit keeps `robodine-edge <id>-99` in a label."""
PROBES = 3
PROBE_INTERVAL_S = 0.25
"""RFC 6762 section 8.1: a random 0-250 ms, three probes 250 ms apart, then 250 ms of quiet."""
SETTLE_S = 0.25
"""How long a conflict seen after announcing is left to settle before it is judged: the other
responder announces its records in a few packets sent together, and both sides must judge
the same whole set."""
FLUSH_AFTER_MS = 1050
"""RFC 6762 section 10.2: a record with the cache-flush bit flushes the other records of its
name and type received more than one second before it (50 ms on top for clocks and queues)."""

Identity = tuple[str, int, int, bytes]


@dataclass(frozen=True)
class Names:
    """One candidate: the instance label (the same for every service type) and the host
    name its SRV records point at, which must be ours alone as well."""

    instance: str
    host: str

    def owners(self, types: Iterable[str]) -> frozenset[str]:
        """The owner names to claim, lower case as DNS compares them."""
        return frozenset({f"{self.instance}.{kind}".lower() for kind in types} | {self.host.lower()})


def candidates(store_id: str) -> Iterator[Names]:
    """`robodine-edge <id>` (host `robodine-edge-<id>.local.`), then `-2` ... `-99` on both,
    as long as each stays one DNS label."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", f"robodine-edge-{store_id}")
    for number in range(1, LAST_NUMBER + 1):
        suffix = "" if number == 1 else f"-{number}"
        names = Names(f"{MDNS_INSTANCE_PREFIX}{store_id}{suffix}", f"{host}{suffix}.local.")
        if max(len(names.instance.encode()), len(names.host.encode()) - len(".local.")) > MAX_LABEL:
            return
        yield names


def identity(record: DNSRecord) -> Identity:
    """What makes two records the same for conflicts: owner, class, type and data (an
    address without the scope zeroconf attaches to link-local ones it receives)."""
    return (record.key, *_order(record))


def _order(record: DNSRecord) -> tuple[int, int, bytes]:
    """RFC 6762 section 8.2's sort key: class (without the cache-flush bit), type, rdata."""
    if isinstance(record, DNSService):
        data = struct.pack("!HHH", record.priority, record.weight, record.port) + _wire_name(record.server)
    elif isinstance(record, DNSText):
        data = record.text
    elif isinstance(record, DNSAddress):
        data = record.address
    elif isinstance(record, DNSPointer):
        data = _wire_name(record.alias)
    else:
        data = b""
    return (record.class_, record.type, data)


def _wire_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in (part.encode() for part in name.split(".")) if label)


def wins(ours: Iterable[DNSRecord], theirs: Iterable[DNSRecord]) -> bool:
    """Whether we keep a name another responder announced too: RFC 6762 section 8.2's
    tie-break, our records against theirs (the ones that differ from ours), each side
    sorted, compared pair by pair, the longer list winning a tie. Both holders compute it
    from the same two sets, so exactly one of them keeps the name. Pure."""
    rival = list(theirs)
    contested = {(record.key, record.type) for record in rival}
    mine = sorted(_order(record) for record in ours if (record.key, record.type) in contested)
    return mine > sorted(_order(record) for record in rival)


def probe_packet(names: Names, types: tuple[str, ...], proposed: Iterable[DNSRecord], *, browse: bool) -> DNSOutgoing:
    """RFC 6762 section 8.1's probe: an ANY question per name, our proposed records in the
    authority section. QM questions, so a holder's answer is multicast to everyone (a
    probe's answer is sent at once). `browse` adds a PTR question for the first type, so
    every edge answers with its instance name and the taken suffixes are known at once."""
    out = DNSOutgoing(FLAGS_QUERY)
    if browse:
        out.add_question(DNSQuestion(types[0], TYPE_PTR, CLASS_IN))
    for owner in [f"{names.instance}.{kind}" for kind in types] + [names.host]:
        out.add_question(DNSQuestion(owner, TYPE_ANY, CLASS_IN))
    # add_authorative_answer takes PTR records only (compiled, enforced); zeroconf types the list so
    out.authorities.extend(proposed)  # type: ignore[arg-type]
    return out


async def probe(
    zc: Zeroconf, watch: NameWatch, names: Names, types: tuple[str, ...], proposed: list[DNSRecord]
) -> bool:
    """Whether `names` are free on the link. False as soon as anyone sends a record for one
    of them (without probing at all when one is already known). ~0.75-1.0 s when free."""
    owners = names.owners(types)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + random.uniform(0, PROBE_INTERVAL_S)  # spreads edges started together
    for sent in range(PROBES):
        if not await watch.quiet(owners, deadline):
            return False
        zc.async_send(probe_packet(names, types, proposed, browse=sent == 0))
        deadline = loop.time() + PROBE_INTERVAL_S
    return await watch.quiet(owners, deadline)


def first_free(store_id: str, watch: NameWatch, types: tuple[str, ...]) -> Iterator[Names]:
    """The candidates nobody is known to hold yet, in order; `NoMdnsName` past the last."""
    for names in candidates(store_id):
        if not watch.held(names.owners(types)):
            yield names
    raise NoMdnsName(f"every mDNS name from {MDNS_INSTANCE_PREFIX}{store_id!r} to -{LAST_NUMBER} is taken")


class NameWatch(RecordUpdateListener):
    """Every live record anyone sends for a name this edge may use: SRV, TXT, NSEC named
    `<instance>.<type>`, a PTR pointing at one, A/AAAA/NSEC for a host name. Once a name
    is ours (`claim`), a record for it with other data than ours sets `conflict`.

    zeroconf calls `async_update_records` on the event loop for every packet it receives,
    our own announcements included (they loop back), before its cache takes them."""

    def __init__(self, store_id: str) -> None:
        first = next(candidates(store_id))
        self._prefixes = (first.instance.lower(), first.host.removesuffix(".local.").lower())
        self._seen: dict[str, set[DNSRecord]] = {}
        self._changed = asyncio.Event()
        self.conflict = asyncio.Event()
        self._owners: frozenset[str] = frozenset()
        self._ours: frozenset[Identity] = frozenset()
        self._settled: set[Identity] = set()

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        for update in records:
            record = update.new
            owner = record.alias_key if isinstance(record, DNSPointer) else record.key
            if not owner.startswith(self._prefixes):
                continue
            held = self._seen.setdefault(owner, set())
            held.difference_update([old for old in held if old.is_expired(now)])
            held.discard(record)  # a newer copy (TTL) replaces it; a goodbye removes it
            if not record.is_expired(now):
                held.add(record)
                if self._contests(record):
                    self.conflict.set()
            self._changed.set()

    def async_update_records_complete(self) -> None:
        """Nothing to do once zeroconf's cache has the records: ours are kept above."""

    def held(self, owners: frozenset[str]) -> bool:
        """Whether anyone is known to answer for one of `owners` (before we claim them)."""
        now = current_time_millis()
        return any(not record.is_expired(now) for owner in owners for record in self._seen.get(owner, ()))

    async def quiet(self, owners: frozenset[str], deadline: float) -> bool:
        """Wait until `deadline` (loop time); False as soon as one of `owners` is held."""
        loop = asyncio.get_running_loop()
        while not self.held(owners):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return False

    def claim(self, owners: frozenset[str], ours: Iterable[DNSRecord]) -> None:
        """These names are ours now, with these records: watch for others announcing them."""
        self._owners, self._ours = owners, frozenset(map(identity, ours))
        self._settled.clear()
        self.conflict.clear()
        if self.contested():  # arrived between the last probe and the announcement
            self.conflict.set()

    def release(self) -> None:
        """We gave the claimed names up: records for them are no conflict any more."""
        self._owners, self._ours = frozenset(), frozenset()
        self.conflict.clear()

    def contested(self) -> list[DNSRecord]:
        """Live records for our names whose data differ from ours, not already judged."""
        now = current_time_millis()
        return [
            record
            for owner in self._owners
            for record in self._seen.get(owner, ())
            if not record.is_expired(now) and self._contests(record)
        ]

    def newest(self, records: Iterable[DNSRecord]) -> float:
        """When the latest copy of any of `records` arrived (zeroconf's clock, ms)."""
        wanted = set(map(identity, records))
        return max(
            (record.created for held in self._seen.values() for record in held if identity(record) in wanted),
            default=0.0,
        )

    def settle(self, theirs: Iterable[DNSRecord]) -> None:
        """We keep our names against these records: they raise no conflict again."""
        self._settled.update(map(identity, theirs))

    def _contests(self, record: DNSRecord) -> bool:
        if record.key not in self._owners or record.type not in CONTESTED_TYPES:
            return False
        key = identity(record)
        return key not in self._ours and key not in self._settled
