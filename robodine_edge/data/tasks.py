"""Robot tasks in SQLite: what the dispatcher must not forget across a restart."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import JOIN, SQL, fn

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.models import (
    ORDER_ACTIVE,
    TASK_ENDED_BADLY,
    TASK_OPEN,
    DiningTable,
    Order,
    Robot,
    RobotCommand,
    Task,
)
from robodine_edge.data.orders import flag_order, load_active_orders
from robodine_edge.data.rows import tuples
from robodine_edge.data.settings import StoreSettings, load_settings
from robodine_edge.data.statements import insert_sql, params
from robodine_edge.data.tables import load_tables
from robodine_edge.domain.lifecycle import ACTIVE_ORDER, OrderStatus, TableStatus
from robodine_edge.types import EventLevel

OPEN_TASKS = ("queued", "assigned", "running")
ENDED_BADLY = ("failed", "cancelled")
"""The states `task_ended_badly` holds (models.Task)."""


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: int
    kind: str
    state: str
    order_id: int | None
    table_id: int | None
    robot_id: str | None
    priority: int
    attempts: int
    created_at: datetime


def task_json(row: Task) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "order_id": row.order_id,
        "table_id": row.table_id,
        "robot_id": row.robot.robot_id if row.robot is not None else None,
        "attempts": row.attempts,
        "priority": row.priority,
        "detail": row.detail,
        "created_at": to_iso(row.created_at),
        "started_at": to_iso(row.started_at),
        "finished_at": to_iso(row.finished_at),
    }


# -- readers (run through the store, so they follow every queued write) ----------------------


def load_open_tasks() -> list[TaskRecord]:
    """One statement, the robot's name joined in (a lookup per task made a restart with
    10k open tasks take seconds)."""
    query = (
        Task.select(
            Task.id, Task.kind, Task.state, Task.order, Task.table, Robot.robot_id, Task.priority, Task.attempts,
            Task.created_at,
        )
        .join(Robot, JOIN.LEFT_OUTER, on=(Task.robot == Robot.id))
        .where(Task.state.in_(OPEN_TASKS), SQL(TASK_OPEN))
        .order_by(Task.id)
    )  # fmt: skip
    return [TaskRecord(*row) for row in tuples(query)]


def open_tasks_with_commands() -> list[tuple[TaskRecord, int | None, str | None]]:
    """Open tasks with the id and status of each one's latest command (to match task
    updates, and to see what the robot reported that the dispatcher may not have heard);
    a command the edge withdrew (`cancelled`) no longer carries its task. Three statements
    whatever the number of tasks: start-up reads them all."""
    open_ids = Task.select(Task.id).where(Task.state.in_(OPEN_TASKS), SQL(TASK_OPEN))
    latest = (
        RobotCommand.select(fn.MAX(RobotCommand.id))
        .where(RobotCommand.task.in_(open_ids), RobotCommand.status != "cancelled")
        .group_by(RobotCommand.task)
    )
    commands: dict[int, tuple[int, str]] = {
        task_id: (command_id, status)
        for command_id, task_id, status in tuples(
            RobotCommand.select(RobotCommand.id, RobotCommand.task, RobotCommand.status).where(
                RobotCommand.id.in_(latest)
            )
        )
    }
    return [(record, *commands.get(record.id, (None, None))) for record in load_open_tasks()]


def orders_needing_work() -> list[tuple[int, str, int, bool]]:
    """Active orders as (id, status, priority, flagged), to reconcile tasks at start."""
    query = Order.select(Order.id, Order.status, Order.priority, Order.flagged).where(
        Order.status.in_([s.value for s in ACTIVE_ORDER]), SQL(ORDER_ACTIVE)
    )
    return list(tuples(query.order_by(Order.id)))


@dataclass(frozen=True, slots=True)
class TheirState:
    """What the order queue, the floor, the robots' actors and the settings route tell the
    dispatcher, as SQLite has it at one moment (`their_state`)."""

    settings: StoreSettings
    orders: list[dict[str, Any]]
    """Every active order, as the order queue announces it."""
    ended: dict[int, OrderStatus]
    """Of the orders asked about, those no longer active: served or cancelled (deleted: cancelled)."""
    tables: list[dict[str, Any]]
    """Every table, as the floor announces it."""
    reports: dict[int, str]
    """Of the commands asked about, the status each is recorded at."""


def their_state(known_orders: Collection[int], commands: Collection[int]) -> TheirState:
    """One consistent read for a restarted dispatcher once it is reachable (it may have
    missed any change in between): `known_orders` are the orders it holds, `commands`
    those carrying its tasks (one per robot at most)."""
    active = load_active_orders()
    ids = {order.id for order in active}
    gone = [order_id for order_id in known_orders if order_id not in ids]
    statuses = dict(tuples(Order.select(Order.id, Order.status).where(Order.id.in_(gone)))) if gone else {}
    reports = (
        dict(tuples(RobotCommand.select(RobotCommand.id, RobotCommand.status).where(RobotCommand.id.in_(commands))))
        if commands
        else {}
    )
    return TheirState(
        settings=load_settings(),
        orders=[order.json for order in active],
        ended={order_id: OrderStatus(statuses.get(order_id, OrderStatus.CANCELLED)) for order_id in gone},
        tables=[table.json() for table in load_tables()],
        reports=reports,
    )


def tables_being_cleaned() -> list[int]:
    return [t.id for t in DiningTable.select(DiningTable.id).where(DiningTable.status == TableStatus.CLEANING.value)]


def robots_sent_to_dock(moves: list[str]) -> list[str]:
    """Albabots whose latest move command (one of `moves`) is a `dock` they did not
    refuse: on their way to the dock or charging there, as far as the edge knows. So a
    restart does not hand work to a docked robot at 50 % because it says `idle`."""
    latest = (
        RobotCommand.select(fn.MAX(RobotCommand.id)).where(RobotCommand.name.in_(moves)).group_by(RobotCommand.robot)
    )
    query = (
        RobotCommand.select(Robot.robot_id)
        .join(Robot)
        .where(
            RobotCommand.id.in_(latest),
            RobotCommand.name == "dock",
            RobotCommand.status.not_in(["nacked", "failed"]),
            Robot.kind == "albabot",
        )
    )
    return [row.robot.robot_id for row in query]


def list_tasks(limit: int, before: int | None, state: str | None, order_id: int | None) -> list[dict[str, Any]]:
    query = Task.select().order_by(Task.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Task.id < before)
    if state is not None:
        query = query.where(Task.state == state)
        if state in OPEN_TASKS:
            query = query.where(SQL(TASK_OPEN))
        elif state in ENDED_BADLY:
            query = query.where(SQL(TASK_ENDED_BADLY))
    if order_id is not None:
        query = query.where(Task.order == order_id)
    return [task_json(row) for row in query]


# -- writers (writer thread) ------------------------------------------------------------------


TaskKey = tuple[str, int | None, int | None]
"""(kind, order id, table id): at most one open task per key."""


TASK_FIELDS = ("kind", "state", "order", "table", "priority", "attempts", "created_at", "updated_at")
INSERT_TASK = insert_sql(Task, TASK_FIELDS)


def create_tasks(wanted: list[tuple[TaskKey, int]]) -> list[TaskRecord]:
    """Queued tasks for (key, priority) pairs, in one unit: a rush of placed orders costs
    the dispatcher one commit, not one each (and a prebuilt statement, not peewee's
    query building, per row)."""
    db = Task._meta.database
    now = utcnow()
    records = []
    for (kind, order_id, table_id), priority in wanted:
        values = (kind, "queued", order_id, table_id, priority, 0, now, now)
        task_id = db.execute_sql(INSERT_TASK, params(Task, TASK_FIELDS, values)).lastrowid
        records.append(TaskRecord(task_id, kind, "queued", order_id, table_id, None, priority, 0, now))
    return records


def assign_task(task_id: int, robot_id: str) -> None:
    robot = Robot.get_or_none(Robot.robot_id == robot_id)
    Task.update(
        state="assigned", robot=robot.id if robot else None, attempts=Task.attempts + 1, updated_at=utcnow()
    ).where(Task.id == task_id).execute()


def set_task_priority(task_ids: list[int], priority: int) -> None:
    """Staff bumped the tasks' order: its open tasks follow."""
    Task.update(priority=priority, updated_at=utcnow()).where(Task.id.in_(task_ids)).execute()


