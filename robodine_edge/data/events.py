"""The event log and the staff notifications it raises.

Events are the append-only history staff see in /api/events: robots coming and going,
orders moving, stock running low, actors restarted. An event of a type staff must act
on (`NOTIFY_TYPES`), at a level chosen in the settings (`alert_levels`), also becomes
a notification for every staff and admin user, in the same transaction.

An event names what it is about by `entity_type` and `entity_id`. The column is text
(robots, cameras, loggers and actors are named by strings), but the ids of stored rows
are integers (docs/API.md, "Conventions"), so `entity_id` is shown as an integer for `ROW_ENTITIES`,
in the API and the `events` WebSocket topic alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from peewee import SQL, ModelSelect

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data import outbox
from robodine_edge.data.models import (
    EVENT_LEVEL_INDEXED,
    EVENT_TYPE_INDEXED,
    ORDER_EVENT_TYPES,
    Event,
    Notification,
    User,
)
from robodine_edge.data.rows import newest_first
from robodine_edge.data.settings import load_settings
from robodine_edge.data.statements import insert_sql, params
from robodine_edge.errors import NotFound
from robodine_edge.types import STAFF_ROLES, EventLevel

ROW_ENTITIES = frozenset(
    {
        "order",
        "table",
        "task",
        "emergency",
        "customer",
        "party",
        "inventory",
        "menu_item",
        "user",
        "kiosk",
        "command",
        "notification",
    }
)
"""Entity types that are stored rows named by their integer id. Every other type keeps
its string id: `robot` (robot id), `camera` (camera id), `logger` (its name), `actor`."""
EVENT_FIELDS = ("event_id", "type", "level", "entity_type", "entity_id", "message", "data", "created_at")
INSERT_EVENT = (
    insert_sql(Event, EVENT_FIELDS)
    .replace('INSERT INTO "event" (', 'INSERT INTO "event" ("seq", ', 1)
    .replace("VALUES (", 'VALUES (IFNULL((SELECT MAX("seq") FROM "event"), 0) + 1, ', 1)
)
INSERT_EVENT_RETURNING = INSERT_EVENT + ' RETURNING "id", "seq"'
"""With federation on, the seq comes back for the outbox entry (off, it is not fetched)."""
"""One statement: the next seq is taken inside the event's own transaction (one writer,
so commit order), and a unit rolled back gives its seq back: no gaps. `MAX` is read
from the end of the `seq` index."""
NOTIFY_TYPES = frozenset(
    {
        "low_stock",
        "out_of_stock",
        "robot_offline",
        "task_reassigned",
        "order_unserved",
        "table_not_cleaned",
        "emergency",
        "staff_called",
        "actor_failed",
        "party_waiting_long",
        "party_overstayed",
        "database_recovered",
        "backup_failed",
        "disk_low",
    }
)


@dataclass(frozen=True, slots=True)
class Recorded:
    event: dict[str, Any]
    notifications: list[tuple[int, dict[str, Any]]]
    """(user id, notification) pairs, for publishing to each user."""


def entity_ref(entity_type: str | None, stored: str | None) -> int | str | None:
    """The `entity_id` to show for what the text column holds: an integer for a stored
    row (`ROW_ENTITIES`), else the string as given. Any thread. A row's id that is not
    all digits (never written so) stays a string rather than failing a whole list."""
    if stored is not None and entity_type in ROW_ENTITIES and stored.isascii() and stored.isdigit():
        return int(stored)
    return stored


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "level": event.level,
        "entity_type": event.entity_type,
        "entity_id": entity_ref(event.entity_type, event.entity_id),
        "message": event.message,
        "created_at": to_iso(event.created_at),
    }


def notification_json(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "type": note.type,
        "message": note.message,
        "created_at": to_iso(note.created_at),
        "read": note.read_at is not None,
    }


def record_event(
    type: str,
    message: str,
    *,
    level: EventLevel = EventLevel.INFO,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    data: dict[str, Any] | None = None,
    order: dict[str, Any] | None = None,
) -> Recorded:
    """Append one event and the notifications it raises. Writer thread (inside the unit
    that makes the change); one of the hot statements (`statements`). The `event`
    published (the `events` topic) shows `entity_id` as `event_json` reads it back.

    With federation on, the event's outbox entry is written too (`outbox.add`); an order
    event carries the order, given as `order` by a unit that has it at hand, else read."""
    now = utcnow()
    entity = str(entity_id) if entity_id is not None else None
    uuid = str(uuid4())
    values = (uuid, type, level.value, entity_type, entity, message, data, now)
    federated = outbox.enabled()
    db, stored = Event._meta.database, params(Event, EVENT_FIELDS, values)
    if federated:
        event_id, seq = db.execute_sql(INSERT_EVENT_RETURNING, stored).fetchone()
    else:
        event_id = db.execute_sql(INSERT_EVENT, stored).lastrowid
    event = {
        "id": event_id,
        "type": type,
        "level": level.value,
        "entity_type": entity_type,
        "entity_id": entity_ref(entity_type, entity),
        "message": message,
        "created_at": to_iso(now),
    }
    if federated:
        about_order = entity_type == "order" and entity is not None
        read = (lambda: order if order is not None else event_order(entity)) if about_order else None
        outbox.add(seq, uuid, type, event["created_at"], event, read)
    notes: list[tuple[int, dict[str, Any]]] = []
    if type in NOTIFY_TYPES and level in load_settings().alert_levels:
        staff = User.select(User.id).where(User.role.in_([r.value for r in STAFF_ROLES]))
        for user in staff:
            note = Notification.create(user=user.id, event=event_id, type=type, message=message, created_at=now)
            notes.append((user.id, notification_json(note)))
    return Recorded(event, notes)


def event_order(order_id: str | None) -> dict[str, Any] | None:
    """The order an event names, as `GET /api/orders/{id}` shows it (None if there is
    none). Imported here: the orders module records events itself."""
    from robodine_edge.data.orders import get_order

    if order_id is None or not order_id.isdigit():
        return None
    try:
        return get_order(int(order_id))
    except NotFound:
        return None


def list_events(
    limit: int, before: int | None, type: str | None, level: str | None, since: datetime | None
) -> list[dict[str, Any]]:
    """Read-pool thread; newest first."""
    return [event_json(event) for event in events_query(limit, before, type, level, since)]


def events_query(
    limit: int, before: int | None, type: str | None, level: str | None, since: datetime | None
) -> ModelSelect[Event]:
    """A type or level the partial indexes hold is asked for with the index's condition
    too, so SQLite uses it; an order's own types and `info` are most of the log, read
    from its newest end (models.Event)."""
    query = newest_first(Event.select(), Event, limit, before)
    if type is not None:
        query = query.where(Event.type == type)
        if type not in ORDER_EVENT_TYPES:
            query = query.where(SQL(EVENT_TYPE_INDEXED))
    if level is not None:
        query = query.where(Event.level == level)
        if level != EventLevel.INFO.value:
            query = query.where(SQL(EVENT_LEVEL_INDEXED))
    if since is not None:
        query = query.where(Event.created_at >= since)
    return query


def raised_for(types: tuple[str, ...], entity_type: str, entity_ids: list[int]) -> set[tuple[str, int]]:
    """Which of `types` were already recorded about which of these rows, as (type, id):
    what an actor that raises an event once per row reloads at start. Any thread. Found
    by type (indexed, and these are rare), filtered here: the rows may be many."""
    wanted = {str(i) for i in entity_ids}
    if not wanted:
        return set()
    query = Event.select(Event.type, Event.entity_id).where(Event.type.in_(types), Event.entity_type == entity_type)
    if not set(types) & set(ORDER_EVENT_TYPES):
        query = query.where(SQL(EVENT_TYPE_INDEXED))
    return {(event.type, int(event.entity_id)) for event in query if event.entity_id in wanted}


def list_notifications(user_id: int, limit: int, before: int | None, unread: bool | None) -> list[dict[str, Any]]:
    query = newest_first(Notification.select().where(Notification.user == user_id), Notification, limit, before)
    if unread is not None:
        query = query.where(Notification.read_at.is_null(unread))
    return [notification_json(note) for note in query]


def mark_read(user_id: int, notification_id: int) -> dict[str, Any]:
    """Writer thread. Someone else's notification is as unknown as a missing one."""
    note = Notification.get_or_none(Notification.id == notification_id, Notification.user == user_id)
    if note is None:
        raise NotFound(f"notification {notification_id} not found")
    if note.read_at is None:
        note.read_at = utcnow()
        note.save()
    return notification_json(note)
