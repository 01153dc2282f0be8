"""Robots in SQLite: registration, tokens (hashed), last known state, commands, poses.

Robot tokens are 32 random bytes, so a SHA-256 digest is enough to store them (a slow
password hash buys nothing against a secret nobody can guess, and every reconnect
checks one).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.models import Pose as PoseRow
from robodine_edge.data.models import Robot, RobotCommand
from robodine_edge.data.rows import newest_first
from robodine_edge.data.statements import column, params
from robodine_edge.errors import Conflict, NotFound
from robodine_edge.protocol.pose import Pose
from robodine_edge.types import SERVICE_STOPPING, EventLevel

OPEN_COMMANDS = ("pending", "sent")
WITHDRAWABLE = (*OPEN_COMMANDS, "acked", "running")
"""Commands not yet ended: the edge may still take them back (`withdraw_command`)."""
FLEET_COMMAND_FIELDS = ("name", "args", "status", "sends", "created_by", "created_at", "sent_at")
SELECT_COMMANDABLE = (
    f'SELECT "id", {column(Robot, "robot_id")} FROM "{Robot._meta.table_name}" '
    f'WHERE {column(Robot, "robot_id")} IN ({{marks}}) AND NOT {column(Robot, "legacy")} ORDER BY "id"'
)
"""Of these robot ids, the registered robots that take commands: row id → robot id."""
INSERT_FLEET_COMMAND = (
    f'INSERT INTO "{RobotCommand._meta.table_name}" ({column(RobotCommand, "robot")}, '
    + ", ".join(column(RobotCommand, field) for field in FLEET_COMMAND_FIELDS)
    + f') SELECT "id", {", ".join("?" for _ in FLEET_COMMAND_FIELDS)} FROM "{Robot._meta.table_name}" '
    'WHERE "id" IN ({marks}) ORDER BY "id" RETURNING "id", ' + column(RobotCommand, "robot")
)
"""One command row per robot row id, each robot's command id back."""
COMMAND_COLUMNS = ("id", "name", "args", "status", "reason", "task", "created_at", "sent_at", "acked_at", "finished_at")
"""What `command_json` shows of a command row, as `update_command` reads it back."""


def new_token() -> tuple[str, str]:
    """A fresh robot token and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, digest: str) -> bool:
    return hmac.compare_digest(token_digest(token), digest)


@dataclass(frozen=True, slots=True)
class RobotRecord:
    """A robot as stored: identity, token digest, and its last known state."""

    robot_id: str
    kind: str
    name: str | None
    token_hash: str
    legacy: bool
    legacy_cook_addr: str | None
    state: str
    battery: float | None
    pose: Pose | None
    joints: tuple[float, ...] | None
    last_seen: datetime | None
    row_id: int
    """The robots table's id: registration order, which robot lists are sorted by."""


@dataclass(frozen=True, slots=True)
class OpenCommand:
    id: int
    name: str
    args: dict[str, Any]


def _record(row: Robot) -> RobotRecord:
    return RobotRecord(
        robot_id=row.robot_id,
        kind=row.kind,
        name=row.name,
        token_hash=row.token_hash,
        legacy=row.legacy,
        legacy_cook_addr=row.legacy_cook_addr,
        state=row.state,
        battery=row.battery,
        pose=Pose(**row.pose) if row.pose else None,
        joints=tuple(row.joints) if row.joints else None,
        last_seen=row.last_seen,
        row_id=row.id,
    )


def _row(robot_id: str) -> Robot:
    row = Robot.get_or_none(Robot.robot_id == robot_id)
    if row is None:
        raise NotFound(f"robot {robot_id} not found")
    return row


def command_json(command: RobotCommand, robot_id: str) -> dict[str, Any]:
    return {
        "id": command.id,
        "robot_id": robot_id,
        "name": command.name,
        "args": command.args,
        "status": command.status,
        "reason": command.reason,
        "task_id": command.task_id,
        "created_at": to_iso(command.created_at),
        "sent_at": to_iso(command.sent_at),
        "acked_at": to_iso(command.acked_at),
        "finished_at": to_iso(command.finished_at),
    }


