"""Everything the dispatcher asks of others, in one place, each ask bounded by a timeout.

The dispatcher asks robots to run, send again and withdraw commands, the order queue to
move, flag and reload orders, the floor to mark tables clean, and the store to write.
None of them asks the dispatcher back, so waiting on them cannot deadlock. Asks made
while handling a tell are quiet: a robot gone, an actor restarting or a refused step is
logged and answered None (a step, False), since an exception there would kill the
dispatcher.

Called only on the dispatcher's thread (but `fleet_command`, also on the store's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pykka

from robodine_edge.actors.base import ActorFuture
from robodine_edge.actors.robots.messages import CommandOwed, FleetCommand, FleetSend, RobotSnapshot, no_loop
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.data.emergencies import EmergencyChange
from robodine_edge.data.events import Recorded
from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import NotFound, RobodineError
from robodine_edge.protocol import link as wire
from robodine_edge.types import Publish

if TYPE_CHECKING:
    from robodine_edge.actors.dining.floor import FloorProxy
    from robodine_edge.actors.dining.order_queue import OrderQueueProxy
    from robodine_edge.actors.robots.fleet import RobotDirectory

log = logging.getLogger(__name__)
ASK_TIMEOUT_S = 10.0
P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C", list[dict[str, Any]], EmergencyChange)
"""What a unit recording a fleet-wide command returns: the commands, or an emergency's change holding them."""


