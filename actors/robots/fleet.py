"""The fleet: registering robots, starting their actors, and a view of them all.

Robot actors tell the fleet every change worth showing (`robot_changed`), so listing
robots is one ask here instead of one per robot. Commands to a robot go to its own
actor, reached through the directory.

The API's robot lists are newest first by registration (the robots table's row id,
docs/API.md), paged with `before=<robot_id>`; the fleet keeps each robot's row id
for that. `list_robots` (the WebSocket snapshot, the dispatcher's view) keeps its own
order: first registered first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import pykka

from robodine_edge.actors.base import CrashListener, TypedProxy, proxy_method
from robodine_edge.actors.directory import Directory
from robodine_edge.actors.robots.messages import RobotSnapshot
from robodine_edge.actors.robots.robot import RobotProxy
from robodine_edge.actors.storage.list_pages import ListViews, PageKey, RowKey, RowOrder, ViewOwner
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.data import robots as data
from robodine_edge.errors import NotFound
from robodine_edge.types import Publish

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
ASK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class RobotChanged:
    """Told by a robot actor when its snapshot changed in a way worth showing."""

    snapshot: RobotSnapshot


class RobotDirectory(Directory[str, RobotProxy]):
    """The robot actors' slots by robot id."""

    def __init__(self) -> None:
        super().__init__("robot")


def robot_actor_name(robot_id: str) -> str:
    return f"robot-{robot_id}"


class FleetActor(ViewOwner):
    """All methods run in the fleet's own thread."""

    READS = frozenset({"list_robots", "robots_body", "get", "robots_online"})

    def __init__(
        self,
        writer: Writer,
        supervisor: ActorSlot[SupervisorProxy],
        directory: RobotDirectory,
        robot_spec: Callable[[str], ChildSpec[RobotProxy]],
        publish: Publish,
        *,
        crash_listener: CrashListener | None = None,
        views: ListViews | None = None,
    ) -> None:
        super().__init__(views, crash_listener=crash_listener)
        self._writer = writer
        self._supervisor = supervisor
        self._directory = directory
        self._robot_spec = robot_spec
        self._publish = publish
        self._view: dict[str, RobotSnapshot] = {}
        self._row_ids: dict[str, int] = {}
        """Every registered robot's row id (registration order), for paging lists."""

    def on_start(self) -> None:
        self._row_ids = self._write(data.registration_order)
        for robot_id, slot in self._directory.items():
            self._view[robot_id] = slot.proxy.snapshot().get(timeout=ASK_TIMEOUT_S)

    # -- commands (ask) -----------------------------------------------------------------

    def register(
        self, robot_id: str, kind: str, name: str | None, legacy: bool, legacy_cook_addr: str | None
    ) -> tuple[dict[str, Any], str]:
        """Returns the robot and its token (shown once; only its digest is kept)."""
        token, digest = data.new_token()
        record = self._write(data.register_robot, robot_id, kind, name, legacy, legacy_cook_addr, digest)
        self._row_ids[robot_id] = record.row_id
        slot = self._supervisor.proxy.start_child(self._robot_spec(robot_id)).get(timeout=ASK_TIMEOUT_S)
        self._directory.add(robot_id, slot)
        snapshot = slot.proxy.snapshot().get(timeout=ASK_TIMEOUT_S)
        self._view[robot_id] = snapshot
        self._publish("robots", "upsert", snapshot.json())
        return snapshot.json(), token

    def update(self, robot_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        snapshot: RobotSnapshot = self._robot(robot_id).proxy.update(changes).get(timeout=ASK_TIMEOUT_S)
        self._view[robot_id] = snapshot
        return snapshot.json()

    def rotate_token(self, robot_id: str) -> tuple[dict[str, Any], str]:
        """A new token; the old one stops working and the robot's link is closed."""
        slot = self._robot(robot_id)
        token, digest = data.new_token()
        self._write(data.update_robot, robot_id, {"token_hash": digest})
        slot.proxy.set_token(digest).get(timeout=ASK_TIMEOUT_S)
        return self._view[robot_id].json(), token

    def delete(self, robot_id: str) -> None:
        self._robot(robot_id)
        self._supervisor.proxy.stop_child(robot_actor_name(robot_id)).get(timeout=ASK_TIMEOUT_S)
        self._directory.remove(robot_id)
        self._write(data.delete_robot, robot_id)
        del self._view[robot_id]
        self._row_ids.pop(robot_id, None)
        self._publish("robots", "delete", {"robot_id": robot_id})

    def list_robots(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [s.json() for s in self._view.values() if kind is None or s.kind == kind]

    def robots_body(self, page: PageKey[str | None]) -> bytes:
        """A page of `list_robots(page.filter)`, newest registered first. The whole list
        is kept in `views` until the next change, so the loop serves every other page of
        it without asking (`before` is a robot id: `RowOrder`). Raises `UnknownCursor`
        for a `before` that names no registered robot."""
        ids: dict[RowKey, int] = {robot_id: row_id for robot_id, row_id in self._row_ids.items()}
        order = RowOrder("robot_id", ids)
        return self.views.build(page, lambda: self.list_robots(page.filter), order)

    def get(self, robot_id: str, kind: str | None = None) -> dict[str, Any]:
        snapshot = self._view.get(robot_id)
        if snapshot is None or (kind is not None and snapshot.kind != kind):
            raise NotFound(f"{kind or 'robot'} {robot_id} not found")
        return snapshot.json()

    def robots_online(self) -> int:
        return sum(1 for snapshot in self._view.values() if snapshot.online)

    # -- events (tell) ------------------------------------------------------------------

    def on_reachable(self) -> None:
        """Restarted, and now in the fleet's slot: a robot's change told while this instance
        started, after `on_start` asked that robot, went to the dead instance, and the robot
        would be listed as it was (online, say, long after it dropped) until it next changes.
        So every robot is asked again, all at once; one not running (restarting) is left as
        it was: its new instance tells what changes once it has its link again."""
        asked = {}
        for robot_id, slot in self._directory.items():
            if robot_id in self._view:
                with contextlib.suppress(pykka.ActorDeadError):
                    asked[robot_id] = slot.proxy.snapshot()
        for robot_id, future in asked.items():
            with contextlib.suppress(pykka.ActorDeadError):
                snapshot = future.get(timeout=ASK_TIMEOUT_S)
                if robot_id in self._view:
                    self._view[robot_id] = snapshot

    def on_receive(self, message: object) -> object:
        if isinstance(message, RobotChanged):
            if message.snapshot.robot_id in self._view:  # not a robot deleted meanwhile
                self._view[message.snapshot.robot_id] = message.snapshot
            return None
        return super().on_receive(message)

    # -- internals ------------------------------------------------------------------------

    def _robot(self, robot_id: str) -> ActorSlot[RobotProxy]:
        if robot_id not in self._view:
            raise NotFound(f"robot {robot_id} not found")
        return self._directory.get(robot_id)

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=ASK_TIMEOUT_S)


class FleetProxy(TypedProxy):
    """The fleet as HTTP reaches it (`ActorSlot[FleetProxy]`)."""

    register = proxy_method(FleetActor.register)
    update = proxy_method(FleetActor.update)
    rotate_token = proxy_method(FleetActor.rotate_token)
    delete = proxy_method(FleetActor.delete)
    list_robots = proxy_method(FleetActor.list_robots)
    robots_body = proxy_method(FleetActor.robots_body)
    get = proxy_method(FleetActor.get)
    robots_online = proxy_method(FleetActor.robots_online)