# -- readers -----------------------------------------------------------------------------


def robot_ids() -> list[str]:
    return [row.robot_id for row in Robot.select(Robot.robot_id).order_by(Robot.id)]


def registration_order() -> dict[str, int]:
    """Every robot's row id by robot id: the order robot lists are newest first in."""
    return {row.robot_id: row.id for row in Robot.select(Robot.id, Robot.robot_id)}


def load_robot(robot_id: str) -> tuple[RobotRecord, list[OpenCommand]]:
    """The robot and its commands not yet acknowledged (to send again on reconnect)."""
    row = _row(robot_id)
    query = RobotCommand.select().where(RobotCommand.robot == row.id, RobotCommand.status.in_(OPEN_COMMANDS))
    return _record(row), [OpenCommand(c.id, c.name, c.args) for c in query.order_by(RobotCommand.id)]


def list_commands(robot_id: str, limit: int, before: int | None) -> list[dict[str, Any]]:
    row = _row(robot_id)
    query = newest_first(RobotCommand.select().where(RobotCommand.robot == row.id), RobotCommand, limit, before)
    return [command_json(command, robot_id) for command in query]


def list_poses(
    robot_id: str | None, frame: str | None, since: datetime | None, limit: int, before: int | None
) -> list[dict[str, Any]]:
    query = newest_first(PoseRow.select(), PoseRow, limit, before)
    if robot_id is not None:
        query = query.where(PoseRow.robot_id == robot_id)
    if frame is not None:
        query = query.where(PoseRow.frame == frame)
    if since is not None:
        query = query.where(PoseRow.recorded_at >= since)
    return [
        {
            "id": row.id,
            "robot_id": row.robot_id,
            "ingredient_id": row.ingredient_id,
            "frame": row.frame,
            "x": row.x,
            "y": row.y,
            "z": row.z,
            "roll": row.roll,
            "pitch": row.pitch,
            "yaw": row.yaw,
            "recorded_at": to_iso(row.recorded_at),
        }
        for row in query
    ]


# -- writers (writer thread) -----------------------------------------------------------------


def register_robot(
    robot_id: str, kind: str, name: str | None, legacy: bool, legacy_cook_addr: str | None, token_hash: str
) -> RobotRecord:
    if Robot.select().where(Robot.robot_id == robot_id).exists():
        raise Conflict(f"robot {robot_id} is already registered")
    now = utcnow()
    row = Robot.create(
        robot_id=robot_id,
        kind=kind,
        name=name,
        legacy=legacy,
        legacy_cook_addr=legacy_cook_addr,
        token_hash=token_hash,
        created_at=now,
        updated_at=now,
    )
    return _record(row)


def update_robot(robot_id: str, changes: dict[str, Any]) -> RobotRecord:
    row = _row(robot_id)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    row.save()
    return _record(row)


def delete_robot(robot_id: str) -> None:
    _row(robot_id).delete_instance(recursive=False)


@dataclass(frozen=True, slots=True)
class KnownState:
    """A robot's last known state, as the robots table keeps it while it is offline."""

    robot_id: str
    state: str
    battery: float | None
    pose: Pose | None
    joints: tuple[float, ...] | None
    last_seen: datetime | None


PoseSample = tuple[str, str, Pose, datetime]
"""One sample of a robot's pose history: (robot id, frame, pose, when)."""
SAMPLE_ROWS_PER_INSERT = 500
"""Rows per `INSERT` of samples: 11 values each, under SQLite's 32,766 bound variables."""


