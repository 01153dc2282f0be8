"""What the federation relay reads and remembers in SQLite.

Pending events are read from the event log itself (by `seq`), each with its outbox
entry when it has one: an event written while federation was on is published as it
was then; one written before (federation turned on later, or off for a while) is made
now from its row, with its order as it is now. So a store that turns federation on
publishes its whole log from seq 1, and an `ack` lower than one seen before (a new
headquarters) can always be served.

Readers run on a read-pool thread; writers (`forget`, `remember`) on the store's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peewee import JOIN

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import event_json, event_order
from robodine_edge.data.models import Event, FederationOutbox, FederationState
from robodine_edge.protocol.mqtt import event_body

ACKED = "acked_seq"
FORGET_BATCH = 500
"""Acknowledged entries are deleted this many at a time, each batch its own unit, so a
day's backlog acknowledged at once never holds the writer for long."""


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    type: str
    body: bytes


@dataclass
class Memory:
    """The relay's state as the database last had it."""

    acked: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    """Last cfg version taken, by `<scope>/<kind>` (scope `store` or `all`)."""
    cfg_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The `cfg-ack` body owed for each kind (re-published on every connection)."""


def version_key(scope: str, kind: str) -> str:
    return f"cfg_version:{scope}/{kind}"


def cfg_ack_key(kind: str) -> str:
    return f"cfg_ack:{kind}"


# -- readers (any thread with a connection) ------------------------------------------------


def head_seq() -> int:
    """The seq of the newest committed event (0 for an empty log)."""
    return Event._meta.database.execute_sql('SELECT MAX("seq") FROM "event"').fetchone()[0] or 0


PENDING = (
    'SELECT o."seq", o."type", o."body" FROM "federation_outbox" AS o WHERE o."seq" > ? AND o."seq" <= ? '
    'ORDER BY o."seq" LIMIT ?'
)
NO_LIMIT = 2**62


def pending(after: int, upto: int | None, limit: int, store: str) -> list[Pending]:
    """Events with `after < seq <= upto`, oldest first, at most `limit`, as published.

    The outbox entries are read first, in plain SQL (the relay's hot read: one per
    commit); only when they do not hold every seq of the span (events from before
    federation was on) are the events read and the missing bodies made. With no `upto`
    (the live stream: events committed since this process wrote entries for every
    event) consecutive entries are the whole answer."""
    rows = FederationOutbox._meta.database.execute_sql(PENDING, (after, NO_LIMIT if upto is None else upto, limit))
    found = [Pending(seq, type, bytes(body)) for seq, type, body in rows]
    if all(row.seq == after + n for n, row in enumerate(found, 1)):
        if len(found) == limit or upto is None or (found and found[-1].seq == upto):
            return found
        if after + len(found) >= min(upto, head_seq()):
            return found
    return _pending_from_events(after, upto, limit, store)


def _pending_from_events(after: int, upto: int | None, limit: int, store: str) -> list[Pending]:
    query = (
        Event.select(Event, FederationOutbox.body.alias("outbox_body"))
        .join(FederationOutbox, JOIN.LEFT_OUTER, on=(FederationOutbox.seq == Event.seq))
        .where(Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    if upto is not None:
        query = query.where(Event.seq <= upto)
    return [Pending(_seq(event), event.type, _body(event, store)) for event in query.objects()]


def _seq(event: Any) -> int:
    seq: int | None = event.seq
    if seq is None:  # the query takes numbered events only
        raise ValueError(f"event {event.id} has no seq")
    return seq


def _body(event: Any, store: str) -> bytes:
    if event.outbox_body is not None:
        return bytes(event.outbox_body)
    data = event_json(event)
    if event.entity_type == "order":
        order = event_order(event.entity_id)
        if order is not None:
            data["order"] = order
    return event_body(event.event_id, event.seq, store, event.type, to_iso(event.created_at), data)


def outbox_size() -> int:
    return FederationOutbox.select().count()


def load_memory() -> Memory:
    memory = Memory()
    for row in FederationState.select():
        if row.key == ACKED:
            memory.acked = int(row.value)
        elif row.key.startswith("cfg_version:"):
            memory.versions[row.key.removeprefix("cfg_version:")] = int(row.value)
        elif row.key.startswith("cfg_ack:"):
            memory.cfg_acks[row.key.removeprefix("cfg_ack:")] = row.value
    return memory


# -- writers (writer thread) -------------------------------------------------------------------


def remember(key: str, value: Any) -> None:
    FederationState.insert(key=key, value=value, updated_at=utcnow()).on_conflict_replace().execute()


def forget(acked: int, batch: int = FORGET_BATCH) -> int:
    """Record headquarters' watermark and delete up to `batch` entries it covers; returns
    how many were deleted (the caller repeats while a whole batch went)."""
    remember(ACKED, acked)
    covered = FederationOutbox.select(FederationOutbox.seq).where(FederationOutbox.seq <= acked).limit(batch)
    deleted: int = FederationOutbox.delete().where(FederationOutbox.seq.in_(covered)).execute()
    return deleted
