"""What an order's life writes to the card: each of its units, by the pages its commit
appends to the WAL (docs/BENCH.md, "Writes to the card"). A page written is a page's
worth of the SD card's life, whole, whatever part of it changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.clock import utcnow
from robodine_edge.data import tasks
from robodine_edge.data.idempotency import IdempotencyClaim
from robodine_edge.data.models import DiningTable, InventoryItem, MenuItem, Order, RecipeLine, Robot
from robodine_edge.data.orders import OrderLine, move_order, place_order
from robodine_edge.data.robots import create_command, register_robot, update_command
from robodine_edge.domain.lifecycle import STAMPED_AT, OrderStatus
from tests.data.wal_pages import WalPages, index_columns

OWN_PAGES_PER_ORDER = 58
"""Pages of its own tables and indexes one order's life writes, at most (1 KiB pages:
about as many KB of WAL)."""
MOVES = (OrderStatus.COOKING, OrderStatus.READY, OrderStatus.SERVING, OrderStatus.SERVED)


@pytest.fixture
def wal(db: SqliteDatabase) -> Iterator[WalPages]:
    pages = WalPages(db)
    yield pages
    pages.close()


def placed(table_id: int | None = None) -> int:
    return placed_with(table_id, None)


def placed_with(table_id: int | None, claim: IdempotencyClaim | None) -> int:
    """An order of one dish using one shelf, placed as the order queue places it."""
    if table_id is None:
        table_id = DiningTable.create(name=f"t{DiningTable.select().count()}", seats=4).id
    shelf = InventoryItem.get_or_none(InventoryItem.name == "rice") or InventoryItem.create(name="rice", count=1000)
    dish = MenuItem.get_or_none(MenuItem.name == "bibimbap") or MenuItem.create(name="bibimbap", price_cents=950)
    RecipeLine.get_or_create(menu_item=dish.id, inventory=shelf.id, defaults={"quantity": 1})
    line = OrderLine(dish.id, dish.name, 1, dish.price_cents, None)
    return place_order(table_id, (line,), {shelf.id: 1}, None, claim).order.id


def test_a_move_writes_no_index_of_a_column_it_does_not_change(db: SqliteDatabase, wal: WalPages) -> None:
    """A move sets the status, `updated_at` and the step's own stamp: an index of any
    other column (the table, the party, who placed it, when) is not rewritten. peewee's
    `save()` sets every column, and SQLite rewrites the page of every index whose column
    an UPDATE sets, changed or not: four pages more per move, sixteen per order."""
    for _ in range(3):  # neighbours: the order's pages are not all new ones
        placed()
    order_id = placed()
    indexes = index_columns(db, "order")
    for target in MOVES:
        _, pages = wal.commit(partial(move_order, order_id, target))
        changed = {"status", "updated_at", STAMPED_AT[target]}
        untouched = {name for name, columns in indexes.items() if not columns & changed}
        assert not untouched & set(pages), (target, pages)
        assert pages["order"] == 1, (target, pages)


def order_life(wal: WalPages, table_id: int | None = None) -> list[tuple[str, Counter[str]]]:
    """One order from placing to served, each commit as the service makes it when its
    robots answer at once (a service traced one order at a time shows these): the order
    placed (with its Idempotency-Key); then for its cook task and its serve task, the
    task made, its command, the robot's ack with the task's assignment, its `started`
    with the task running, the order's move, the robot's `done`, the order's next move,
    the task done. Returns (what, pages by b-tree) for each commit."""
    life = Life(wal)
    if table_id is None:
        table_id = (DiningTable.get_or_none(DiningTable.name == "life") or DiningTable.create(name="life", seats=4)).id
    claim = IdempotencyClaim("user:1", f"key-{Order.select().count()}", "0" * 64)
    order_id: int = life.commit("placed", partial(placed_with, table_id, claim))[0]
    life.task(order_id, "cook", "cook-1", MOVES[:2])
    life.task(order_id, "serve", "alba-1", MOVES[2:])
    return life.commits


class Life:
    """The commits of one order's life, each unit a function of its own (as the writer runs them)."""

    def __init__(self, wal: WalPages) -> None:
        self.wal = wal
        self.commits: list[tuple[str, Counter[str]]] = []

    def commit(self, what: str, *units: Callable[[], Any]) -> list[Any]:
        results, pages = self.wal.commit(lambda: [unit() for unit in units])
        self.commits.append((what, pages))
        return results

    def task(self, order_id: int, kind: str, robot: str, moves: tuple[OrderStatus, ...]) -> None:
        started, done = moves
        if Robot.get_or_none(Robot.robot_id == robot) is None:
            register_robot(robot, "cookbot" if kind == "cook" else "albabot", None, False, None, "x")
        (task,) = self.commit(f"{kind} task", partial(tasks.create_tasks, [((kind, order_id, None), 0)]))[0]
        command = self.commit(f"{kind} command", partial(create_command, robot, kind, {}, None, task.id, True))[0]
        acked, finished = {"status": "acked", "acked_at": utcnow()}, {"status": "done", "finished_at": utcnow()}
        self.commit("ack + assigned", partial(update_command, robot, command["id"], acked),
                    partial(tasks.assign_task, task.id, robot))  # fmt: skip
        self.commit("started + running", partial(update_command, robot, command["id"], {"status": "running"}),
                    partial(tasks.set_task_state, task.id, "running"))  # fmt: skip
        self.commit(f"order {started.value}", partial(move_order, order_id, started))
        self.commit("done", partial(update_command, robot, command["id"], finished))
        self.commit(f"order {done.value}", partial(move_order, order_id, done))
        self.commit(f"{kind} task done", partial(tasks.set_task_state, task.id, "done"))


def test_an_orders_life_writes_at_most_its_budget_of_pages(db: SqliteDatabase, wal: WalPages) -> None:
    """The whole life, in a store with some history (so pages fill and split as they do
    in a store at work): the order's own tables and indexes, and its robots' commands
    apart (their writes are the robots' to cut: data/robots.py)."""
    for _ in range(10):
        order_life(wal)
    lives = [order_life(wal) for _ in range(5)]
    own, commands = Counter[str](), Counter[str]()
    for life in lives:
        for _, pages in life:
            for tree, count in pages.items():
                (commands if tree.startswith("robot_command") else own)[tree] += count
    per_life = sum(own.values()) / len(lives)
    assert per_life <= OWN_PAGES_PER_ORDER, sorted(own.items(), key=lambda kv: -kv[1])