def save_states(states: Sequence[KnownState], samples: Sequence[PoseSample]) -> None:
    """Writer thread: the robots' last known states and the pose samples taken since the
    last save, for the whole fleet in one unit (actors/robots/recorder.py: one commit
    every `telemetry.write_every_s`, not one per robot and sample)."""
    now = utcnow()
    for known in states:
        Robot.update(
            state=known.state,
            battery=known.battery,
            pose=known.pose.json() if known.pose else None,
            joints=list(known.joints) if known.joints is not None else None,
            last_seen=known.last_seen,
            updated_at=now,
        ).where(Robot.robot_id == known.robot_id).execute()
    rows = [
        {"robot_id": robot_id, "ingredient_id": None, "frame": frame, **pose.json(), "recorded_at": at}
        for robot_id, frame, pose, at in samples
    ]
    for start in range(0, len(rows), SAMPLE_ROWS_PER_INSERT):
        PoseRow.insert_many(rows[start : start + SAMPLE_ROWS_PER_INSERT]).execute()


def add_poses(robot_id: str | None, ingredient_id: int | None, poses: list[tuple[str, Pose, datetime]]) -> None:
    if poses:
        PoseRow.insert_many(
            [
                {"robot_id": robot_id, "ingredient_id": ingredient_id, "frame": frame, **pose.json(), "recorded_at": at}
                for frame, pose, at in poses
            ]
        ).execute()


def link_event(robot_id: str, online: bool, reason: str) -> Recorded:
    """`robot_online` / `robot_offline`. Going offline is a warning (staff are notified)
    unless the service itself is stopping, which every robot does at each restart."""
    Robot.update(last_seen=utcnow()).where(Robot.robot_id == robot_id).execute()
    if online:
        return record_event("robot_online", f"robot {robot_id} is online", entity_type="robot", entity_id=robot_id)
    return record_event(
        "robot_offline",
        f"robot {robot_id} went offline ({reason})",
        level=EventLevel.INFO if reason == SERVICE_STOPPING else EventLevel.WARNING,
        entity_type="robot",
        entity_id=robot_id,
    )


def robot_event(robot_id: str, code: str, level: str, message: str) -> Recorded:
    text = f"robot {robot_id}: {code}: {message}"
    return record_event("robot_event", text, level=EventLevel(level), entity_type="robot", entity_id=robot_id)


def create_command(
    robot_id: str, name: str, args: dict[str, Any], user_id: int | None, task_id: int | None, sent: bool
) -> dict[str, Any]:
    now = utcnow()
    command = RobotCommand.create(
        robot=_row(robot_id).id,
        task=task_id,
        name=name,
        args=args,
        status="sent" if sent else "pending",
        sends=1 if sent else 0,
        created_by=user_id,
        created_at=now,
        sent_at=now if sent else None,
    )
    return command_json(command, robot_id)


def create_fleet_commands(
    robot_ids: Sequence[str], name: str, args: dict[str, Any], user_id: int | None, at: datetime
) -> list[dict[str, Any]]:
    """The same command for each of these robots (those registered that take commands),
    in one statement: a fleet-wide command (`emergency_stop`, `resume`) is one insert in
    the caller's unit, not a commit per robot, and its SQL is rendered here rather than
    by peewee (whose building of a 200-row insert took ~40 ms, the whole stop's budget).
    Recorded `sent` at `at`, since the loop writes every one of them to its robot's link
    right after the commit; a robot actor that finds its robot not linked records its
    command `pending` again. Oldest robot first (registration order)."""
    if not robot_ids:
        return []
    db = Robot._meta.database
    marks = ", ".join("?" for _ in robot_ids)
    names = dict(db.execute_sql(SELECT_COMMANDABLE.format(marks=marks), list(robot_ids)).fetchall())
    if not names:
        return []
    values = params(RobotCommand, FLEET_COMMAND_FIELDS, (name, args, "sent", 1, user_id, at, at))
    rows = ", ".join("?" for _ in names)
    inserted = db.execute_sql(INSERT_FLEET_COMMAND.format(marks=rows), [*values, *names]).fetchall()
    ids = {robot_row: command_id for command_id, robot_row in inserted}  # RETURNING's order is unspecified
    stamp = to_iso(at)
    return [
        {"id": ids[row_id], "robot_id": robot_id, "name": name, "args": args, "status": "sent", "reason": None,
         "task_id": None, "created_at": stamp, "sent_at": stamp, "acked_at": None, "finished_at": None}
        for row_id, robot_id in names.items()
    ]  # fmt: skip


