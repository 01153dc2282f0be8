"""Actors crashed mid-operation inside the real actor tree (a SQLite file, the store, the
order queue, the floor, the fleet, robots linked through their actors' own door): what
was in flight when an actor died is neither lost nor done twice once the supervisor's
new instance has reloaded from SQLite. The crash is `Crash`, a poison message told
through the actor's real mailbox, so it lands between the messages around it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.base import Crash
from robodine_edge.actors.dispatch.messages import DispatchTick, OrderChanged
from robodine_edge.config import load_config
from robodine_edge.process.metrics import Metrics
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, LinkedRobot, open_cook_tasks, order_row, stored_tasks
from tests.waiting import eventually


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[ActorTree]:
    actors = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    yield actors
    actors.stop()


def test_an_order_committed_while_its_queue_was_crashed_is_cooked_and_announced(
    tree: ActorTree, events: EventLog, published: Published
) -> None:
    """The queue hands an order to the writer and dies before the commit comes back: the
    commit's news (`OrderCommitted`) finds no one. The caller still gets its order (the
    store answers it), and the queue's successor, reloading after that commit, has the
    order — but the dispatcher and the live hub heard of it only through the news that was
    lost. The new queue announces its active orders, so the order is cooked and shown."""
    kitchen = Kitchen(tree)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    first = kitchen.order()  # the queue knows the table from now on: an order goes straight to the writer
    cook_first = cook.command()
    assert cook_first["args"]["order_id"] == first["id"]
    gate = threading.Event()
    tree.writer.write(gate.wait, 10)  # the writer busy: the order's unit waits behind it
    commit = tree.orders.proxy.place(kitchen.table["id"], [(kitchen.dish["id"], 1, None)], None, None).get(timeout=5)
    crashed = tree.orders.ref
    tree.orders.tell(Crash())
    eventually(lambda: not crashed.is_alive(), what="the order queue dying")
    gate.set()
    order = commit.get(timeout=5)
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "orders")
    assert [o["id"] for o in tree.orders.proxy.active_orders().get(timeout=5)] == [first["id"], order["id"]]
    cook.task({"id": cook_first["id"]}, "done")
    command = cook.command()
    assert command["name"] == "cook" and command["args"]["order_id"] == order["id"]
    assert published.wait_for(lambda topic, kind, data: topic == "orders" and data["id"] == order["id"])


def test_a_done_the_dispatcher_died_before_hearing_still_moves_the_order_on(tree: ActorTree, events: EventLog) -> None:
    """The robot reports `done`; its actor records the command as done and tells the
    dispatcher — which crashed with that news still in its mailbox. Its successor reloads
    the task as running, its command done: the order must move on now, not wait for the
    stuck timer to give the cooked order to a robot to cook again."""
    kitchen = Kitchen(tree)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    order = kitchen.order()
    command = cook.command()
    cook.task(command, "started")
    cook.settled(tree)
    assert kitchen.status(order["id"]) == "cooking"
    other = order_row(tree, kitchen.table["id"])
    gate = threading.Event()
    tree.writer.write(gate.wait, 10)  # the writer busy: the dispatcher, writing, waits on it
    tree.dispatcher.tell(OrderChanged(other))  # it makes the order's task: a write, behind the gate
    store = tree.named["writer"]
    eventually(lambda: store.mailbox_depth() >= 1, what="the dispatcher waiting on the writer")
    tree.dispatcher.tell(Crash())
    cook.task(command, "done")  # recorded behind the gate; its news queued behind the crash
    cook.slot.proxy.snapshot().get(timeout=5)
    gate.set()
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "dispatcher")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="the cooked order ready")
    # This order's task is done, not queued to cook again; the cook, free, has the other's
    # (the restarted dispatcher read that order from SQLite once in its slot).
    assert open_cook_tasks(tree) == {other["id"]: "assigned"}
    assert [(t.order_id, t.state) for t in stored_tasks(tree, "cook")] == [
        (order["id"], "done"),
        (other["id"], "assigned"),
    ]


def test_tasks_wanted_while_the_store_was_crashed_are_created_once_it_is_back(
    tree: ActorTree, events: EventLog
) -> None:
    """The dispatcher hands the writer an order's new cook task; the writer dies before
    taking it and answers `Unavailable`. The task is still wanted: the next dispatch
    (at the latest the next tick) creates it, rather than the order waiting for ever."""
    table_id = Kitchen(tree).table["id"]
    order = order_row(tree, table_id)
    gate = threading.Event()
    tree.writer.write(gate.wait, 10)  # the writer busy: the crash, then the task's unit, queue behind
    tree.named["writer"].tell(Crash())
    tree.dispatcher.tell(OrderChanged(order))
    store = tree.named["writer"]
    eventually(lambda: store.mailbox_depth() >= 2, what="the task's unit queued behind the crash")
    gate.set()
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "writer")
    tree.dispatcher.tell(DispatchTick())  # a dispatch, if no message since has made one
    assert open_cook_tasks(tree) == {order["id"]: "queued"}
    assert [(t.order_id, t.state) for t in stored_tasks(tree, "cook")] == [(order["id"], "queued")]
