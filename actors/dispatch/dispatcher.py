"""The dispatcher: orders flow through robots with no human in the loop.

Cook tasks for placed orders go to idle cookbots; serve tasks for ready orders and
clean tasks for released tables go to the best albabot; low albabots are sent to dock.
A task that loses its robot (offline, nack, `failed`, or no progress for
`stuck_timeout_s`) goes back to the head of its queue for another robot, up to
`max_task_attempts`; after that its order is flagged to staff, never dropped.

Everyone else tells this actor what changed (orders, tables, robots, task progress);
it asks them to act (robots to run commands, the order queue to move an order, the
floor to mark a table clean). None of them ever asks it back. Every task is in
SQLite, so a restarted dispatcher (or service) picks up where it was.

This module is the policy. Its tasks are read from a `TaskBoard` and changed through
a `TaskLedger` (in memory and SQLite together), its robots are on a `RobotRoster`; what
it asks of others goes through `DispatchAsks`, dish names to legacy arms through
`LegacyArms`; what it is told is in `dispatch_messages`; which robot and what command
are the pure rules of `domain.dispatch`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.dispatch.asks import DispatchAsks
from robodine_edge.actors.dispatch.legacy_arms import LegacyArms, LegacyCook
from robodine_edge.actors.dispatch.messages import (
    DispatchTick,
    LegacySent,
    OrderChanged,
    RobotRejoined,
    RobotUpdate,
    TableChanged,
    TaskEvent,
)
from robodine_edge.actors.dispatch.roster import RobotRoster
from robodine_edge.actors.dispatch.task_board import Job, TaskBoard
from robodine_edge.actors.dispatch.task_ledger import TaskLedger
from robodine_edge.actors.robots.messages import FleetSend, RobotSnapshot, no_loop
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.data import emergencies
from robodine_edge.data import robots as robots_data
from robodine_edge.data import tasks as data
from robodine_edge.data.events import Recorded
from robodine_edge.data.settings import StoreSettings, load_settings
from robodine_edge.domain import dispatch as rules
from robodine_edge.domain.dispatch import DONE_MOVES, STARTED_MOVES, RobotView
from robodine_edge.domain.lifecycle import OrderStatus, TableStatus
from robodine_edge.errors import Conflict, NotFound, RobodineError
from robodine_edge.types import Publish

if TYPE_CHECKING:
    from robodine_edge.actors.dining.floor import FloorProxy
    from robodine_edge.actors.dining.order_queue import OrderQueueProxy
    from robodine_edge.actors.robots.fleet import RobotDirectory

log = logging.getLogger(__name__)
REPORTED_AS = {"running": "started", "done": "done", "failed": "failed", "nacked": "nacked"}
"""A command's stored status, as the robot's report that left it (`TaskEvent.state`)."""
MAX_BATCH = 500
"""Placed orders taken together at most: their cook tasks share one commit."""
CONFLICTING = frozenset({"cook", "serve", "clean", "go_to", "dock"})
"""Commands that move a robot (and so conflict with its task)."""
SAFETY = frozenset({"stop", "resume", "emergency_stop"})


class DispatcherActor(SupervisedActor):
    """All methods run in the dispatcher's own thread."""

    def __init__(
        self,
        writer: Writer,
        journal: Journal,
        publish: Publish,
        robots: RobotDirectory,
        orders: ActorSlot[OrderQueueProxy],
        floor: ActorSlot[FloorProxy],
        legacy_cook: LegacyCook | None = None,
        *,
        fleet_send: FleetSend = no_loop,
        clock: Callable[[], float] = time.monotonic,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._asks = DispatchAsks(writer, journal, robots, orders, floor, publish, fleet_send)
        self._journal = journal
        self._publish = publish
        self._legacy = LegacyArms(legacy_cook)
        self._clock = clock
        self._settings = StoreSettings()
        self._robots = RobotRoster()
        self._orders: dict[int, dict[str, Any]] = {}
        self._tables: dict[int, dict[str, Any]] = {}
        self._board = TaskBoard()
        self._tasks = TaskLedger(self._board, self._asks, clock)
        self._dispatch_owed = False
        self._emergency = False
        self._stopped: set[str] = set()
        """Robots sent `emergency_stop` during the active emergency: owed a `resume`."""
        self._stopping = False
        self._behind = False
        """Restarted, and not yet caught up with what it may have missed (`on_reachable`)."""

    # -- start: rebuild from SQLite and the owning actors --------------------------------------

    def on_start(self) -> None:
        self._settings = self._asks.write(load_settings)
        self._emergency = self._asks.write(emergencies.active_emergency) is not None
        self._stopped = set(self._asks.write(emergencies.stopped_robots)) if self._emergency else set()
        for snapshot in self._asks.snapshots():
            self._robots.seen(snapshot)
        docked = self._asks.write(data.robots_sent_to_dock, sorted(CONFLICTING))
        self._robots.restore_docked(docked, self._settings.battery_resume)
        self._orders = {o["id"]: o for o in self._asks.active_orders()}
        self._tables = {t["id"]: t for t in self._asks.tables()}
        reported = self._tasks.reload()
        for order in self._orders.values():  # the order's priority wins (rows bumped before it was stored too)
            self._tasks.reprioritise(order["id"], order.get("priority", 0))
        self._reconcile()
        self._hear_reports(reported)  # heard now: a done order moves on instead of being cooked again
        self._dispatch()

    def _reconcile(self) -> None:
        """Work the database says is needed but no open task covers (e.g. a crash in between)."""
        for order_id, status, priority, flagged in self._asks.write(data.orders_needing_work):
            if not flagged:
                self._order_needs(order_id, OrderStatus(status), priority)
        for table_id in self._asks.write(data.tables_being_cleaned):
            self._board.want(("clean", None, table_id), 0)

    def _hear_reports(self, reported: list[tuple[Job, str]]) -> None:
        """Robots' reports on their tasks that their actors recorded and this dispatcher did
        not hear, each handled as its `TaskEvent` would have been."""
        for job, status in reported:
            try:
                self._task_event(TaskEvent(job.robot_id or "", job.command_id or 0, REPORTED_AS[status], None))
            except RobodineError as exc:
                log.warning("dispatcher: %s", exc)

    def on_reachable(self) -> None:
        """Restarted, and now in the dispatcher's slot. `on_start` read before anyone could
        reach this instance: until the supervisor swapped the slot, what the order queue,
        the floor, the robots and the settings route told went to the dead instance, and
        the teller's check dropped it. An order placed in that window (answered 201) got no
        cook task, ever; one in the database but not yet in the queue's memory when asked
        got a task never handed out (no items known); a cancel, a table to clean, a robot
        going offline or reporting `done` were missed the same way. So they are read
        again now, when every later change is told to this instance (`_catch_up`)."""
        self._behind = True
        self._catch_up()

    def _catch_up(self) -> None:
        """Take in what the others hold now, each piece as its news would have been taken:
        the settings; the robots' reports on their tasks (first: older than a drop that
        followed them); each robot's state, from its actor; the active orders, those that
        ended, and the tables, from SQLite — one read, so a store answering for an order
        queue or floor restarting meanwhile is no gap. A store not taking it (restarting:
        `Unavailable`) leaves it to the next tick."""
        carried = [job.command_id for job in self._board if job.command_id is not None]
        theirs = self._asks.write(data.their_state, list(self._orders), carried)
        self._settings = theirs.settings
        self._hear_reports([(job, status) for job in list(self._board) if (status := _reported(theirs.reports, job))])
        for snapshot in self._asks.snapshots_now():
            self._robot_seen(snapshot)
        for order_id, status in theirs.ended.items():
            if (known := self._orders.get(order_id)) is not None:
                self._order_changed({**known, "status": status.value})
        for order in theirs.orders:
            self._order_changed(order)
        tables = {table["id"]: table for table in theirs.tables}
        for table_id in [table_id for table_id in self._tables if table_id not in tables]:
            self._table_seen(table_id, None)
        for table_id, table in tables.items():
            self._table_seen(table_id, table)
        self._behind = False
        self._dispatch()

    # -- asks from HTTP ------------------------------------------------------------------------

    def declare_emergency(self, reason: str | None, user_id: int | None, username: str) -> dict[str, Any]:
        """Staff's stop. The dispatcher owns the emergency, its row and its effect alike (one
        change, one owner): every robot online is stopped in one unit and one loop turn
        whatever the fleet's size: the emergency and each robot's `emergency_stop` are one
        commit (`Conflict`, 409, while one is active, and nothing is sent); the loop writes
        every frame, and each robot actor keeps its own owed until acked. Once committed,
        its event and its `emergencies` upsert are published (every screen shows the
        banner), all before the answer. Tasks and orders stay as they are; nothing is
        handed out until it is resolved, and a robot that links meanwhile is stopped as it
        comes (`_robot_changed`).

        The stops are handed to the loop from inside the unit, once they have their ids,
        not once the commit is durable: a stop must not wait for a slow disk (an SD card's
        fsync takes tens of ms), nor fail with it (a full disk refuses the commit, and the
        robots must stop all the same). The answer still waits for the commit. A stop sent
        and then lost with its transaction (power cut in those milliseconds, or a refused
        commit) leaves robots stopped with no emergency on record: staff see them in
        `emergency` and resume them; the safe side of the two."""
        sent: list[dict[str, Any]] = []

        def send(commands: list[dict[str, Any]]) -> None:
            """Writer thread, inside the unit."""
            sent.extend(commands)
            self._asks.fleet_command(commands)

        try:
            robots = self._commandable()
            declared = self._asks.record_fleet_command(emergencies.declare, reason, user_id, username, robots, send)
        except Exception as exc:
            if sent:
                log.error("emergency stop sent to %d robots but not recorded (%s): resume them by hand", len(sent), exc)
            raise
        self._emergency = True  # before the run still owed: its tasks are created, not handed out
        self._stopped = {command["robot_id"] for command in declared.commands}
        self._end_run()
        self._announce_emergency(declared.emergency, declared.event)
        return declared.emergency

    def resolve_emergency(self, emergency_id: int, user_id: int | None, username: str) -> dict[str, Any]:
        """Staff's resume: the row resolved with a `resume` to every robot online and every
        robot stopped during the emergency (one offline now gets it after its next hello),
        in one unit and one loop turn; then the row and its event are published as
        `declare_emergency` does, and tasks go on, their stuck timers started afresh.
        Unlike a stop, a resume is sent only once durable: robots must never move while
        the record says stopped."""
        robots = sorted({*self._commandable(), *self._stopped})
        resolved = self._asks.record_fleet_command(emergencies.resolve, emergency_id, user_id, username, robots)
        self._emergency, self._stopped = False, set()
        self._asks.fleet_command(resolved.commands)
        self._announce_emergency(resolved.emergency, resolved.event)
        now = self._clock()
        for job in self._board:
            job.progress_at = now
        self._dispatch()
        return resolved.emergency

    def _announce_emergency(self, emergency: dict[str, Any], event: Recorded) -> None:
        """Once committed: the event, then the row on `emergencies` (in order behind it)."""
        self._journal.publish([event])
        self._publish("emergencies", "upsert", emergency)

    def dock_all(self, user_id: int | None) -> list[dict[str, Any]]:
        """Staff send every serving robot free of work to dock (closing time), in one unit
        and one loop turn whatever the fleet's size; each is then held as a staff `dock` to
        one robot is (no task until the command ends, charging until `battery_resume`). A
        robot on a task keeps it (staff move it on its own, with `force`); a cookbot has no
        dock. Sent once committed: it is no safety stop."""
        self._end_run()
        busy = self._robots.busy(self._board.robots())
        free = [r for r in self._robots if r.kind == "albabot" and r.online and not r.legacy and r.robot_id not in busy]
        commands: list[dict[str, Any]] = self._asks.record_fleet_command(
            robots_data.fleet_command, [robot.robot_id for robot in free], "dock", user_id
        )
        self._asks.fleet_command(commands)
        now = self._clock()
        for command in commands:
            self._robots.staff_command(command["robot_id"], "dock", command["id"], now)
        return commands

    def direct_command(
        self, robot_id: str, name: str, args: dict[str, Any], user_id: int | None, force: bool
    ) -> dict[str, Any]:
        """A staff command. One that conflicts with the robot's task overrides it only when
        forced: the task goes back to the queue (its command withdrawn, so the robot's
        `failed: stopped` for it changes nothing) and the robot is told `stop` (so it drops
        the task rather than finishing it beside whoever gets it next), then the command.
        A legacy robot takes none: refused before its task is touched."""
        self._end_run()
        robot = self._robots.get(robot_id)
        if robot is not None and robot.legacy:
            raise rules.no_commands(robot_id, robot.kind)
        job = self._board.of_robot(robot_id)
        if job is not None and name in CONFLICTING:
            if not force:
                raise Conflict(f"robot {robot_id} is on {job.kind} task {job.id}; send force: true to override it")
            self._tasks.requeue(job, f"overridden by a staff command ({name})", count_attempt=False)
            self._asks.command(robot_id, "stop", {})
        command = self._asks.staff_command(robot_id, name, args, user_id)
        if name in CONFLICTING:
            self._robots.staff_command(robot_id, name, command["id"], self._clock())
        return command

    def retry_order(self, order_id: int) -> None:
        """Staff take a flagged order back to the robots: attempts start again."""
        self._end_run()
        order = self._orders.get(order_id)
        if order is None:
            raise NotFound(f"order {order_id} is not active")
        order = self._asks.unflag(order_id) or order
        self._orders[order_id] = order
        for job in self._board.of_order(order_id):
            job.attempts, job.tried = 0, set()
        self._order_needs(order_id, OrderStatus(order["status"]), order.get("priority", 0))
        self._dispatch()

    def service_stopping(self) -> None:
        """Asked by the composition root before it closes the robot links: the robots that
        drop from now on are the service stopping, not robots lost. They keep their tasks
        (a restart resumes them with the same robots), no attempt is spent, no one is
        notified, and no new work is handed out. Progress reported meanwhile still counts."""
        self._stopping = True
        log.info("dispatcher: the service is stopping; tasks stay with their robots")

    def settings_changed(self, settings: StoreSettings) -> None:
        self._settings = settings
        self._dispatch()

    def overview(self) -> dict[str, Any]:
        """What the dispatcher holds now (for staff and tests)."""
        self._end_run()
        return {
            "emergency": self._emergency,
            "charging": self._robots.charging(),
            "tasks": [job.overview() for job in sorted(self._board, key=lambda j: j.id)],
        }

    # -- what others tell ------------------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        """A run of placed orders (a rush, one tell each) is taken as one: their cook tasks
        are created in one commit and dispatched once, when the run ends. Any other
        message ends the run first, so it sees every task."""
        try:
            if isinstance(message, OrderChanged) and message.order["status"] == OrderStatus.PLACED:
                self._order_changed(message.order)
                self._dispatch_owed = True
                if self.actor_inbox.empty() or self._board.wanted() >= MAX_BATCH:
                    self._dispatch()
                return None
            self._end_run()
            if isinstance(message, OrderChanged):
                self._order_changed(message.order)
                self._dispatch()
            elif isinstance(message, TableChanged):
                self._table_changed(message.table_id, message.table)
            elif isinstance(message, RobotUpdate):
                self._robot_changed(message.snapshot)
            elif isinstance(message, RobotRejoined):
                self._robot_rejoined(message)
            elif isinstance(message, TaskEvent):
                self._task_event(message)
            elif isinstance(message, LegacySent):
                self._legacy_sent(message)
            elif isinstance(message, DispatchTick):
                self._tick()
            else:
                return super().on_receive(message)
        except RobodineError as exc:  # expected trouble: log it, keep dispatching
            log.warning("dispatcher: %s", exc)
        return None

    def _end_run(self) -> None:
        """Create and hand out the tasks of a run of placed orders still owed. Any message
        but the next placed order ends the run — asks (proxy calls) included, which pykka
        hands to the method, not to `on_receive` — so no one sees the board without them."""
        if self._dispatch_owed:
            self._dispatch()

    def _order_changed(self, order: dict[str, Any]) -> None:
        status = OrderStatus(order["status"])
        known = self._orders.get(order["id"])
        if known is not None and rules.is_behind(status, OrderStatus(known["status"])):
            return  # the echo of a step this dispatcher already walked the order past
        if status in (OrderStatus.SERVED, OrderStatus.CANCELLED):
            self._orders.pop(order["id"], None)
            for job in self._board.of_order(order["id"]):
                self._tasks.cancel(job, f"order {status.value}")
        else:
            self._orders[order["id"]] = order
            self._tasks.reprioritise(order["id"], order.get("priority", 0))
            if not order.get("flagged"):
                self._order_needs(order["id"], status, order.get("priority", 0))

    def _order_needs(self, order_id: int, status: OrderStatus, priority: int) -> None:
        """An order placed or cooking needs a cook task; ready or serving, a serve task.

        (Cooking or serving without one happens when a task was given up and staff retry,
        or when the service stopped between two steps.)"""
        if status in (OrderStatus.PLACED, OrderStatus.COOKING):
            self._board.want(("cook", order_id, None), priority)
        elif status in (OrderStatus.READY, OrderStatus.SERVING):
            for job in [j for j in self._board.of_order(order_id) if j.kind == "cook"]:
                robot = self._robots.get(job.robot_id) if job.robot_id is not None and job.state != "queued" else None
                cooking = robot.robot_id if robot is not None and not robot.legacy else None  # an arm has no link
                self._tasks.withdraw(job, f"order {status.value}")  # not re-sent to a robot that has not acked
                self._tasks.finish(job)  # cooked: staff marked it ready, or the service stopped in between
                if cooking is not None:  # still on it: the work is no longer wanted
                    self._asks.command(cooking, "stop", {})
            self._board.want(("serve", order_id, None), priority)

    def _table_changed(self, table_id: int, table: dict[str, Any] | None) -> None:
        self._table_seen(table_id, table)
        self._dispatch()

    def _table_seen(self, table_id: int, table: dict[str, Any] | None) -> None:
        if table is None:
            self._tables.pop(table_id, None)
        else:
            self._tables[table_id] = table
        if table is not None and table["status"] == TableStatus.CLEANING:
            self._board.want(("clean", None, table_id), 0)
        elif (job := self._board.of_key(("clean", None, table_id))) is not None:
            self._tasks.cancel(job, "the table is no longer waiting to be cleaned")

    def _robot_changed(self, snapshot: RobotSnapshot) -> None:
        self._robot_seen(snapshot)
        self._dispatch()

    def _robot_seen(self, snapshot: RobotSnapshot) -> None:
        before = self._robots.get(snapshot.robot_id)
        robot = self._robots.seen(snapshot)
        if before is not None and before.online and not robot.online:
            self._robots.drop_staff_command(robot.robot_id)
            job = self._board.of_robot(robot.robot_id)
            if job is not None and not self._stopping:
                self._lose(job, "the robot went offline", offline=True)
                if not robot.legacy:  # queued until it links again: it may have started the task
                    self._asks.command(robot.robot_id, "stop", {})
        if robot.online and (before is None or not before.online) and self._emergency:
            self._stop_arrival(robot)
        job = self._board.of_robot(robot.robot_id)
        if job is not None and job.kind == "cook" and robot.legacy:
            self._legacy_progress(job, robot)
        self._robots.charged_yet(robot, self._settings.battery_resume)

    def _stop_arrival(self, robot: RobotView) -> None:
        """A robot that comes online during an emergency is stopped as it comes (a new
        command, not the emergency's: it may have restarted and forgotten that one), and
        is owed a `resume` with the rest."""
        if not robot.legacy and self._asks.command(robot.robot_id, "emergency_stop", {}) is not None:
            self._stopped.add(robot.robot_id)

    def _robot_rejoined(self, message: RobotRejoined) -> None:
        """A robot's first status after a hello (the edge restarted or was restored, the
        robot restarted, or it replaced a link) may show it is not doing the task it is on
        here (`rules.without_its_task`). The task is then handed on at once, not left to
        the stuck timer: the same command is sent to the robot again if it can take the
        task (its own id, so a robot that did the work, its `done` still on the way, does
        not do it twice), else the task goes back to the queue for another robot. Neither
        spends an attempt — a restart of the edge is no robot's failure — once per
        hand-over: a robot that comes back without its task a second time is failing at
        it, and loses it as a robot that dropped does."""
        robot = self._robots.seen(message.snapshot)
        self._robots.charged_yet(robot, self._settings.battery_resume)
        job = self._board.of_robot(robot.robot_id)
        if job is None or self._stopping or not rules.without_its_task(robot.state, job.command_id, message.carried):
            return
        reason = f"linked again {robot.state}, without the task"
        if job.command_id is not None and job.resent == job.command_id:
            self._lose(job, reason, offline=True)
        elif job.command_id is not None and self._takes_back(robot):
            # False: it ended (its report is on its way), or the link carried it since the hello
            if self._asks.resend(robot.robot_id, job.command_id):
                job.resent, job.progress_at = job.command_id, self._clock()
            return
        else:
            self._tasks.requeue(job, reason, count_attempt=False)
        self._dispatch()

    def _takes_back(self, robot: RobotView) -> bool:
        """Whether the robot could be given its task again now (no emergency, and the
        dispatch rules would choose it but for the task it is on)."""
        busy = set(self._robots.busy(self._board.robots())) - {robot.robot_id}
        charging, low, resume = self._robots.charging(), self._settings.battery_low, self._settings.battery_resume
        return not self._emergency and rules.takes_back(robot, busy, charging, low, resume)

    def _task_event(self, event: TaskEvent) -> None:
        freed = event.state in ("done", "failed", "nacked") and self._robots.staff_command_over(
            event.robot_id, event.command_id
        )
        job = self._board.of_command(event.command_id)
        if job is None or job.robot_id != event.robot_id:
            if freed:
                self._dispatch()
            return
        job.progress_at = self._clock()
        if event.state == "started" and job.state == "assigned":
            self._start(job)
        elif event.state == "done":
            self._complete(job)
        elif event.state in ("failed", "nacked"):
            self._lose(job, f"{event.state}: {event.detail}" if event.detail else event.state)
        self._dispatch()

    def _start(self, job: Job) -> None:
        self._tasks.start(job)
        self._move_order(job, STARTED_MOVES)

    def _complete(self, job: Job) -> None:
        """The robot did the work. The order moves first: if the service stops in between,
        a ready order with an open cook task is finished at restart, not cooked again. If
        it cannot move, staff are told (the order is flagged) rather than the order being
        left behind a closed task."""
        if not self._move_order(job, DONE_MOVES) and job.order_id is not None:
            self._asks.flag(job.order_id, f"{job.kind} task {job.id} was done but the order could not move on")
        self._tasks.finish(job)
        if job.kind == "clean" and job.table_id is not None:
            self._asks.cleaned(job.table_id)

    def _lose(self, job: Job, reason: str, *, offline: bool = False) -> None:
        """The task lost its robot: another robot gets it, until `max_task_attempts` are
        spent; then it fails and staff are told (its order flagged, its table left to clean).

        A robot that went `offline` before it started the task spent no attempt on it:
        when a whole fleet drops at once (a Wi-Fi access point rebooting) the task may be
        handed, in the same instant, to robots whose drop this actor has not heard of
        yet, and those hand-overs must not use up the order's retries."""
        if offline and job.state != "running":
            self._tasks.requeue(job, reason, count_attempt=False)
            return
        if job.attempts >= self._settings.max_task_attempts:
            self._tasks.give_up(job, reason)
            if job.order_id is not None:
                self._asks.reload_order(job.order_id)
            return
        self._tasks.requeue(job, reason, count_attempt=True)

    def _legacy_progress(self, job: Job, robot: RobotView) -> None:
        step = rules.legacy_step(robot.state, job.saw_cooking)
        if step == "started":
            job.saw_cooking = True
            job.progress_at = self._clock()
            self._start(job)
        elif step == "done":
            self._complete(job)

    def _legacy_sent(self, message: LegacySent) -> None:
        job = self._board.get(message.task_id)
        if job is not None and message.error is not None:
            self._lose(job, f"could not reach the legacy arm: {message.error}")
            self._dispatch()

    def _tick(self) -> None:
        """Every second: tasks without progress for `stuck_timeout_s` lose their robot, and
        a staff command never reported on stops holding its robot back. A restarted
        dispatcher not yet caught up (the store was restarting) tries again first."""
        if self._behind:
            self._catch_up()
        if self._emergency or self._stopping:
            return
        now = self._clock()
        self._robots.expire_staff_commands(now, self._settings.stuck_timeout_s)
        for job in self._board.held():
            if now - job.progress_at > self._settings.stuck_timeout_s:
                robot_id = job.robot_id
                self._lose(job, f"no progress for {self._settings.stuck_timeout_s} s")
                if robot_id is not None:
                    self._asks.command(robot_id, "stop", {})
        self._dispatch()

    # -- dispatching -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._tasks.create_wanted()
        self._dispatch_owed = False
        if self._emergency or self._stopping:
            return
        busy = self._robots.busy(self._board.robots())
        self._send_low_robots_to_dock(busy)
        free = self._robots.free(busy, self._settings.battery_resume)
        self._dispatch_cooks([r for r in free if r.kind == "cookbot"])
        self._dispatch_albabots([r for r in free if r.kind == "albabot"])

    def _dispatch_cooks(self, cooks: list[RobotView]) -> None:
        """Cook tasks in queue order, each to the first free cookbot (untried ones first)."""
        for job in self._board.queue("cook") if cooks else []:  # sort only when a robot can take work
            robot = rules.pick_cookbot(cooks, job.tried)
            if robot is None:
                break
            if self._assign(job, robot):
                cooks.remove(robot)

    def _dispatch_albabots(self, albas: list[RobotView]) -> None:
        """Serving before cleaning, each to the nearest free albabot with battery (untried first)."""
        kitchen_pass = (self._settings.kitchen_pass.x, self._settings.kitchen_pass.y)
        for job in (self._board.queue("serve") + self._board.queue("clean")) if albas else []:
            start = rules.work_start(job.kind, job.table_id, self._tables, kitchen_pass)
            robot = rules.pick_albabot(albas, start, self._settings.battery_low, job.tried)
            if robot is None:
                break
            if self._assign(job, robot):
                albas.remove(robot)

    def _send_low_robots_to_dock(self, busy: Collection[str]) -> None:
        for robot in self._robots.to_dock(busy, self._settings.battery_low, self._settings.battery_resume):
            log.info("robot %s is low (%.0f%%): sending it to dock", robot.robot_id, robot.battery or 0)
            if self._asks.command(robot.robot_id, "dock", {}) is not None:
                self._robots.sent_to_dock(robot.robot_id)

    def _assign(self, job: Job, robot: RobotView) -> bool:
        found = rules.task_command(job.kind, job.order_id, job.table_id, self._orders, self._tables)
        if found is None:
            return False
        name, args = found
        if robot.legacy and job.kind == "cook":
            return self._assign_legacy(job, robot, args)
        command = self._asks.command(robot.robot_id, name, args, task_id=job.id)
        if command is None:
            return False
        self._tasks.assign(job, robot.robot_id, command["id"])
        return True

    def _assign_legacy(self, job: Job, robot: RobotView, args: dict[str, Any]) -> bool:
        address = self._legacy.address(robot)
        if address is None:
            return False
        names = rules.dish_names(args["items"])
        self._tasks.assign(job, robot.robot_id, None)
        job.saw_cooking = False
        self._legacy.send(address, names, job.id, self.actor_ref)
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _commandable(self) -> list[str]:
        """The robots online that take commands (a legacy robot takes none)."""
        return [robot.robot_id for robot in self._robots if robot.online and not robot.legacy]

    def _move_order(self, job: Job, moves: dict[str, OrderStatus]) -> bool:
        """Walk the job's order to where this step of its task leaves it (the order queue
        takes it one legal step at a time from where it is now); False if a step failed."""
        if job.order_id is None or job.kind not in moves:
            return True
        moved, order = self._asks.advance(job.order_id, moves[job.kind])
        if order is not None:
            self._orders[job.order_id] = order  # the echoes of the steps it took are old news
        return moved


def _reported(reports: dict[int, str], job: Job) -> str:
    """What the robot reported on the command carrying this task, as its actor recorded it
    (a status of `REPORTED_AS`), or "" if nothing yet."""
    status = reports.get(job.command_id) if job.command_id is not None else None
    return status if status in REPORTED_AS else ""


class DispatcherProxy(TypedProxy):
    """The dispatcher as HTTP and the composition root reach it (`ActorSlot[DispatcherProxy]`)."""

    declare_emergency = proxy_method(DispatcherActor.declare_emergency)
    resolve_emergency = proxy_method(DispatcherActor.resolve_emergency)
    dock_all = proxy_method(DispatcherActor.dock_all)
    direct_command = proxy_method(DispatcherActor.direct_command)
    retry_order = proxy_method(DispatcherActor.retry_order)
    service_stopping = proxy_method(DispatcherActor.service_stopping)
    settings_changed = proxy_method(DispatcherActor.settings_changed)
    overview = proxy_method(DispatcherActor.overview)
