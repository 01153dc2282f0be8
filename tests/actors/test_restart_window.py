"""The window of a restart, inside the real actor tree on a SQLite file: the supervisor's
new instance has read what it needs (`on_start`), but its slot still holds the dead
instance until the supervisor has pinged the new one and swapped it in. What the others
tell the slot in that window (an order placed or cancelled, a robot dropping, a settings
change, a command recorded for a robot) reaches the dead instance or is dropped by a
teller that checks the slot first; a loaded machine stretches the window to hundreds of
milliseconds (an order answered 201 was never cooked: tests/test_actor_crashes.py, one
run in six under load). Once in its slot, the new instance must read again what it
missed (`on_reachable`).

Each test holds a new instance inside the window: behind a unit of work that holds the
writer (its reads queue there), or on a robot's link that holds its writes (the robot
actor writing to it waits, and so does whoever asked that actor).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.base import Crash
from robodine_edge.config import load_config
from robodine_edge.data.settings import update_settings
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import Role
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, LinkedRobot, WireEnd, open_cook_tasks
from tests.waiting import eventually


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[ActorTree]:
    actors = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    yield actors
    actors.stop()


class HeldWire(WireEnd):
    """A robot's end of its link whose next write can be held (robot actor thread): the
    actor writing waits until the test releases it."""

    def __init__(self, session: str) -> None:
        super().__init__(session)
        self._hold = threading.Event()
        self.holding = threading.Event()
        self._released = threading.Event()

    def hold(self) -> None:
        self._hold.set()

    def release(self) -> None:
        self._released.set()

    def send(self, data: bytes) -> None:
        if self._hold.is_set():
            self._hold.clear()
            self.holding.set()
            self._released.wait(10)
        super().send(data)


def hold_writer(tree: ActorTree) -> threading.Event:
    """Hold the writer in a unit of work until the returned event is set; from then on its
    mailbox holds only what was handed to it after."""
    entered, release = threading.Event(), threading.Event()

    def held() -> None:
        entered.set()
        release.wait(10)

    tree.writer.write(held)
    assert entered.wait(5)
    return release


def test_an_order_placed_before_the_restarted_dispatcher_is_in_its_slot_is_cooked(
    tree: ActorTree, events: EventLog
) -> None:
    """The new dispatcher's start ends by handing a waiting cook task to the cookbot, whose
    link holds the command: it has read every order and task, and the supervisor has not
    swapped it in. An order placed now is committed and answered, another is cancelled;
    their news goes to the slot's dead instance. The new order must still get its cook
    task and be cooked, and the cancelled one must not be."""
    kitchen = Kitchen(tree)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    wire = HeldWire("cook-1-held")
    cook.link(wire)
    cook.status("error")  # takes no work yet
    waiting, doomed = kitchen.order(), kitchen.order()
    eventually(
        lambda: open_cook_tasks(tree) == {waiting["id"]: "queued", doomed["id"]: "queued"},
        what="their cook tasks waiting for a cookbot",
    )
    gate = hold_writer(tree)  # the new dispatcher's first read waits behind it
    crashed = tree.dispatcher.ref
    tree.dispatcher.tell(Crash())
    eventually(lambda: not crashed.is_alive(), what="the dispatcher dying")
    cook.status("idle")  # its news reaches no one; the new dispatcher asks the robot
    wire.hold()
    gate.set()
    assert wire.holding.wait(5), "the new dispatcher did not hand the waiting task to the cookbot"
    late = kitchen.order()
    tree.orders.proxy.cancel(doomed["id"], Role.ADMIN).get(timeout=5)
    tree.orders.proxy.queued().get(timeout=5)  # the queue has told the dispatcher's slot of both
    assert tree.dispatcher.ref is crashed and not events  # the window: the slot holds the dead instance
    wire.release()
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "dispatcher")
    eventually(
        lambda: open_cook_tasks(tree) == {waiting["id"]: "assigned", late["id"]: "queued"},
        what="a cook task for the order placed in the window, none for the one cancelled",
    )
    first = cook.command()
    assert first["args"]["order_id"] == waiting["id"]
    cook.task(first, "done")
    cook.status("idle")
    assert cook.command()["args"]["order_id"] == late["id"]


def test_a_robot_dropped_before_the_restarted_fleet_is_in_its_slot_is_listed_offline(
    tree: ActorTree, events: EventLog
) -> None:
    """The new fleet asks each robot for its snapshot, in registration order; the second
    robot's actor is holding a write on its link, so the fleet waits there, the first
    robot's snapshot read. The first robot drops now: its news goes to the slot's dead
    instance. Once the fleet is in its slot it must list that robot offline."""
    first = LinkedRobot(tree, "alba-1", "albabot")
    second = LinkedRobot(tree, "alba-2", "albabot")
    wire = HeldWire("alba-2-held")
    second.link(wire)
    wire.hold()
    sent = second.slot.proxy.command("go_to", {"x": 1, "y": 2}, None)  # written to the held link
    assert wire.holding.wait(5)
    crashed = tree.fleet.ref
    tree.fleet.tell(Crash())
    eventually(lambda: second.slot.mailbox_depth() >= 1, what="the new fleet asking the second robot")
    first.drop()
    assert tree.fleet.ref is crashed and not events
    wire.release()
    sent.get(timeout=5)
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "fleet")
    listed = {robot["robot_id"]: robot["online"] for robot in tree.fleet.proxy.list_robots().get(timeout=5)}
    assert listed == {"alba-1": False, "alba-2": True}


def test_settings_changed_before_the_restarted_floor_is_in_its_slot_are_the_floors(
    tree: ActorTree, events: EventLog
) -> None:
    """The new floor's first read is the settings, queued behind a held writer; a change
    of the settings queues behind that read, so it is committed after it and before the
    floor is in its slot (the settings route then tells the slot: the dead instance). The
    floor must estimate waits with the new average dining time."""
    table = tree.floor.proxy.create_table({"name": "T1", "seats": 4, "x": 1.0, "y": 1.0}).get(timeout=5)
    seated = tree.floor.proxy.add_party(4, "seated").get(timeout=5)
    waiting = tree.floor.proxy.add_party(4, "waiting").get(timeout=5)
    assert seated["table_id"] == table["id"] and waiting["status"] == "waiting"
    (_, before) = tree.floor.proxy.waiting_info().get(timeout=5)[waiting["id"]]
    assert before is not None and before > 2700  # the default: 45 min of dining, 5 of cleaning
    gate = hold_writer(tree)
    store = tree.named["writer"]
    tree.floor.tell(Crash())
    eventually(lambda: store.mailbox_depth() >= 1, what="the new floor reading the settings")
    changed = tree.writer.write(update_settings, {"average_dining_s": 600})
    gate.set()
    changed.get(timeout=5)
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "floor")
    (_, after) = tree.floor.proxy.waiting_info().get(timeout=5)[waiting["id"]]
    assert after is not None and after < 1000


def test_a_stop_recorded_before_the_restarted_robot_is_in_its_slot_is_owed_to_it(
    tree: ActorTree, events: EventLog
) -> None:
    """The new robot actor's one read (its open commands) queues behind a held writer; an
    emergency declared now records the robot's `emergency_stop` behind that read and tells
    the robot's slot from inside its unit: the dead instance. Once in its slot the robot
    actor must owe the stop, sent on the robot's next hello."""
    robot = LinkedRobot(tree, "alba-1", "albabot")
    robot.status("idle")
    robot.settled(tree)
    gate = hold_writer(tree)
    store = tree.named["writer"]
    robot.slot.tell(Crash())
    eventually(lambda: store.mailbox_depth() >= 1, what="the new robot actor reading its commands")
    declared = tree.dispatcher.proxy.declare_emergency("fire", None, "admin")
    eventually(lambda: store.mailbox_depth() >= 2, what="the emergency's unit queued behind that read")
    gate.set()
    assert declared.get(timeout=5)["reason"] == "fire"
    assert events.wait_for(1) and (events[0].type, events[0].actor) == ("actor_restarted", "robot-alba-1")
    robot.link()
    assert [command["name"] for command in robot.received()] == ["emergency_stop"]
