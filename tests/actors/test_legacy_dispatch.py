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
from robodine_edge.data.models import Event, Order, Robot, RobotCommand
from robodine_edge.errors import Conflict
from robodine_edge.net.legacy_cook import LegacyCookSender
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.legacy import LegacyAlbabot, LegacyCookbot
from robodine_edge.protocol.pose import Pose
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, LinkedRobot, stored_tasks
from tests.waiting import eventually


async def cancel_all() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def cook_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="cook-loop")
    thread.start()
    yield loop
    asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(5)  # sends still waiting on an arm
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


def legacy_albabot(tree: ActorTree, robot_id: str, battery: float = 90.0) -> None:
    """A legacy albabot, registered and reporting idle near the kitchen pass."""
    tree.fleet.proxy.register(robot_id, "albabot", None, True, None).get(timeout=5)
    poses = {frame: Pose(0.0, 0.0) for frame in ("pinky", "global", "world")}
    tree.robots.get(robot_id).proxy.legacy(LegacyAlbabot(robot_id, "idle", battery, poses)).get(timeout=5)


def commands_of(tree: ActorTree, robot_id: str) -> list[str]:
    query = RobotCommand.select().join(Robot).where(Robot.robot_id == robot_id).order_by(RobotCommand.id)
    return tree.writer.write(lambda: [c.name for c in query]).get(timeout=5)


def events_of(tree: ActorTree, kind: str) -> list[str]:
    query = Event.select().where(Event.type == kind).order_by(Event.id)
    return tree.writer.write(lambda: [e.message for e in query]).get(timeout=5)


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
    flagged = tree.writer.write(lambda: Order.get_by_id(order["id"])).get(timeout=5)
    assert flagged.flagged and "did not take 'rice bowl'" in (flagged.flag_reason or "") and flagged.status == "placed"
    assert len(events_of(tree, "order_unserved")) == 1


def test_a_legacy_albabot_is_never_given_a_task_nor_sent_to_dock(tree: ActorTree) -> None:
    """It cannot receive a command: a serve task waits for an albabot that can, and one
    low on battery is not sent to dock either."""
    kitchen = Kitchen(tree)
    legacy_albabot(tree, "old-alba", battery=90.0)
    legacy_albabot(tree, "old-low", battery=5.0)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    order = kitchen.order()
    cook.task(cook.command(), "done")
    eventually(lambda: [t.state for t in stored_tasks(tree, "serve")] == ["queued"], what="the serve task")
    cook.settled(tree)
    assert commands_of(tree, "old-alba") == [] and commands_of(tree, "old-low") == []
    alba = LinkedRobot(tree, "alba-1", "albabot")
    alba.status("idle")
    serve = alba.command()
    assert serve["name"] == "serve" and serve["args"]["order_id"] == order["id"]


def test_commands_to_legacy_robots_are_refused_and_change_nothing(tree: ActorTree) -> None:
    """Staff are told why (409), no command is kept to pile up, and an arm's task stays
    with it; an emergency stops the robots that can be told and queues nothing for the rest."""
    legacy_albabot(tree, "old-alba")
    with socket.create_server(("127.0.0.1", 0)) as arm:  # takes the dish, keeps the connection
        legacy_arm(tree, "arm-1", f"127.0.0.1:{arm.getsockname()[1]}")
        Kitchen(tree).order()
        eventually(lambda: [t.state for t in stored_tasks(tree, "cook")] == ["assigned"], what="the arm's task")
        dispatcher = tree.dispatcher.proxy
        with pytest.raises(Conflict, match="robot old-alba is a legacy robot and takes no commands"):
            dispatcher.direct_command("old-alba", "go_to", {"x": 1.0, "y": 1.0}, None, False).get(timeout=5)
        with pytest.raises(Conflict, match="its dishes go to its legacy_cook_addr"):
            dispatcher.direct_command("arm-1", "go_to", {"x": 1.0, "y": 1.0}, None, True).get(timeout=5)
        with pytest.raises(Conflict):  # the robot's own door refuses too
            tree.robots.get("old-alba").proxy.command("stop", {}, None).get(timeout=5)
        dispatcher.declare_emergency("drill", None, "staff").get(timeout=5)
        tasks = dispatcher.overview().get(timeout=5)["tasks"]
        assert [(t["kind"], t["state"], t["robot_id"]) for t in tasks] == [("cook", "assigned", "arm-1")]
        assert commands_of(tree, "old-alba") == [] and commands_of(tree, "arm-1") == []
