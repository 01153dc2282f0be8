"""Active orders and open tasks are indexed by the stamps only their end sets, cancelled
orders and failed or cancelled tasks by a status no other step sets (models.Order,
models.Task): a step writes no page of an index for it. What start-up and the lists
read must still be every such row, and found by those indexes, not by reading every
order or task ever written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.data import orders, tasks
from robodine_edge.data.models import Order, Task
from robodine_edge.data.orders import move_order
from robodine_edge.domain.lifecycle import OrderStatus
from tests.data.test_order_writes import placed
from tests.data.wal_pages import WalPages
from tests.test_start_reads import statements

WALKS = {
    OrderStatus.PLACED: (),
    OrderStatus.COOKING: (OrderStatus.COOKING,),
    OrderStatus.READY: (OrderStatus.COOKING, OrderStatus.READY),
    OrderStatus.SERVING: (OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING),
    OrderStatus.SERVED: (OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING, OrderStatus.SERVED),
    OrderStatus.CANCELLED: (OrderStatus.CANCELLED,),
}
TASK_WALKS = {
    "queued": (),
    "assigned": ("assigned",),
    "running": ("assigned", "running"),
    "done": ("assigned", "running", "done"),
    "failed": ("assigned", "running", "failed"),
    "cancelled": ("cancelled",),
    "requeued": ("assigned", "running", "queued"),
}


@pytest.fixture
def store(db: SqliteDatabase) -> Iterator[dict[int, str]]:
    """Two orders in each status, and for each a task in each state: {order id: status}."""
    made: dict[int, str] = {}
    for _ in range(2):
        for status, walk in WALKS.items():
            order_id = placed()
            for step in walk:
                move_order(order_id, step)
            made[order_id] = status.value
            for ending, steps in TASK_WALKS.items():
                (task,) = tasks.create_tasks([(("cook", order_id, None), 0)])
                for state in steps:
                    tasks.set_task_state(task.id, state)
                assert ending == "requeued" or Task.get_by_id(task.id).state == ending
    yield made


def plans(db: SqliteDatabase, read: Callable[[], Any]) -> list[str]:
    """The steps of the query plans of every statement `read` ran."""
    _, ran = statements(db, read)
    found = []
    for sql in ran:
        if sql.lstrip().upper().startswith("SELECT"):
            found += [row[3] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
    return found


def test_start_up_reads_every_active_order_and_open_task_by_their_indexes(
    db: SqliteDatabase, store: dict[int, str]
) -> None:
    active = {i for i, status in store.items() if status in orders.ACTIVE_VALUES}
    assert {order.id for order in orders.load_active_orders()} == active
    assert {row[0] for row in tasks.orders_needing_work()} == active
    opened = {task.id for task in Task.select() if task.state in tasks.OPEN_TASKS}
    assert {record.id for record in tasks.load_open_tasks()} == opened
    assert {record.id for record, _, _ in tasks.open_tasks_with_commands()} == opened
    for read, index in (
        (orders.load_active_orders, "order_active"), (tasks.orders_needing_work, "order_active"),
        (tasks.load_open_tasks, "task_open"), (tasks.open_tasks_with_commands, "task_open"),
    ):  # fmt: skip
        steps = plans(db, read)
        assert index in " / ".join(steps), (read, steps)
        assert not [step for step in steps if step.startswith("SCAN") and "USING" not in step], (read, steps)


def test_a_list_by_status_or_state_is_every_match_newest_first(db: SqliteDatabase, store: dict[int, str]) -> None:
    for status in OrderStatus:
        expected = sorted((i for i, s in store.items() if s == status.value), reverse=True)
        assert [o["id"] for o in orders.list_orders(100, None, status.value, None)] == expected, status
    for state in ("queued", "assigned", "running", "done", "failed", "cancelled"):
        expected = [t.id for t in Task.select().where(Task.state == state).order_by(Task.id.desc())]
        assert [t["id"] for t in tasks.list_tasks(200, None, state, None)] == expected, state


def test_a_list_of_active_or_cancelled_orders_or_open_or_failed_tasks_is_found_by_index(
    db: SqliteDatabase, store: dict[int, str]
) -> None:
    for status, index in (("placed", "order_active"), ("serving", "order_active"), ("cancelled", "order_cancelled")):
        steps = plans(db, partial(orders.list_orders, 50, None, status, None))
        assert index in " / ".join(steps), (status, steps)
    for state, index in (("queued", "task_open"), ("running", "task_open"), ("failed", "task_ended_badly")):
        steps = plans(db, partial(tasks.list_tasks, 50, None, state, None))
        assert index in " / ".join(steps), (state, steps)


def test_a_step_writes_a_page_of_these_indexes_only_when_the_row_begins_or_ends(db: SqliteDatabase) -> None:
    wal = WalPages(db)
    try:
        order_id = placed()
        (task,) = tasks.create_tasks([(("cook", order_id, None), 0)])
        for state in ("assigned", "running", "queued", "assigned", "running"):
            _, pages = wal.commit(partial(tasks.set_task_state, task.id, state))
            assert not {"task_open", "task_ended_badly"} & set(pages), (state, pages)
        _, pages = wal.commit(partial(tasks.set_task_state, task.id, "done"))
        assert "task_open" in pages and "task_ended_badly" not in pages
        for step in WALKS[OrderStatus.SERVING]:
            _, pages = wal.commit(partial(move_order, order_id, step))
            assert not {"order_active", "order_cancelled"} & set(pages), (step, pages)
        _, pages = wal.commit(partial(move_order, order_id, OrderStatus.SERVED))
        assert "order_active" in pages and "order_cancelled" not in pages
        assert Order.get_by_id(order_id).served_at is not None
    finally:
        wal.close()
