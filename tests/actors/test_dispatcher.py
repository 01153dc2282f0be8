"""The dispatcher inside the real actor tree (store, order queue, floor, fleet) on a SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.dispatcher import OrderChanged
from robodine_edge.config import load_config
from robodine_edge.metrics import Metrics
from robodine_edge.models import DiningTable, Order, Task
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.waiting import eventually


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[ActorTree]:
    actors = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    yield actors
    actors.stop()


def order_row(tree: ActorTree, table_id: int) -> dict[str, Any]:
    """An order in SQLite that nobody told the dispatcher about; the test tells it."""
    row = tree.store.write(lambda: Order.create(table=table_id, total_cents=100)).get(timeout=5)
    return {"id": row.id, "table_id": table_id, "status": "placed", "priority": 0, "items": []}


def open_cook_tasks(tree: ActorTree) -> dict[int, str]:
    tasks = tree.dispatcher.proxy.overview().get(timeout=5)["tasks"]
    return {t["order_id"]: t["state"] for t in tasks if t["kind"] == "cook"}


def test_a_cancel_inside_a_run_of_placed_orders_cancels_that_orders_task(tree: ActorTree) -> None:
    """Placed orders in a row are taken together (one commit for their tasks); a change
    to one of them in the same run must see its task, not leave it queued for ever."""
    table_id = tree.store.write(lambda: DiningTable.create(name="T1", seats=4).id).get(timeout=5)
    first, second, third = (order_row(tree, table_id) for _ in range(3))
    gate = threading.Event()
    tree.store.write(gate.wait, 10)  # the writer waits: what the dispatcher writes queues behind
    store_inbox = tree.named["store"].ref.actor_inbox
    tree.dispatcher.tell(OrderChanged(first))
    eventually(lambda: store_inbox.qsize() >= 1, what="the dispatcher waiting on the writer")
    tree.dispatcher.tell(OrderChanged(second))
    tree.dispatcher.tell(OrderChanged(third))
    tree.dispatcher.tell(OrderChanged({**second, "status": "cancelled"}))
    gate.set()
    assert open_cook_tasks(tree) == {first["id"]: "queued", third["id"]: "queued"}
    stored = {t.order_id: t.state for t in Task.select().where(Task.kind == "cook")}
    assert stored == {first["id"]: "queued", second["id"]: "cancelled", third["id"]: "queued"}
