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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pykka

from robodine_edge.actors.base import CrashListener, SupervisedActor
from robodine_edge.actors.journal import Journal
from robodine_edge.actors.robot import RobotSnapshot
from robodine_edge.actors.store import Store
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.data import tasks as data
from robodine_edge.data.emergencies import active_emergency
from robodine_edge.data.settings import StoreSettings, load_settings
from robodine_edge.domain.dispatch import (
    RobotView,
    available,
    charged,
    is_behind,
    needs_charge,
    pick_albabot,
    pick_cookbot,
    steps_to,
    table_centre,
)
from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import Conflict, NotFound, RobodineError
from robodine_edge.types import Role

log = logging.getLogger(__name__)
ASK_TIMEOUT_S = 10.0
MAX_BATCH = 500
"""Placed orders taken together at most: their cook tasks share one commit."""
CONFLICTING = frozenset({"cook", "serve", "clean", "go_to", "dock"})
"""Commands that move a robot (and so conflict with its task)."""
SAFETY = frozenset({"stop", "resume", "emergency_stop"})
STARTED_MOVES = {"cook": OrderStatus.COOKING, "serve": OrderStatus.SERVING}
DONE_MOVES = {"cook": OrderStatus.READY, "serve": OrderStatus.SERVED}

LegacyCook = Callable[[str, list[str]], "Future[None]"]
"""Sends plain-text dish names to a legacy arm's address (host:port)."""


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


@dataclass
class Job:
    """A task as the dispatcher holds it."""

    id: int
    kind: str
    order_id: int | None
    table_id: int | None
    priority: int
    rank: int
    state: str = "queued"
    robot_id: str | None = None
    command_id: int | None = None
    attempts: int = 0
    progress_at: float = 0.0
    tried: set[str] = field(default_factory=set)
    saw_cooking: bool = False


