"""The event log's data side: appending events (store thread) and reading them (read pool).

Events are the append-only history staff see in /api/events: robots coming and going,
orders moving, stock running low, actors restarted.
"""

from __future__ import annotations

from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.models import Event
from robodine_edge.types import EventLevel


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "level": event.level,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "message": event.message,
        "created_at": to_iso(event.created_at),
    }


def record_event(
    type: str,
    message: str,
    *,
    level: EventLevel = EventLevel.INFO,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one event. Runs on the store actor's thread."""
    event = Event.create(
        type=type,
        level=level.value,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        message=message,
        data=data,
        created_at=utcnow(),
    )
    return event_json(event)
