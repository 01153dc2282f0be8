"""Emergency stops: at most one active at a time, resolved by staff.

Declaring one records it, its event and an `emergency_stop` for every robot to stop in
one unit (one durable commit, whatever the fleet's size), and hands the stops to `send`
as soon as they have their ids, before the commit; resolving records a `resume` for
every robot to resume the same way (sent by the caller once committed). Which robots is
the caller's (the dispatcher's) to say: it owns the emergency and the view of which
robots are online.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.models import Emergency, Robot, RobotCommand
from robodine_edge.data.robots import create_fleet_commands
from robodine_edge.data.rows import newest_first, one
from robodine_edge.errors import Conflict, InvalidTransition
from robodine_edge.types import EventLevel


@dataclass(frozen=True, slots=True)
class EmergencyChange:
    """What a declare or a resolve committed: the emergency, its event, and the command
    it recorded for each robot (as `robots.command_json` shows them)."""

    emergency: dict[str, Any]
    event: Recorded
    commands: list[dict[str, Any]]


def emergency_json(row: Emergency) -> dict[str, Any]:
    return {
        "id": row.id,
        "active": row.active,
        "reason": row.reason,
        "created_at": to_iso(row.created_at),
        "resolved_at": to_iso(row.resolved_at),
    }


def declare(
    reason: str | None,
    user_id: int | None,
    username: str,
    robot_ids: Sequence[str],
    send: Callable[[list[dict[str, Any]]], None] = lambda commands: None,
) -> EmergencyChange:
    """Writer thread: the emergency, its `emergency` event and each robot's `emergency_stop`,
    together. `send` gets the stops as soon as they have their ids, inside the unit, before
    the emergency's own row and event (a millisecond and more of peewee): they go to the
    robots while the rest is written and the commit made durable (see the dispatcher)."""
    active = Emergency.get_or_none(Emergency.active == True)  # noqa: E712 (peewee expression)
    if active is not None:
        raise Conflict(f"emergency {active.id} is already active; resolve it first")
    now = utcnow()
    commands = create_fleet_commands(robot_ids, "emergency_stop", {}, user_id, now)
    send(commands)
    row = Emergency.create(reason=reason, created_by=user_id, created_at=now)
    text = f"emergency stop declared by {username}" + (f": {reason}" if reason else "")
    event = record_event("emergency", text, level=EventLevel.ERROR, entity_type="emergency", entity_id=row.id)
    return EmergencyChange(emergency_json(row), event, commands)


def resolve(emergency_id: int, user_id: int | None, username: str, robot_ids: Sequence[str]) -> EmergencyChange:
    """Writer thread: the emergency resolved, its event and each robot's `resume`, together."""
    row = one(Emergency, emergency_id, "emergency")
    if not row.active:
        raise InvalidTransition(f"emergency {emergency_id} is already resolved")
    now = utcnow()
    row.active, row.resolved_at, row.resolved_by_id = False, now, user_id
    row.save()
    text = f"emergency {emergency_id} resolved by {username}"
    event = record_event("emergency_resolved", text, entity_type="emergency", entity_id=row.id)
    commands = create_fleet_commands(robot_ids, "resume", {}, user_id, now)
    return EmergencyChange(emergency_json(row), event, commands)


def active_emergency() -> dict[str, Any] | None:
    row = Emergency.get_or_none(Emergency.active == True)  # noqa: E712
    return emergency_json(row) if row else None


def stopped_robots() -> list[str]:
    """The robots sent `emergency_stop` since the active emergency was declared (none
    without one): those owed a `resume` when it is resolved. Read once, by a dispatcher
    starting during an emergency."""
    row = Emergency.get_or_none(Emergency.active == True)  # noqa: E712
    if row is None:
        return []
    query = (
        Robot.select(Robot.robot_id)
        .join(RobotCommand)
        .where(RobotCommand.name == "emergency_stop", RobotCommand.created_at >= row.created_at)
        .distinct()
    )
    return [robot.robot_id for robot in query]


def active_emergencies() -> list[dict[str, Any]]:
    """The `emergencies` topic's snapshot: the one still active, if any (a list, as every snapshot)."""
    active = active_emergency()
    return [active] if active else []


def get_emergency(emergency_id: int) -> dict[str, Any]:
    return emergency_json(one(Emergency, emergency_id, "emergency"))


def list_emergencies(limit: int, before: int | None) -> list[dict[str, Any]]:
    query = newest_first(Emergency.select(), Emergency, limit, before)
    return [emergency_json(row) for row in query]