class DispatcherActor(SupervisedActor):
    """All methods run in the dispatcher's own thread."""

    def __init__(
        self,
        store: Store,
        journal: Journal,
        robots: Any,
        orders: ActorSlot[Any],
        floor: ActorSlot[Any],
        legacy_cook: LegacyCook | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._store = store
        self._journal = journal
        self._robot_slots = robots
        self._orders_slot = orders
        self._floor_slot = floor
        self._legacy_cook = legacy_cook
        self._clock = clock
        self._settings = StoreSettings()
        self._robots: dict[str, RobotView] = {}
        self._orders: dict[int, dict[str, Any]] = {}
        self._tables: dict[int, dict[str, Any]] = {}
        self._jobs: dict[int, Job] = {}
        # Indexes, so an event costs the same with ten tasks waiting or ten thousand:
        self._by_command: dict[int, int] = {}
        self._by_key: dict[tuple[str, int | None, int | None], int] = {}
        self._by_order: dict[int, set[int]] = {}
        self._by_robot: dict[str, int] = {}
        self._queued: dict[str, set[int]] = {"cook": set(), "serve": set(), "clean": set()}
        self._wanted: dict[data.TaskKey, int] = {}  # tasks to create (with their priority), in one unit
        self._dispatch_owed = False
        self._charging: set[str] = set()
        self._staff_commands: dict[str, tuple[int, float]] = {}  # robot → (command id, sent at): busy with it
        self._emergency = False
        self._stopping = False
        self._ranks = count(1)
        self._head = count(-1, -1)

    # -- start: rebuild from SQLite and the owning actors --------------------------------------

    def on_start(self) -> None:
        self._settings = self._write(load_settings)
        self._emergency = self._write(active_emergency) is not None
        for _, slot in self._robot_slots.items():
            self._robots_seen(slot.proxy.snapshot().get(timeout=ASK_TIMEOUT_S))
        self._charging = set(self._write(data.robots_sent_to_dock, sorted(CONFLICTING)))
        for robot in list(self._robots.values()):
            self._charged_yet(robot)
        self._orders = {o["id"]: o for o in self._orders_slot.proxy.active_orders().get(timeout=ASK_TIMEOUT_S)}
        self._tables = {t["id"]: t for t in self._floor_slot.proxy.list_tables().get(timeout=ASK_TIMEOUT_S)}
        for record, command_id in self._write(data.open_tasks_with_commands):
            job = Job(record.id, record.kind, record.order_id, record.table_id, record.priority, next(self._ranks))
            job.attempts, job.progress_at = record.attempts, self._clock()
            self._add(job)
            if record.robot_id is not None and record.state != "queued":
                self._set(job, record.state, record.robot_id, command_id)
                job.tried.add(record.robot_id)
        for order in self._orders.values():  # the order's priority wins (rows bumped before it was stored too)
            self._reprioritise(order["id"], order.get("priority", 0))
        self._reconcile()
        self._dispatch()

    def _reconcile(self) -> None:
        """Work the database says is needed but no open task covers (e.g. a crash in between)."""
        for order_id, status, priority, flagged in self._write(data.orders_needing_work):
            if not flagged:
                self._order_needs(order_id, OrderStatus(status), priority)
        for table_id in self._write(data.tables_being_cleaned):
            self._ensure("clean", None, table_id, 0)

    # -- asks from HTTP ------------------------------------------------------------------------

    def emergency(self, active: bool) -> None:
        """Stop (or resume) every connected robot now; tasks and orders stay as they are."""
        self._emergency = active
        name = "emergency_stop" if active else "resume"
        for robot in self._robots.values():
            if robot.online:
                self._command(robot.robot_id, name, {})
        if not active:
            now = self._clock()
            for job in self._jobs.values():
                job.progress_at = now
            self._dispatch()

    def direct_command(
        self, robot_id: str, name: str, args: dict[str, Any], user_id: int | None, force: bool
    ) -> dict[str, Any]:
        """A staff command. One that conflicts with the robot's task overrides it only when
        forced: the robot is told `stop` first (so it drops the task rather than finishing
        it beside whoever gets it next), and the task goes back to the queue."""
        job = self._job_of(robot_id)
        if job is not None and name in CONFLICTING:
            if not force:
                raise Conflict(f"robot {robot_id} is on {job.kind} task {job.id}; send force: true to override it")
            self._command(robot_id, "stop", {})
            self._requeue(job, f"overridden by a staff command ({name})", count_attempt=False)
        slot = self._robot_slots.get(robot_id)
        command: dict[str, Any] = slot.proxy.command(name, args, user_id).get(timeout=ASK_TIMEOUT_S)
        if name in CONFLICTING:
            self._staff_commands[robot_id] = (command["id"], self._clock())
            self._staff_moved(robot_id, name)
        return command

    def _staff_moved(self, robot_id: str, name: str) -> None:
        """Sent to dock by staff is sent to dock (as a restart would read the command log);
        any other move takes the robot off the dock on purpose."""
        robot = self._robots.get(robot_id)
        if name == "dock" and robot is not None and robot.kind == "albabot":
            self._charging.add(robot_id)
        elif name != "dock":
            self._charging.discard(robot_id)

    def retry_order(self, order_id: int) -> None:
        """Staff take a flagged order back to the robots: attempts start again."""
        order = self._orders.get(order_id)
        if order is None:
            raise NotFound(f"order {order_id} is not active")
        self._write(data.unflag_order, order_id)
        for job in self._jobs_of(order_id):
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
        return {
            "emergency": self._emergency,
            "charging": sorted(self._charging),
            "tasks": [
                {"id": j.id, "kind": j.kind, "state": j.state, "order_id": j.order_id, "table_id": j.table_id,
                 "robot_id": j.robot_id, "attempts": j.attempts, "priority": j.priority}
                for j in sorted(self._jobs.values(), key=lambda j: j.id)
            ],
        }  # fmt: skip

    # -- what others tell ------------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        """A run of placed orders (a rush, one tell each) is taken as one: their cook tasks
        are created in one commit and dispatched once, when the run ends. Any other
        message ends the run first, so it sees every task."""
        try:
            if isinstance(message, OrderChanged) and message.order["status"] == OrderStatus.PLACED:
                self._order_changed(message.order)
                self._dispatch_owed = True
                if self.actor_inbox.empty() or len(self._wanted) >= MAX_BATCH:
                    self._dispatch()
                return None
            if self._dispatch_owed:
                self._dispatch()
            if isinstance(message, OrderChanged):
                self._order_changed(message.order)
                self._dispatch()
            elif isinstance(message, TableChanged):
                self._table_changed(message.table_id, message.table)
            elif isinstance(message, RobotUpdate):
                self._robot_changed(message.snapshot)
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

    def _order_changed(self, order: dict[str, Any]) -> None:
        status = OrderStatus(order["status"])
        known = self._orders.get(order["id"])
        if known is not None and is_behind(status, OrderStatus(known["status"])):
            return  # the echo of a step this dispatcher already walked the order past
        if status in (OrderStatus.SERVED, OrderStatus.CANCELLED):
            self._orders.pop(order["id"], None)
            for job in self._jobs_of(order["id"]):
                self._cancel(job, f"order {status.value}")
        else:
            self._orders[order["id"]] = order
            self._reprioritise(order["id"], order.get("priority", 0))
            if not order.get("flagged"):
                self._order_needs(order["id"], status, order.get("priority", 0))

    def _order_needs(self, order_id: int, status: OrderStatus, priority: int) -> None:
        """An order placed or cooking needs a cook task; ready or serving, a serve task.

        (Cooking or serving without one happens when a task was given up and staff retry,
        or when the service stopped between two steps.)"""
        if status in (OrderStatus.PLACED, OrderStatus.COOKING):
            self._ensure("cook", order_id, None, priority)
        elif status in (OrderStatus.READY, OrderStatus.SERVING):
            for job in [j for j in self._jobs_of(order_id) if j.kind == "cook"]:
                self._withdraw(job, f"order {status.value}")  # not re-sent to a robot that has not acked
                self._finish(job)  # cooked: staff marked it ready, or the service stopped in between
            self._ensure("serve", order_id, None, priority)

    def _reprioritise(self, order_id: int, priority: int) -> None:
        """A bump reaches every open task of the order, in memory and in SQLite, so it
        still holds after a restart (or after the task is taken from a robot)."""
        jobs = [job for job in self._jobs_of(order_id) if job.priority != priority]
        if not jobs:
            return
        for job in jobs:
            job.priority = priority
        self._write(data.set_task_priority, [job.id for job in jobs], priority)

    def _table_changed(self, table_id: int, table: dict[str, Any] | None) -> None:
        if table is None:
            self._tables.pop(table_id, None)
        else:
            self._tables[table_id] = table
        if table is not None and table["status"] == "cleaning":
            self._ensure("clean", None, table_id, 0)
        elif (job_id := self._by_key.get(("clean", None, table_id))) is not None:
            self._cancel(self._jobs[job_id], "the table is no longer waiting to be cleaned")
        self._dispatch()

    def _robot_changed(self, snapshot: RobotSnapshot) -> None:
        before = self._robots.get(snapshot.robot_id)
        robot = self._robots_seen(snapshot)
        if before is not None and before.online and not robot.online:
            self._staff_commands.pop(robot.robot_id, None)
            job = self._job_of(robot.robot_id)
            if job is not None and not self._stopping:
                self._lose(job, "the robot went offline")
                if not robot.legacy:  # queued until it links again: it may have started the task
                    self._command(robot.robot_id, "stop", {})
        if robot.online and (before is None or not before.online) and self._emergency:
            self._command(robot.robot_id, "emergency_stop", {})
        job = self._job_of(robot.robot_id)
        if job is not None and job.kind == "cook" and robot.legacy:
            self._legacy_progress(job, robot)
        self._charged_yet(robot)
        self._dispatch()

    def _charged_yet(self, robot: RobotView) -> None:
        """A robot sent to dock is back in service once it reports `battery_resume`,
        whether it says `idle` or stays on the dock `charging` (then it is sent off it)."""
        if robot.robot_id in self._charging and charged(robot, self._settings.battery_resume):
            self._charging.discard(robot.robot_id)

    def _task_event(self, event: TaskEvent) -> None:
        freed = event.state in ("done", "failed", "nacked") and self._staff_command_over(
            event.robot_id, event.command_id
        )
        job = self._jobs.get(self._by_command.get(event.command_id, -1))
        if job is None or job.robot_id != event.robot_id:
            if freed:
                self._dispatch()
            return
        job.progress_at = self._clock()
        if event.state == "started" and job.state == "assigned":
            self._set(job, "running", job.robot_id, job.command_id)
            self._write(data.set_task_state, job.id, "running")
            self._move_order(job, STARTED_MOVES)
        elif event.state == "done":
            self._complete(job)
        elif event.state in ("failed", "nacked"):
            self._lose(job, f"{event.state}: {event.detail}" if event.detail else event.state)
        self._dispatch()

    def _complete(self, job: Job) -> None:
        """The robot did the work. The order moves first: if the service stops in between,
        a ready order with an open cook task is finished at restart, not cooked again. If
        it cannot move, staff are told (the order is flagged) rather than the order being
        left behind a closed task."""
        if not self._move_order(job, DONE_MOVES) and job.order_id is not None:
            reason = f"{job.kind} task {job.id} was done but the order could not move on"
            self._journal.publish([self._write(data.flag_order, job.order_id, reason)])
            self._ask_quietly(self._orders_slot.proxy.reload(job.order_id))
        self._finish(job)
        if job.kind == "clean" and job.table_id is not None:
            self._ask_quietly(self._floor_slot.proxy.cleaned(job.table_id))

    def _legacy_sent(self, message: LegacySent) -> None:
        job = self._jobs.get(message.task_id)
        if job is not None and message.error is not None:
            self._lose(job, f"could not reach the legacy arm: {message.error}")
            self._dispatch()

    def _tick(self) -> None:
        """Every second: tasks without progress for `stuck_timeout_s` lose their robot, and
        a staff command never reported on stops holding its robot back."""
        if self._emergency or self._stopping:
            return
        now = self._clock()
        for robot_id, (command_id, sent_at) in list(self._staff_commands.items()):
            if now - sent_at > self._settings.stuck_timeout_s:
                self._staff_command_over(robot_id, command_id)
        for job in [self._jobs[job_id] for job_id in self._by_robot.values()]:  # the tasks robots hold
            if now - job.progress_at > self._settings.stuck_timeout_s:
                robot_id = job.robot_id
                self._lose(job, f"no progress for {self._settings.stuck_timeout_s} s")
                if robot_id is not None:
                    self._command(robot_id, "stop", {})
        self._dispatch()

    # -- dispatching -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._create_wanted()
        self._dispatch_owed = False
        if self._emergency or self._stopping:
            return
        busy = self._busy()
        self._send_low_robots_to_dock(busy)
        resume = self._settings.battery_resume
        free = [r for r in self._robots.values() if available(r, busy, self._charging, resume)]
        cooks = [r for r in free if r.kind == "cookbot"]
        albas = [r for r in free if r.kind == "albabot"]
        for job in self._queue("cook") if cooks else []:  # sort only when a robot can take work
            robot = pick_cookbot(cooks, job.tried)
            if robot is None:
                break
            if self._assign(job, robot):
                cooks.remove(robot)
        for job in (self._queue("serve") + self._queue("clean")) if albas else []:
            robot = pick_albabot(albas, self._target(job), self._settings.battery_low, job.tried)
            if robot is None:
                break
            if self._assign(job, robot):
                albas.remove(robot)

    def _busy(self) -> Collection[str]:
        """Robots on a task, or on a staff command (they may still look idle for a moment)."""
        if not self._staff_commands:
            return self._by_robot.keys()
        return self._by_robot.keys() | self._staff_commands.keys()

    def _staff_command_over(self, robot_id: str, command_id: int) -> bool:
        """True when this ends the staff command the robot was busy with."""
        if self._staff_commands.get(robot_id, (None, 0.0))[0] != command_id:
            return False
        del self._staff_commands[robot_id]
        return True

    def _send_low_robots_to_dock(self, busy: Collection[str]) -> None:
        for robot in self._robots.values():
            if available(robot, busy, self._charging, self._settings.battery_resume) and needs_charge(
                robot, self._settings.battery_low
            ):
                log.info("robot %s is low (%.0f%%): sending it to dock", robot.robot_id, robot.battery or 0)
                if self._command(robot.robot_id, "dock", {}) is not None:
                    self._charging.add(robot.robot_id)

    def _queue(self, kind: str) -> list[Job]:
        queued = (self._jobs[job_id] for job_id in self._queued.get(kind, ()))
        return sorted(queued, key=lambda j: (-j.priority, j.rank))

    def _target(self, job: Job) -> tuple[float, float]:
        if job.kind == "clean" and job.table_id in self._tables:
            return table_centre(self._tables[job.table_id])
        return (self._settings.kitchen_pass.x, self._settings.kitchen_pass.y)

    def _assign(self, job: Job, robot: RobotView) -> bool:
        name, args = self._command_for(job)
        if name is None:
            return False
        if robot.legacy and job.kind == "cook":
            return self._assign_legacy(job, robot, args)
        command = self._command(robot.robot_id, name, args, task_id=job.id)
        if command is None:
            return False
        self._assigned(job, robot.robot_id, command["id"])
        return True

    def _assign_legacy(self, job: Job, robot: RobotView, args: dict[str, Any]) -> bool:
        if self._legacy_cook is None or not robot.legacy_cook_addr:
            return False
        names = [item["name"].lower() for item in args["items"] for _ in range(item["quantity"])]
        self._assigned(job, robot.robot_id, None)
        job.saw_cooking = False
        sent = self._legacy_cook(robot.legacy_cook_addr, names)
        task_id, me = job.id, self.actor_ref
        sent.add_done_callback(
            lambda f: _tell(me, LegacySent(task_id, None if f.exception() is None else str(f.exception())))
        )
        return True

    def _assigned(self, job: Job, robot_id: str, command_id: int | None) -> None:
        self._set(job, "assigned", robot_id, command_id)
        job.attempts += 1
        job.tried.add(robot_id)
        job.progress_at = self._clock()
        self._write(data.assign_task, job.id, robot_id)
        log.info("%s task %d → %s", job.kind, job.id, robot_id)

    def _command_for(self, job: Job) -> tuple[str | None, dict[str, Any]]:
        if job.kind == "cook":
            order = self._orders.get(job.order_id or -1)
            if order is None:
                return None, {}
            items = [
                {"menu_item_id": i["menu_item_id"], "name": i["name"], "quantity": i["quantity"], "note": i["note"]}
                for i in order["items"]
            ]
            return "cook", {"order_id": order["id"], "items": items}
        if job.kind == "serve":
            order = self._orders.get(job.order_id or -1)
            table = self._tables.get(order["table_id"]) if order else None
            if order is None or table is None:
                return None, {}
            x, y = table_centre(table)
            return "serve", {"order_id": order["id"], "table_id": table["id"], "table": {"x": x, "y": y}}
        if job.kind == "clean" and job.table_id in self._tables:
            return "clean", {"table_id": job.table_id}
        return None, {}

    # -- a task's end ------------------------------------------------------------------------

    def _finish(self, job: Job) -> None:
        self._write(data.set_task_state, job.id, "done")
        self._forget(job)

    def _cancel(self, job: Job, reason: str) -> None:
        if job.robot_id is not None and job.state != "queued":
            self._command(job.robot_id, "stop", {})
        self._withdraw(job, reason)
        self._write(data.set_task_state, job.id, "cancelled", reason)
        self._forget(job)

    def _lose(self, job: Job, reason: str) -> None:
        if job.attempts >= self._settings.max_task_attempts:
            self._withdraw(job, reason)
            self._journal.publish([self._write(data.give_up_task, job.id, reason, job.order_id, job.table_id)])
            self._forget(job)
            if job.order_id is not None:
                self._ask_quietly(self._orders_slot.proxy.reload(job.order_id))
            return
        self._requeue(job, reason, count_attempt=True)

    def _requeue(self, job: Job, reason: str, *, count_attempt: bool) -> None:
        robot_id = job.robot_id or "?"
        self._withdraw(job, reason)
        self._set(job, "queued", None, None)
        job.rank = next(self._head)  # back to the head of its queue
        if not count_attempt:
            job.attempts = max(0, job.attempts - 1)
        self._journal.publish(
            [self._write(data.requeue_task, job.id, reason, robot_id, job.kind, job.order_id, job.attempts)]
        )

    def _withdraw(self, job: Job, reason: str) -> None:
        """The task leaves its robot: the command that carried it is taken back first, so
        the robot's outbox never re-sends it (every 5 s, or when it links again) beside
        the robot that gets the task next. Before the task's own write: a crash in
        between leaves a task with no command, which the stuck timer requeues, rather than
        a command still owed to a robot for a task given to another."""
        if job.robot_id is None or job.command_id is None:
            return
        slot = self._robot_slots.find(job.robot_id)
        if slot is not None:
            self._ask_quietly(slot.proxy.withdraw(job.command_id, reason))

    def _add(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._by_key[(job.kind, job.order_id, job.table_id)] = job.id
        if job.order_id is not None:
            self._by_order.setdefault(job.order_id, set()).add(job.id)
        self._queued.setdefault(job.kind, set()).add(job.id)

    def _set(self, job: Job, state: str, robot_id: str | None, command_id: int | None) -> None:
        """Change a job's state, robot and command, keeping every index in step."""
        if job.robot_id is not None and self._by_robot.get(job.robot_id) == job.id:
            del self._by_robot[job.robot_id]
        if job.command_id is not None:
            self._by_command.pop(job.command_id, None)
        self._queued.setdefault(job.kind, set()).discard(job.id)
        job.state, job.robot_id, job.command_id = state, robot_id, command_id
        if state == "queued":
            self._queued[job.kind].add(job.id)
        elif robot_id is not None:
            self._by_robot[robot_id] = job.id
        if command_id is not None:
            self._by_command[command_id] = job.id

    def _forget(self, job: Job) -> None:
        self._set(job, "gone", None, None)
        self._jobs.pop(job.id, None)
        self._by_key.pop((job.kind, job.order_id, job.table_id), None)
        if job.order_id is not None:
            mine = self._by_order.get(job.order_id, set())
            mine.discard(job.id)
            if not mine:
                self._by_order.pop(job.order_id, None)

    # -- helpers -------------------------------------------------------------------------------

    def _ensure(self, kind: str, order_id: int | None, table_id: int | None, priority: int) -> None:
        """Want a task for this key unless one is open; `_create_wanted` creates them."""
        if (kind, order_id, table_id) not in self._by_key:
            self._wanted[(kind, order_id, table_id)] = priority

    def _create_wanted(self) -> None:
        if not self._wanted:
            return
        wanted, self._wanted = list(self._wanted.items()), {}
        for record in self._write(data.create_tasks, wanted):
            self._add(Job(record.id, record.kind, record.order_id, record.table_id, record.priority, next(self._ranks)))

    def _job_of(self, robot_id: str) -> Job | None:
        job_id = self._by_robot.get(robot_id)
        return self._jobs.get(job_id) if job_id is not None else None

    def _jobs_of(self, order_id: int) -> list[Job]:
        return [self._jobs[job_id] for job_id in self._by_order.get(order_id, ())]

    def _legacy_progress(self, job: Job, robot: RobotView) -> None:
        """A legacy arm has no task updates: cooking means started, idle again means done."""
        if robot.state == "cooking" and not job.saw_cooking:
            job.saw_cooking = True
            job.progress_at = self._clock()
            self._set(job, "running", job.robot_id, job.command_id)
            self._write(data.set_task_state, job.id, "running")
            self._move_order(job, STARTED_MOVES)
        elif robot.state == "idle" and job.saw_cooking:
            self._complete(job)

    def _robots_seen(self, snapshot: RobotSnapshot) -> RobotView:
        pose = (snapshot.pose.x, snapshot.pose.y) if snapshot.pose is not None else None
        view = RobotView(
            snapshot.robot_id, snapshot.kind, snapshot.online, snapshot.state, snapshot.battery, pose,
            snapshot.legacy, snapshot.legacy_cook_addr,
        )  # fmt: skip
        self._robots[view.robot_id] = view
        return view

    def _move_order(self, job: Job, moves: dict[str, OrderStatus]) -> bool:
        """Walk the job's order to where this step of its task leaves it, one legal step at
        a time from where it is now; False if a step failed."""
        if job.order_id is None or job.kind not in moves:
            return True
        target = moves[job.kind]
        for status in steps_to(self._order_status(job.order_id), target):
            moved = self._ask_quietly(self._orders_slot.proxy.set_status(job.order_id, status, Role.ADMIN))
            if moved is None:  # unless someone else moved it meanwhile (staff, a cancel)
                return not steps_to(self._order_status(job.order_id), target)
            self._orders[job.order_id] = moved  # its echo, and those of the steps before, are old news
        return True

    def _order_status(self, order_id: int) -> OrderStatus:
        """As committed (the order queue writes through the same store before it answers)."""
        try:
            status: OrderStatus = self._write(data.order_status, order_id)
        except NotFound:
            return OrderStatus.CANCELLED  # deleted: nothing left to move
        return status

    def _command(
        self, robot_id: str, name: str, args: dict[str, Any], task_id: int | None = None
    ) -> dict[str, Any] | None:
        slot = self._robot_slots.find(robot_id)
        if slot is None:
            return None
        return self._ask_quietly(slot.proxy.command(name, args, None, task_id))

    def _ask_quietly(self, future: Any) -> Any:
        try:
            return future.get(timeout=ASK_TIMEOUT_S)
        except (RobodineError, pykka.ActorDeadError, pykka.Timeout) as exc:
            log.info("dispatcher: %s", exc)
            return None

    def _write(self, unit: Any, *args: Any) -> Any:
        return self._store.write(unit, *args).get(timeout=ASK_TIMEOUT_S)


def _tell(ref: Any, message: Any) -> None:
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        log.info("dispatcher restarted; it reloads its tasks from SQLite")