def set_task_state(task_id: int, state: str, detail: str | None = None) -> None:
    Task.update(_state_changes(state, detail)).where(Task.id == task_id).execute()


def _state_changes(state: str, detail: str | None) -> dict[Any, Any]:
    """The columns a move to `state` sets (its stamps; a queued task has no robot)."""
    now = utcnow()
    changes: dict[Any, Any] = {Task.state: state, Task.updated_at: now}
    if detail is not None:
        changes[Task.detail] = detail[:250]
    if state == "running":
        changes[Task.started_at] = now
    if state in ("done", "failed", "cancelled"):
        changes[Task.finished_at] = now
    if state == "queued":
        changes[Task.robot] = None
    return changes


def requeue_task(task_id: int, reason: str, robot_id: str, kind: str, order_id: int | None, attempts: int) -> Recorded:
    """A robot lost the task: back in the queue, with a `task_reassigned` event. `attempts`
    is the count the dispatcher keeps (an override by staff gives its attempt back)."""
    Task.update({**_state_changes("queued", reason), Task.attempts: attempts}).where(Task.id == task_id).execute()
    subject = f"order {order_id}" if order_id else kind
    return record_event(
        "task_reassigned",
        f"{kind} task {task_id} ({subject}) taken from {robot_id}: {reason}",
        level=EventLevel.WARNING,
        entity_type="task",
        entity_id=task_id,
    )


def give_up_task(task_id: int, reason: str, order_id: int | None, table_id: int | None = None) -> Recorded:
    """Retries are spent: the task fails, and staff are told what is left for them (an
    order flagged, never dropped; a table still to clean)."""
    set_task_state(task_id, "failed", reason)
    if order_id is not None:
        return flag_order(order_id, reason)
    if table_id is not None:
        return table_not_cleaned(table_id, reason)
    return record_event(
        "task_failed",
        f"task {task_id} failed: {reason}",
        level=EventLevel.WARNING,
        entity_type="task",
        entity_id=task_id,
    )


def table_not_cleaned(table_id: int, reason: str) -> Recorded:
    """The robots could not clean the table: it stays `cleaning` for staff to clean and
    mark `cleaned` (`table_not_cleaned`, notified like an order that cannot be served)."""
    table = DiningTable.get_or_none(DiningTable.id == table_id)
    name = table.name if table is not None else str(table_id)
    return record_event(
        "table_not_cleaned",
        f"table {name} could not be cleaned by the robots ({reason}); staff, please clean it and mark it cleaned",
        level=EventLevel.ERROR,
        entity_type="table",
        entity_id=table_id,
    )
