"""What crosses into and out of a robot's actor (actors/robots/robot.py): the messages the
network room and the loop tell it, the link it writes through, and the snapshot it
shows the API and the dispatcher. Frozen values, safe to hand between threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from robodine_edge.clock import to_iso
from robodine_edge.protocol import link as wire
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry


class RobotLink(Protocol):
    """A connection to one robot, safe to use from any thread."""

    session: str

    def send(self, data: bytes) -> None: ...

    def close(self, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LinkFrame:
    session: str
    frame: wire.Frame


@dataclass(frozen=True, slots=True)
class LinkClosed:
    session: str
    reason: str


@dataclass(frozen=True, slots=True)
class TelemetryIn:
    """The datagrams that arrived for this robot during one turn of the event loop."""

    batch: tuple[Telemetry, ...]


@dataclass(frozen=True, slots=True)
class Tick:
    pass


@dataclass(frozen=True, slots=True)
class Announce:
    """The end of a rate-limit interval during which a motion change was held."""


@dataclass(frozen=True, slots=True)
class FleetCommand:
    """One robot's part of a fleet-wide command (`emergency_stop`, `resume`, `dock`): its
    recorded row (as `data.robots.command_json` shows it) and its frame."""

    robot_id: str
    command: dict[str, Any]
    frame: bytes


FleetSend = Callable[[Sequence[FleetCommand]], bool]
"""Hand a fleet-wide command to the event loop, which writes every frame to its robot's
current link in one turn and then tells each robot actor `CommandOwed` (`net.links.FleetLinks`).
Callable from any thread; False when no loop runs to take it (the caller tells the actors)."""


def no_loop(batch: Sequence[FleetCommand]) -> bool:
    """The `FleetSend` of an actor tree without a network room: each robot actor sends its own."""
    return False


@dataclass(frozen=True, slots=True)
class CommandOwed:
    """A command recorded for this robot by another actor, in one unit with the rest of
    the fleet's (`FleetCommand`). `session` is the link the loop already wrote it to
    (None if it wrote it to none): the actor only records and keeps it owed until acked."""

    command_id: int
    frame: bytes
    session: str | None


Wake = Callable[[float, Any, Any], None]
"""Tell (delay in seconds, actor ref, message): `Timer.after`."""


@dataclass(frozen=True, slots=True)
class RobotSnapshot:
    """The robot as the API shows it (last known values kept while offline)."""

    robot_id: str
    kind: str
    name: str | None
    legacy: bool
    legacy_cook_addr: str | None
    online: bool
    state: str
    battery: float | None
    pose: Pose | None
    joints: tuple[float, ...] | None
    current_task: int | None
    last_seen: Any

    def json(self) -> dict[str, Any]:
        return {
            "robot_id": self.robot_id,
            "kind": self.kind,
            "name": self.name,
            "online": self.online,
            "state": self.state,
            "battery": self.battery,
            "pose": self.pose.json() if self.pose else None,
            "current_task": self.current_task,
            "last_seen": to_iso(self.last_seen),
            "legacy": self.legacy,
            "legacy_cook_addr": self.legacy_cook_addr,
        }
