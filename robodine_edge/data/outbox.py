"""The transactional outbox: an event's federation entry, written in the event's own
transaction while federation is on.

`record_event` calls `add` for every event it writes. With federation off (the default)
`add` returns at once: the event row carries its `seq` and `event_id` and nothing else
is written. With it on, the event is written out as it will be published (its body,
made now, shows an order as it is in this transaction) into `federation_outbox`; the
relay (robodine_edge/federation) publishes it after the commit and deletes it once
headquarters' `ack` covers its seq.

`enable` is called once by the composition root before any actor writes, `disable` at
stop: federation is on or off for the life of a process, so this module holds the one
setting, not state an actor owns. `add` and `committed` run on the writer's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from robodine_edge.data.models import FederationOutbox
from robodine_edge.protocol.mqtt import event_body

INSERT = f'INSERT INTO "{FederationOutbox._meta.table_name}" ("seq", "type", "body") VALUES (?, ?, ?)'


@dataclass
class _Outbox:
    store: str
    wake: Callable[[], None]
    """Tells the relay that entries were committed (any thread; it must not block)."""
    written: bool = False


_outbox: _Outbox | None = None


def enable(store: str, wake: Callable[[], None]) -> None:
    """Main thread, before the actors start: events from now on get outbox entries."""
    global _outbox
    _outbox = _Outbox(store, wake)


def disable() -> None:
    global _outbox
    _outbox = None


def enabled() -> bool:
    return _outbox is not None


def add(
    seq: int, event_id: str, type: str, occurred_at: str, data: dict[str, Any], order: Callable[[], Any] | None
) -> None:
    """Writer thread, inside the event's transaction. `order` reads the order an order
    event is about (as `GET /api/orders/{id}` shows it), called only when federation is on."""
    outbox = _outbox
    if outbox is None:
        return
    if order is not None:
        found = order()
        if found is not None:
            data = {**data, "order": found}
    body = event_body(event_id, seq, outbox.store, type, occurred_at, data)
    FederationOutbox._meta.database.execute_sql(INSERT, (seq, type, body))
    outbox.written = True


def committed() -> None:
    """Writer thread, after each durable commit: wake the relay if entries were written."""
    outbox = _outbox
    if outbox is not None and outbox.written:
        outbox.written = False
        outbox.wake()
