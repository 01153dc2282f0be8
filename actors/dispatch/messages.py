"""What others tell the dispatcher: frozen values, built on the teller's thread.

The order queue, the floor and the robot actors tell what changed (a robot also what it
first reports after linking); the legacy arm sender tells how a send went; the
composition root's ticker tells the time. None of them waits for an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robodine_edge.actors.robots.messages import RobotSnapshot


@dataclass(frozen=True, slots=True)
class OrderChanged:
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableChanged:
    table: dict[str, Any] | None
    table_id: int


@dataclass(frozen=True, slots=True)
class RobotUpdate:
    snapshot: RobotSnapshot


@dataclass(frozen=True, slots=True)
class RobotRejoined:
    """A robot's first `status` after a hello (the robot as it is then), and the commands
    its link carried since the hello: sent to it, or acked, nacked or reported by it."""

    snapshot: RobotSnapshot
    carried: frozenset[int]


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """A robot's `task_update` (started/progress/done/failed) or `nack` of a command."""

    robot_id: str
    command_id: int
    state: str
    detail: Any = None


@dataclass(frozen=True, slots=True)
class LegacySent:
    task_id: int
    error: str | None


@dataclass(frozen=True, slots=True)
class DispatchTick:
    pass
