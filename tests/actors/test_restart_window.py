"""The window of a restart, inside the real actor tree on a SQLite file: the supervisor's
new instance has read what it needs (`on_start`), but its slot still holds the dead
instance until the supervisor has pinged the new one and swapped it in. What the others
tell the slot in that window (an order placed or cancelled) reaches the dead instance or
is dropped by a teller that checks the slot first; a loaded machine stretches the window
to hundreds of milliseconds (an order answered 201 was never cooked:
tests/test_actor_crashes.py, one run in six under load). Once in its slot, the new
instance must read again what it missed (`on_reachable`).

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
