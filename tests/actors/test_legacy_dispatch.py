"""Legacy robots and the dispatcher, inside the real actor tree on a SQLite file: a dish
an arm does not take fails its task through the normal path, and robots that cannot
take commands are never given work.

A legacy robot reports through its actor's own door (`legacy`, as the legacy handler
does); dishes go to real sockets on 127.0.0.1 through the service's sender, on an event
loop of its own thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from peewee import SqliteDatabase

from robodine_edge.config import load_config
from robodine_edge.metrics import Metrics
from robodine_edge.models import Event, Order
from robodine_edge.net.legacy_cook import LegacyCookSender
from robodine_edge.protocol.legacy import LegacyCookbot
from robodine_edge.protocol.pose import Pose
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, stored_tasks
from tests.waiting import eventually


@pytest.fixture
def cook_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="cook-loop")
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.fixture
def tree(
    db: SqliteDatabase, published: Published, events: EventLog, cook_loop: asyncio.AbstractEventLoop
) -> Iterator[ActorTree]:
    sender = LegacyCookSender(dish_deadline_s=0.3)
    sender.attach(cook_loop)
    actors = start_actor_tree(
        db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[], legacy_cook=sender
    )
    yield actors
    actors.stop()


def closed_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def legacy_arm(tree: ActorTree, robot_id: str, address: str | None) -> None:
    """A legacy cookbot, registered and reporting idle."""
    tree.fleet.proxy.register(robot_id, "cookbot", None, True, address).get(timeout=5)
    report = LegacyCookbot(robot_id, "idle", (0.0,) * 6, Pose(0.0, 0.0))
    tree.robots.get(robot_id).proxy.legacy(report).get(timeout=5)


def events_of(tree: ActorTree, kind: str) -> list[str]:
    query = Event.select().where(Event.type == kind).order_by(Event.id)
    return tree.store.write(lambda: [e.message for e in query]).get(timeout=5)


def test_a_dish_the_arm_does_not_take_fails_the_task_until_the_order_is_flagged(tree: ActorTree) -> None:
    """Never reported as sent: each failed send takes the task from the arm with an event
    saying why, and once the attempts are spent the order is flagged to staff."""
    address = closed_address()
    legacy_arm(tree, "arm-1", address)
    order = Kitchen(tree).order()
    eventually(lambda: [t.state for t in stored_tasks(tree, "cook")] == ["failed"], timeout=15, what="task given up")
    reassigned = events_of(tree, "task_reassigned")
    assert len(reassigned) == 2  # max_task_attempts is 3: two hand-overs, then given up
    assert all(f"{address} did not take 'rice bowl'" in m and "connection refused" in m for m in reassigned)
    flagged = tree.store.write(lambda: Order.get_by_id(order["id"])).get(timeout=5)
    assert flagged.flagged and "did not take 'rice bowl'" in flagged.flag_reason and flagged.status == "placed"
    assert len(events_of(tree, "order_unserved")) == 1