def fleet_command(robot_ids: Sequence[str], name: str, user_id: int | None) -> list[dict[str, Any]]:
    """Writer thread: a staff command without arguments (`dock`) for each of these robots, as one unit."""
    return create_fleet_commands(robot_ids, name, {}, user_id, utcnow())


def update_command(robot_id: str, command_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply `changes` (status, reason, timestamps, sends) to one of this robot's commands.

    A `cancelled` command was withdrawn by the edge and keeps that outcome: what its robot
    reports about it later (a late ack, `done`, `failed`) changes nothing (None); so does
    an unknown command or robot. One statement rendered here: every robot acks every
    command, 200 at once after a fleet-wide one, and peewee's three (find the robot, the
    command, save it) cost the writer ~1.5 ms an ack."""
    keys = tuple(sorted(changes))
    values = params(RobotCommand, keys, [changes[key] for key in keys])
    row = Robot._meta.database.execute_sql(_update_command_sql(keys), [*values, command_id, robot_id]).fetchone()
    if row is None:
        return None
    fields = RobotCommand._meta.fields
    stored = {name: fields[name].python_value(value) for name, value in zip(COMMAND_COLUMNS, row, strict=True)}
    return {
        "id": stored["id"], "robot_id": robot_id, "name": stored["name"], "args": stored["args"],
        "status": stored["status"], "reason": stored["reason"], "task_id": stored["task"],
        "created_at": to_iso(stored["created_at"]), "sent_at": to_iso(stored["sent_at"]),
        "acked_at": to_iso(stored["acked_at"]), "finished_at": to_iso(stored["finished_at"]),
    }  # fmt: skip


@functools.cache
def _update_command_sql(keys: tuple[str, ...]) -> str:
    """`UPDATE ... RETURNING` for one set of changed fields (a handful of sets in all)."""
    changed = ", ".join(f"{column(RobotCommand, key)} = ?" for key in keys)
    returning = ", ".join(column(RobotCommand, name) for name in COMMAND_COLUMNS)
    robot = f'(SELECT "id" FROM "{Robot._meta.table_name}" WHERE {column(Robot, "robot_id")} = ?)'
    return (
        f'UPDATE "{RobotCommand._meta.table_name}" SET {changed} WHERE "id" = ? '
        f"AND {column(RobotCommand, 'robot')} = {robot} AND {column(RobotCommand, 'status')} != 'cancelled' "
        f"RETURNING {returning}"
    )


def withdraw_command(robot_id: str, command_id: int, reason: str) -> dict[str, Any] | None:
    """The edge takes a command back (its task went to another robot, or was dropped):
    `cancelled` with the reason. One that already ended (`done`, `failed`, `nacked`) keeps
    its outcome (None)."""
    command = _command(robot_id, command_id)
    if command is None or command.status not in WITHDRAWABLE:
        return None
    command.status, command.reason, command.finished_at = "cancelled", reason[:250], utcnow()
    command.save()
    return command_json(command, robot_id)


def reopen_command(robot_id: str, command_id: int) -> OpenCommand | None:
    """A command the robot took and then showed, linking again at rest, that it no longer
    has in hand: owed again (`pending`, to be sent with its own id). None if it ended
    meanwhile (its `done`, `failed` or `nack` came first) or was withdrawn."""
    command = _command(robot_id, command_id)
    if command is None or command.status not in WITHDRAWABLE:
        return None
    command.status = "pending"
    command.save()
    return OpenCommand(command.id, command.name, command.args)


def _command(robot_id: str, command_id: int) -> RobotCommand | None:
    """One of this robot's commands (NotFound for an unknown robot)."""
    return RobotCommand.get_or_none(RobotCommand.id == command_id, RobotCommand.robot == _row(robot_id).id)


def recent_commands(limit: int) -> list[dict[str, Any]]:
    """The newest commands of every robot (read pool)."""
    query = RobotCommand.select(RobotCommand, Robot).join(Robot).order_by(RobotCommand.id.desc()).limit(limit)
    return [command_json(command, command.robot.robot_id) for command in query]