class DispatchAsks:
    def __init__(
        self,
        writer: Writer,
        journal: Journal,
        robots: RobotDirectory,
        orders: ActorSlot[OrderQueueProxy],
        floor: ActorSlot[FloorProxy],
        publish: Publish,
        fleet_send: FleetSend = no_loop,
    ) -> None:
        self._writer = writer
        self._journal = journal
        self._robots = robots
        self._orders = orders
        self._floor = floor
        self._publish = publish
        self._fleet_send = fleet_send

    # -- the store -----------------------------------------------------------------------------

    def write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=ASK_TIMEOUT_S)

    def write_soon(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> None:
        """Bookkeeping that rides in the next durable commit (`Writer.write_soon`); not
        waited for: a failure is logged."""
        self._writer.write_soon(unit, *args, **kwargs).add_done_callback(_log_failure)

    def record_fleet_command(self, unit: Callable[P, C], *args: P.args, **kwargs: P.kwargs) -> C:
        """A unit recording a fleet-wide command (it returns the commands, or a
        `data.emergencies.EmergencyChange` holding them), waited for. The commands go out on
        the `commands` topic from the writer's thread as it commits: after the commit, and
        before anything later of theirs (a robot's ack)."""
        future = self._writer.write(unit, *args, **kwargs)
        future.add_done_callback(self._publish_commands)
        return future.get(timeout=ASK_TIMEOUT_S)

    def _publish_commands(self, future: ActorFuture[C]) -> None:
        """Writer thread, once the unit committed (or failed: its asker hears of that)."""
        try:
            change = future.get(timeout=0)
        except Exception:
            return
        for command in _commands_of(change):
            self._publish("commands", "upsert", command)

    def record(self, unit: Callable[P, Recorded], *args: P.args, **kwargs: P.kwargs) -> None:
        """A write that records an event, published once it is committed."""
        self._journal.publish([self.write(unit, *args, **kwargs)])

    # -- at start ------------------------------------------------------------------------------

    def snapshots(self) -> list[RobotSnapshot]:
        return [slot.proxy.snapshot().get(timeout=ASK_TIMEOUT_S) for _, slot in self._robots.items()]

    def snapshots_now(self) -> list[RobotSnapshot]:
        """Each robot's snapshot, asked of all at once. A robot not running (restarting) is
        left out: its new instance tells what changes once it has its link again."""
        futures = []
        for _, slot in self._robots.items():
            try:
                futures.append(slot.proxy.snapshot())
            except pykka.ActorDeadError:
                continue
        return [snapshot for snapshot in map(self._quietly, futures) if snapshot is not None]

    def active_orders(self) -> list[dict[str, Any]]:
        return self._orders.proxy.active_orders().get(timeout=ASK_TIMEOUT_S)

    def tables(self) -> list[dict[str, Any]]:
        return self._floor.proxy.list_tables().get(timeout=ASK_TIMEOUT_S)

    # -- robots --------------------------------------------------------------------------------

    def staff_command(self, robot_id: str, name: str, args: dict[str, Any], user_id: int | None) -> dict[str, Any]:
        """Not quiet: staff are told why it failed."""
        slot = self._robots.get(robot_id)
        return slot.proxy.command(name, args, user_id).get(timeout=ASK_TIMEOUT_S)

    def command(
        self, robot_id: str, name: str, args: dict[str, Any], task_id: int | None = None
    ) -> dict[str, Any] | None:
        slot = self._robots.find(robot_id)
        if slot is None:
            return None
        return self._quietly(slot.proxy.command(name, args, None, task_id))

    def resend(self, robot_id: str, command_id: int) -> bool:
        """True if the robot is sent the command again; False if it ended meanwhile (or the
        robot is gone)."""
        slot = self._robots.find(robot_id)
        return slot is not None and self._quietly(slot.proxy.resend(command_id)) is True

    def fleet_command(self, commands: Sequence[dict[str, Any]]) -> None:
        """Recorded commands, one per robot (a fleet-wide command): the loop writes them
        all in one turn and tells each robot actor after; with no loop running, each robot
        actor is told here and sends its own. Waits on no one, touches nothing of the
        dispatcher's: also called on the writer's thread, inside the unit recording them."""
        batch = [FleetCommand(c["robot_id"], c, wire.command_frame(c["id"], c["name"], c["args"])) for c in commands]
        if batch and not self._fleet_send(batch):
            for item in batch:
                slot = self._robots.find(item.robot_id)
                if slot is not None:  # a dead one's next instance reloads the command as still open
                    slot.tell(CommandOwed(item.command["id"], item.frame, None))

    def withdraw(self, robot_id: str, command_id: int, reason: str) -> None:
        slot = self._robots.find(robot_id)
        if slot is not None:
            self._quietly(slot.proxy.withdraw(command_id, reason))

    # -- orders and tables ---------------------------------------------------------------------

    def advance(self, order_id: int, target: OrderStatus) -> tuple[bool, dict[str, Any] | None]:
        """Walk the order to `target` in one ask (the order queue holds its status): True
        and the order as it is now (None once it is no longer active), or False if a step
        failed and the order is left behind `target`."""
        try:
            order = self._orders.proxy.advance(order_id, target).get(timeout=ASK_TIMEOUT_S)
        except NotFound:
            return True, None  # deleted: nothing left to move
        except (RobodineError, pykka.ActorDeadError, pykka.Timeout) as exc:
            log.info("dispatcher: %s", exc)
            return False, None
        return True, order

    def flag(self, order_id: int, reason: str) -> None:
        self._quietly(self._orders.proxy.flag(order_id, reason))

    def unflag(self, order_id: int) -> dict[str, Any] | None:
        """Not quiet: a staff retry is told if the order queue did not take it."""
        return self._orders.proxy.unflag(order_id).get(timeout=ASK_TIMEOUT_S)

    def reload_order(self, order_id: int) -> None:
        self._quietly(self._orders.proxy.reload(order_id))

    def cleaned(self, table_id: int) -> None:
        self._quietly(self._floor.proxy.cleaned(table_id))

    def _quietly(self, future: ActorFuture[T]) -> T | None:
        try:
            return future.get(timeout=ASK_TIMEOUT_S)
        except (RobodineError, pykka.ActorDeadError, pykka.Timeout) as exc:
            log.info("dispatcher: %s", exc)
            return None


def _commands_of(change: list[dict[str, Any]] | EmergencyChange) -> list[dict[str, Any]]:
    """The commands a unit recording a fleet-wide command returned."""
    return change if isinstance(change, list) else change.commands


def _log_failure(future: ActorFuture[Any]) -> None:
    """Writer thread, once a `write_soon` unit committed or failed."""
    try:
        future.get(timeout=0)
    except Exception as exc:
        log.error("dispatcher: a task's bookkeeping was not written: %s", exc)
