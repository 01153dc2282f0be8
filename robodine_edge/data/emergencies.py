"""Emergency stops: at most one active at a time, resolved by staff."""

from __future__ import annotations

from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.rows import newest_first, one
from robodine_edge.errors import Conflict, InvalidTransition
from robodine_edge.models import Emergency
from robodine_edge.types import EventLevel


def emergency_json(row: Emergency) -> dict[str, Any]:
    return {
        "id": row.id,
        "active": row.active,
        "reason": row.reason,
        "created_at": to_iso(row.created_at),
        "resolved_at": to_iso(row.resolved_at),
    }


def declare(reason: str | None, user_id: int, username: str) -> tuple[dict[str, Any], Recorded]:
    """Store thread: the emergency and its `emergency` event, together."""
    active = Emergency.get_or_none(Emergency.active == True)  # noqa: E712 (peewee expression)
    if active is not None:
        raise Conflict(f"emergency {active.id} is already active; resolve it first")
    row = Emergency.create(reason=reason, created_by=user_id, created_at=utcnow())
    text = f"emergency stop declared by {username}" + (f": {reason}" if reason else "")
    event = record_event("emergency", text, level=EventLevel.ERROR, entity_type="emergency", entity_id=row.id)
    return emergency_json(row), event


def resolve(emergency_id: int, user_id: int, username: str) -> tuple[dict[str, Any], Recorded]:
    """Store thread."""
    row = one(Emergency, emergency_id, "emergency")
    if not row.active:
        raise InvalidTransition(f"emergency {emergency_id} is already resolved")
    row.active, row.resolved_at, row.resolved_by = False, utcnow(), user_id
    row.save()
    text = f"emergency {emergency_id} resolved by {username}"
    return emergency_json(row), record_event("emergency_resolved", text, entity_type="emergency", entity_id=row.id)


def active_emergency() -> dict[str, Any] | None:
    row = Emergency.get_or_none(Emergency.active == True)  # noqa: E712
    return emergency_json(row) if row else None


def active_emergencies() -> list[dict[str, Any]]:
    """The `emergencies` topic's snapshot: the one still active, if any (a list, as every snapshot)."""
    active = active_emergency()
    return [active] if active else []


def get_emergency(emergency_id: int) -> dict[str, Any]:
    return emergency_json(one(Emergency, emergency_id, "emergency"))


def list_emergencies(limit: int, before: int | None) -> list[dict[str, Any]]:
    query = newest_first(Emergency.select(), Emergency, limit, before)
    return [emergency_json(row) for row in query]
