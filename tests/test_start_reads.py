"""What start-up reads of open orders and tasks: the same few statements whatever their
number (a statement per task made a restart with 10k open orders take seconds; `make
bench` measures it), and the same values the API shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from peewee import SqliteDatabase

from robodine_edge.data import orders, tasks
from robodine_edge.data.models import DiningTable, MenuItem, Order, OrderItem, Party, Robot, RobotCommand, Task

T = TypeVar("T")


def statements(db: SqliteDatabase, unit: Callable[[], T]) -> tuple[T, list[str]]:
    """Run `unit` on this thread's connection; the SQL statements it executed (SQLite's own trace)."""
    seen: list[str] = []
    connection = db.connection()
    connection.set_trace_callback(seen.append)
    try:
        return unit(), seen
    finally:
        connection.set_trace_callback(None)


def seed(count: int) -> None:
    """`count` open orders of two lines each, every one with a task; even tasks are
    assigned to a robot and have two commands, the later one withdrawn (`cancelled`)."""
    table = DiningTable.create(name=f"T{count}", seats=4)
    party = Party.create(party_size=2, status="seated", table=table)
    robot = Robot.create(robot_id=f"alba-{count}", kind="albabot", token_hash="x")
    soup = MenuItem.create(name=f"Soup {count}", price_cents=550)
    for n in range(count):
        status = ("placed", "cooking", "ready")[n % 3]
        order = Order.create(table=table, party=party, status=status, total_cents=1650, flagged=n % 5 == 0, priority=n)
        OrderItem.create(order=order, menu_item=soup, name="Soup", quantity=1, price_cents=550, note="hot")
        OrderItem.create(order=order, menu_item=None, name="Gone", quantity=2, price_cents=550)
        task = Task.create(kind="cook", order=order, state="assigned" if n % 2 == 0 else "queued")
        if n % 2 == 0:
            task.robot = robot
            task.save()
            RobotCommand.create(robot=robot, task=task, name="cook", status="sent")
            RobotCommand.create(robot=robot, task=task, name="cook", status="cancelled")
    Order.create(table=table, party=party, status="served", total_cents=0)  # not open: not read


def test_open_orders_are_read_in_the_same_statements_whatever_their_number(db: SqliteDatabase) -> None:
    seed(4)
    few, few_sql = statements(db, orders.load_active_orders)
    seed(60)
    many, many_sql = statements(db, orders.load_active_orders)
    assert len(few) == 4 and len(many) == 64
    assert len(many_sql) == len(few_sql) <= 2
    for active in many:
        assert active.json == orders.get_order(active.id)
        order = Order.get_by_id(active.id)
        assert (active.table_id, active.status.value, active.priority, active.created_at) == (
            order.table_id, order.status, order.priority, order.created_at,
        )  # fmt: skip


def test_open_tasks_and_their_commands_are_read_in_the_same_statements_whatever_their_number(
    db: SqliteDatabase,
) -> None:
    seed(4)
    few, few_sql = statements(db, tasks.open_tasks_with_commands)
    seed(60)
    many, many_sql = statements(db, tasks.open_tasks_with_commands)
    assert len(few) == 4 and len(many) == 64
    assert len(many_sql) == len(few_sql) <= 3
    for record, command_id, status in many:
        task = Task.get_by_id(record.id)
        assert record.robot_id == (task.robot.robot_id if task.robot is not None else None)
        assert (record.kind, record.state, record.order_id, record.attempts) == (
            task.kind, task.state, task.order_id, task.attempts,
        )  # fmt: skip
        sent = RobotCommand.select().where(RobotCommand.task == task.id, RobotCommand.status == "sent")
        assert (command_id, status) == ((sent.get().id, "sent") if task.robot_id else (None, None))
