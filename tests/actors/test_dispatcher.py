"""The dispatcher inside the real actor tree (store, order queue, floor, fleet) on a SQLite file.

Robots are linked through their actors' own door (`connect`, then frames told to the
robot actor, as the network room does); what the edge writes to a robot arrives on its
`WireEnd`, decoded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.dispatch.messages import OrderChanged, RobotUpdate
from robodine_edge.actors.robots.messages import LinkClosed, LinkFrame, Tick
from robodine_edge.config import load_config
from robodine_edge.data.models import DiningTable, Event, Notification, Order, RobotCommand, Task, User
from robodine_edge.domain.lifecycle import OrderStatus
from robodine_edge.errors import Conflict
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol import link as wire
from robodine_edge.protocol.pose import Pose
from robodine_edge.types import Role
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.waiting import eventually


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[ActorTree]:
    actors = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    yield actors
    actors.stop()


TICK_S = 0.1


class WireEnd:
    """The robot's end of its link: frames the edge sends, decoded (robot actor thread)."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()

    def send(self, data: bytes) -> None:
        for line in data.splitlines():
            self.frames.put(orjson.loads(line))

    def close(self, reason: str) -> None:
        self.frames.put({"type": "closed", "reason": reason})


class LinkedRobot:
    """A registered robot, linked, that does exactly what the test says."""

    def __init__(self, tree: ActorTree, robot_id: str, kind: str) -> None:
        _, token = tree.fleet.proxy.register(robot_id, kind, robot_id, False, None).get(timeout=5)
        self.hello = wire.Hello(robot_id, kind, token, 1)
        self.slot = tree.robots.get(robot_id)
        self.links = 0
        self.wire = self.link()

    def link(self, wire: WireEnd | None = None) -> WireEnd:
        """Say hello on a new link (`wire`, or a plain one); the edge re-sends what is still
        unacknowledged at once."""
        self.links += 1
        self.wire = wire or WireEnd(f"session-{self.hello.robot_id}-{self.links}")
        self.slot.proxy.connect(self.hello, self.wire).get(timeout=5)
        return self.wire

    def drop(self) -> None:
        """The socket closes, as the network room reports it."""
        self.slot.tell(LinkClosed(self.wire.session, "connection lost"))
        self.slot.proxy.snapshot().get(timeout=5)

    def received(self) -> list[dict[str, Any]]:
        """The commands written to the link so far (none acknowledged)."""
        frames = []
        while not self.wire.frames.empty():
            frames.append(self.wire.frames.get_nowait())
        return [frame for frame in frames if frame["type"] == "command"]

    def send(self, frame: wire.Frame) -> None:
        self.slot.tell(LinkFrame(self.wire.session, frame))

    def status(self, state: str, battery: float = 100.0) -> None:
        self.send(wire.Status(state, battery, Pose(1.0, 1.0)))

    def command(self, timeout: float = 5.0, *, ack: bool = True) -> dict[str, Any]:
        """The next command the edge sends (acknowledged, as a robot does, unless `ack`
        is false: a robot that drops before it acks). Meanwhile the
        robot actor gets the `Tick`s the loop would send: a change of battery alone is
        passed on at the next one."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self.wire.frames.get(timeout=TICK_S)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise
                self.slot.tell(Tick())
                continue
            if frame["type"] == "command":
                if ack:
                    self.send(wire.Ack(frame["id"]))
                return frame

    def task(self, command: dict[str, Any], state: str) -> None:
        self.send(wire.TaskUpdate(command["id"], state))

    def sent_nothing(self) -> bool:
        return self.wire.frames.empty()

    def settled(self, tree: ActorTree) -> None:
        """Wait until what this robot sent has reached the dispatcher and been acted on:
        its actor tells the dispatcher in frame order, and the dispatcher's own commands
        are written to the link before it takes its next message."""
        self.slot.proxy.snapshot().get(timeout=5)
        tree.dispatcher.proxy.overview().get(timeout=5)


def idle_pair(tree: ActorTree) -> tuple[LinkedRobot, LinkedRobot]:
    """A cookbot and an albabot, linked and idle: the two that take an order through."""
    cook, alba = LinkedRobot(tree, "cook-1", "cookbot"), LinkedRobot(tree, "alba-1", "albabot")
    cook.status("idle")
    alba.status("idle")
    return cook, alba


def cooking_order(tree: ActorTree) -> tuple[Kitchen, LinkedRobot, LinkedRobot, dict[str, Any], dict[str, Any]]:
    """An idle pair and an order its cookbot has started cooking: the kitchen, the cook,
    the albabot, the order and the cook command."""
    kitchen = Kitchen(tree)
    cook, alba = idle_pair(tree)
    order = kitchen.order()
    cooking = cook.command()
    cook.task(cooking, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the cookbot cooking")
    return kitchen, cook, alba, order, cooking


class Kitchen:
    """A table and a dish, made through the floor and the order queue."""

    def __init__(self, tree: ActorTree) -> None:
        self.tree = tree
        fields = {"name": "T1", "seats": 4, "x": 3.0, "y": 2.0, "width": 1.0, "height": 1.0}
        self.table = tree.floor.proxy.create_table(fields).get(timeout=5)
        rice = tree.orders.proxy.create_inventory_item(
            {"name": "rice", "unit": "portion", "count": 1000, "max_count": 1000, "low_threshold": 1}
        ).get(timeout=5)
        dish = {"name": "Rice bowl", "price_cents": 850, "prepare_time_s": 60, "category": "main"}
        self.dish = tree.orders.proxy.create_menu_item(dish, [(rice["id"], 1)]).get(timeout=5)

    def order(self) -> dict[str, Any]:
        placed = self.tree.orders.proxy.place(self.table["id"], [(self.dish["id"], 1, None)], None, None)
        order: dict[str, Any] = placed.get(timeout=5).get(timeout=5)
        return order

    def status(self, order_id: int) -> str:
        status: str = self.tree.writer.write(lambda: Order.get_by_id(order_id).status).get(timeout=5)
        return status


def restart_dispatcher(tree: ActorTree, events: EventLog) -> None:
    """Crash the dispatcher (a handler that raises ends a pykka actor); the supervisor
    starts a new one, which rebuilds from SQLite and the actors that own the rest."""
    seen = len(events)
    tree.dispatcher.tell(RobotUpdate(None))  # type: ignore[arg-type]  # no snapshot: its handler raises
    assert events.wait_for(seen + 1) and events[-1].type == "actor_restarted"


def stored_tasks(tree: ActorTree, kind: str) -> list[Task]:
    return tree.writer.write(lambda: list(Task.select().where(Task.kind == kind).order_by(Task.id))).get(timeout=5)


def order_row(tree: ActorTree, table_id: int) -> dict[str, Any]:
    """An order in SQLite that nobody told the dispatcher about; the test tells it."""
    row = tree.writer.write(lambda: Order.create(table=table_id, total_cents=100)).get(timeout=5)
    return {"id": row.id, "table_id": table_id, "status": "placed", "priority": 0, "items": []}


def open_cook_tasks(tree: ActorTree) -> dict[int, str]:
    tasks = tree.dispatcher.proxy.overview().get(timeout=5)["tasks"]
    return {t["order_id"]: t["state"] for t in tasks if t["kind"] == "cook"}


def test_a_cancel_inside_a_run_of_placed_orders_cancels_that_orders_task(tree: ActorTree) -> None:
    """Placed orders in a row are taken together (one commit for their tasks); a change
    to one of them in the same run must see its task, not leave it queued for ever."""
    table_id = tree.writer.write(lambda: DiningTable.create(name="T1", seats=4).id).get(timeout=5)
    first, second, third = (order_row(tree, table_id) for _ in range(3))
    gate = threading.Event()
    tree.writer.write(gate.wait, 10)  # the writer waits: what the dispatcher writes queues behind
    store = tree.named["writer"]
    tree.dispatcher.tell(OrderChanged(first))
    eventually(lambda: store.mailbox_depth() >= 1, what="the dispatcher waiting on the writer")
    tree.dispatcher.tell(OrderChanged(second))
    tree.dispatcher.tell(OrderChanged(third))
    tree.dispatcher.tell(OrderChanged({**second, "status": "cancelled"}))
    gate.set()
    assert open_cook_tasks(tree) == {first["id"]: "queued", third["id"]: "queued"}
    stored = {t.order_id: t.state for t in Task.select().where(Task.kind == "cook")}
    assert stored == {first["id"]: "queued", second["id"]: "cancelled", third["id"]: "queued"}


def test_done_without_started_walks_the_order_through_every_status(tree: ActorTree) -> None:
    """A robot may report `done` with no `started` before it (lost, or never sent): the
    order still goes placed → cooking → ready (and ready → serving → served) one legal
    step at a time, and the echo of a step walked past makes no new task."""
    kitchen = Kitchen(tree)
    cook, alba = idle_pair(tree)
    order = kitchen.order()
    cooking = cook.command()
    assert cooking["name"] == "cook" and cooking["args"]["order_id"] == order["id"]
    cook.task(cooking, "done")
    serving = alba.command()
    assert serving["name"] == "serve" and kitchen.status(order["id"]) == "ready"
    alba.task(serving, "done")
    eventually(lambda: kitchen.status(order["id"]) == "served", what="the order served")
    assert [t.state for t in stored_tasks(tree, "cook")] == ["done"]
    assert [t.state for t in stored_tasks(tree, "serve")] == ["done"]
    assert cook.sent_nothing()  # no second cook task from the `cooking` echo


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after-a-restart"])
def test_a_bumped_order_is_cooked_first(tree: ActorTree, events: EventLog, restart: bool) -> None:
    kitchen = Kitchen(tree)
    first, second = kitchen.order(), kitchen.order()
    assert tree.orders.proxy.set_priority(second["id"], 5).get(timeout=5)["priority"] == 5
    eventually(
        lambda: [(t.order_id, t.priority) for t in stored_tasks(tree, "cook")] == [(first["id"], 0), (second["id"], 5)],
        what="the bump stored on the task",
    )
    if restart:
        restart_dispatcher(tree, events)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    assert cook.command()["args"]["order_id"] == second["id"]


def test_a_table_the_robots_could_not_clean_is_flagged_to_staff(tree: ActorTree) -> None:
    """Retries spent on a clean task: staff get a notification (as for an order that
    could not be served), and the table stays `cleaning` for them to clean by hand."""
    staff = tree.writer.write(lambda: User.create(username="sam", password_hash="-", role="staff").id).get(timeout=5)
    table = Kitchen(tree).table
    party = tree.floor.proxy.add_party(2, None).get(timeout=5)
    assert party["table_id"] == table["id"]
    alba = LinkedRobot(tree, "alba-1", "albabot")
    alba.status("idle")
    tree.floor.proxy.release(table["id"]).get(timeout=5)
    for _ in range(3):  # max_task_attempts
        command = alba.command()
        assert command["name"] == "clean"
        alba.send(wire.Nack(command["id"], "mop missing"))
    eventually(lambda: [t.state for t in stored_tasks(tree, "clean")] == ["failed"], what="the clean task given up")

    def notes() -> list[tuple[int, str]]:
        query = Notification.select().where(Notification.type == "table_not_cleaned")
        return tree.writer.write(lambda: [(n.user_id, n.message) for n in query]).get(timeout=5)

    ((user_id, message),) = notes()
    assert user_id == staff and "T1" in message and "mop missing" in message
    event = tree.writer.write(lambda: Event.get(Event.type == "table_not_cleaned")).get(timeout=5)
    assert (event.entity_type, event.entity_id, event.level) == ("table", str(table["id"]), "error")
    assert tree.floor.proxy.get_table(table["id"]).get(timeout=5)["status"] == "cleaning"


def docked_albabot(tree: ActorTree) -> LinkedRobot:
    """An albabot that reported 12 %, was sent to dock and is charging there; a table
    waits to be cleaned meanwhile."""
    table = Kitchen(tree).table
    tree.floor.proxy.add_party(2, None).get(timeout=5)
    alba = LinkedRobot(tree, "alba-1", "albabot")
    alba.status("idle", battery=12.0)
    dock = alba.command()
    assert dock["name"] == "dock"
    alba.task(dock, "started")
    alba.task(dock, "done")
    alba.status("charging", battery=50.0)
    tree.floor.proxy.release(table["id"]).get(timeout=5)
    alba.settled(tree)
    assert alba.sent_nothing()  # under battery_resume: left to charge
    return alba


def test_a_charging_albabot_above_battery_resume_is_taken_back(tree: ActorTree) -> None:
    """A robot that stays on the dock reporting `charging` once it is full enough is
    given work as usual (before, only `idle` counted, and it could charge for ever)."""
    alba = docked_albabot(tree)
    alba.status("charging", battery=85.0)
    assert alba.command()["name"] == "clean"


def test_a_docked_albabot_takes_no_work_after_a_restart_until_charged(tree: ActorTree, events: EventLog) -> None:
    """Being sent to dock outlives the dispatcher: a docked robot at 50 % that reports
    `idle` gets nothing after a restart either, until it reports battery_resume."""
    alba = docked_albabot(tree)
    alba.status("idle", battery=50.0)
    alba.settled(tree)
    restart_dispatcher(tree, events)
    assert tree.dispatcher.proxy.overview().get(timeout=5)["charging"] == ["alba-1"]
    assert alba.sent_nothing()
    alba.status("idle", battery=85.0)
    assert alba.command()["name"] == "clean"


def command_row(tree: ActorTree, command_id: int) -> tuple[str, str | None]:
    row = tree.writer.write(lambda: RobotCommand.get_by_id(command_id)).get(timeout=5)
    return row.status, row.reason


def cook_of(frames: list[dict[str, Any]], order_id: int) -> list[int]:
    return [f["id"] for f in frames if f["name"] == "cook" and f["args"]["order_id"] == order_id]


def test_a_task_handed_out_on_a_robots_first_status_is_not_sent_again(tree: ActorTree) -> None:
    """An order waits when a cookbot links and says `idle`: that status hands it the cook
    task, and is then judged as the robot's first since its hello. It was taken before the
    command was sent, so it says nothing about the task: the robot keeps it, and the command
    is not sent again — it was (same id), and reopened: a command the robot had acked and
    started was stored `sent` once more, so re-sent after the edge's next restart too."""
    kitchen = Kitchen(tree)
    order = kitchen.order()
    eventually(lambda: open_cook_tasks(tree) == {order["id"]: "queued"}, what="the task queued")
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    command = cook.command()
    assert (command["name"], command["args"]["order_id"]) == ("cook", order["id"])
    cook.task(command, "started")
    cook.settled(tree)
    assert cook.received() == []
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the cookbot cooking")
    assert command_row(tree, command["id"])[0] == "running"
    tasks = tree.dispatcher.proxy.overview().get(timeout=5)["tasks"]
    assert [(t["robot_id"], t["state"], t["attempts"]) for t in tasks] == [("cook-1", "running", 1)]


def test_a_task_taken_from_a_robot_that_dropped_is_not_re_sent_to_it(tree: ActorTree) -> None:
    """The conformance repro: cook-a gets `cook` for order 1, never acks, drops; cook-b
    takes the task. When cook-a links again it must not be re-sent that cook (two robots
    cooking one order): the command was withdrawn, and cook-a is told `stop` instead in
    case it had started it. Its late `done` moves nothing."""
    kitchen = Kitchen(tree)
    cook_a = LinkedRobot(tree, "cook-a", "cookbot")
    cook_a.status("idle")
    order = kitchen.order()
    first = cook_a.command(ack=False)
    assert (first["name"], first["args"]["order_id"]) == ("cook", order["id"])
    cook_a.drop()
    eventually(lambda: open_cook_tasks(tree) == {order["id"]: "queued"}, what="the task back in the queue")
    assert command_row(tree, first["id"]) == ("cancelled", "the robot went offline")
    cook_b = LinkedRobot(tree, "cook-b", "cookbot")
    cook_b.status("idle")
    second = cook_b.command()
    assert second["args"]["order_id"] == order["id"] and second["id"] != first["id"]
    cook_b.task(second, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="cook-b cooking")

    cook_a.link()
    resent = cook_a.received()
    assert cook_of(resent, order["id"]) == [] and [f["name"] for f in resent] == ["stop"]
    cook_a.status("idle")
    cook_a.task(first, "done")  # late, for the withdrawn command
    cook_a.settled(tree)
    assert kitchen.status(order["id"]) == "cooking" and command_row(tree, first["id"])[0] == "cancelled"
    assert open_cook_tasks(tree) == {order["id"]: "running"}
    assert cook_of(cook_a.received(), order["id"]) == []
    cook_b.task(second, "done")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="cook-b's done")


def test_an_acked_task_taken_from_a_dropped_robot_is_stopped_when_it_links_again(tree: ActorTree) -> None:
    """cook-a acked and started, then dropped: the task goes to cook-b. cook-a, back,
    is told `stop` (not the cook again), and its late `started`/`done` are ignored."""
    kitchen = Kitchen(tree)
    cook_a = LinkedRobot(tree, "cook-a", "cookbot")
    cook_a.status("idle")
    order = kitchen.order()
    first = cook_a.command()
    cook_a.task(first, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="cook-a cooking")
    cook_a.drop()
    cook_b = LinkedRobot(tree, "cook-b", "cookbot")
    cook_b.status("idle")
    second = cook_b.command()
    assert second["args"]["order_id"] == order["id"]
    assert command_row(tree, first["id"]) == ("cancelled", "the robot went offline")

    cook_a.link()
    assert [f["name"] for f in cook_a.received()] == ["stop"]
    cook_a.status("cooking")
    cook_a.task(first, "progress")
    cook_a.task(first, "done")
    cook_a.settled(tree)
    assert kitchen.status(order["id"]) == "cooking"
    assert tree.robots.get("cook-a").proxy.snapshot().get(timeout=5).current_task is None
    assert command_row(tree, first["id"]) == ("cancelled", "the robot went offline")
    cook_b.task(second, "done")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="cook-b's done")


@pytest.mark.parametrize("how", ["cancelled", "forced", "nacked"])
def test_a_withdrawn_command_is_never_re_sent(tree: ActorTree, how: str) -> None:
    """Whatever takes the task from the robot while its command is unacknowledged, the
    command leaves the robot's outbox: neither the 5 s re-send nor a reconnect sends it."""
    kitchen = Kitchen(tree)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    order = kitchen.order()
    first = cook.command(ack=False)["id"]
    if how == "cancelled":
        tree.orders.proxy.cancel(order["id"], Role.ADMIN).get(timeout=5)
        reason = "order cancelled"
    elif how == "forced":
        tree.dispatcher.proxy.direct_command("cook-1", "go_to", {"x": 1, "y": 1}, None, True).get(timeout=5)
        reason = "overridden by a staff command (go_to)"
    else:
        cook.send(wire.Nack(first, "busy"))
        reason = "busy"
    cook.settled(tree)
    eventually(lambda: command_row(tree, first)[0] in ("cancelled", "nacked"), what="the command withdrawn")
    assert command_row(tree, first) == ("nacked", reason) if how == "nacked" else ("cancelled", reason)
    cook.drop()
    cook.link()
    assert first not in [f["id"] for f in cook.received()]


def test_a_cookbot_still_cooking_an_order_staff_marked_ready_is_told_stop(tree: ActorTree) -> None:
    """Staff mark an order ready by hand while its cookbot is still cooking it: the
    work is no longer wanted, so the robot is told `stop` (its cook command withdrawn, so
    its `failed: stopped` or late `done` moves nothing) and it is free for the next order;
    the order goes on to be served."""
    kitchen, cook, alba, order, cooking = cooking_order(tree)

    tree.orders.proxy.set_status(order["id"], OrderStatus.READY, Role.STAFF).get(timeout=5)
    stop = cook.command()
    assert stop["name"] == "stop"
    assert command_row(tree, cooking["id"]) == ("cancelled", "order ready")
    cook.task(cooking, "failed")
    cook.settled(tree)
    assert kitchen.status(order["id"]) == "ready"
    serving = alba.command()
    assert (serving["name"], serving["args"]["order_id"]) == ("serve", order["id"])

    cook.status("idle")
    second = kitchen.order()
    assert cook_of([cook.command()], second["id"]) != []


def test_a_queued_cook_task_for_an_order_staff_marked_ready_tells_no_robot_stop(tree: ActorTree) -> None:
    """No cookbot had the task yet: nobody is told `stop`. (Also: an ask arriving while a
    run of placed orders is owed its dispatch, here `overview`, sees their tasks.)"""
    kitchen = Kitchen(tree)
    order = kitchen.order()
    eventually(lambda: open_cook_tasks(tree) == {order["id"]: "queued"}, what="the task queued")
    tree.orders.proxy.set_status(order["id"], OrderStatus.COOKING, Role.STAFF).get(timeout=5)
    tree.orders.proxy.set_status(order["id"], OrderStatus.READY, Role.STAFF).get(timeout=5)
    cook = LinkedRobot(tree, "cook-1", "cookbot")
    cook.status("idle")
    cook.settled(tree)
    assert open_cook_tasks(tree) == {} and cook.received() == []


def test_robots_that_drop_before_starting_spend_no_attempt(tree: ActorTree, events: EventLog) -> None:
    """A fleet dropping at once hands the task from robot to robot faster than their
    drops arrive; each of those never started it, so the order is not flagged after
    `max_task_attempts` of them: the next robot that stays gets it."""
    kitchen = Kitchen(tree)
    order = kitchen.order()
    for n in range(1, 5):  # one more than max_task_attempts (3)
        cook = LinkedRobot(tree, f"cook-{n}", "cookbot")
        cook.status("idle")
        assert cook_of([cook.command()], order["id"]) != []  # acked, never started
        cook.drop()
        eventually(lambda: open_cook_tasks(tree) == {order["id"]: "queued"}, what=f"the task back after cook-{n}")
    assert not any(event.type == "order_unserved" for event in events)
    last = LinkedRobot(tree, "cook-5", "cookbot")
    last.status("idle")
    cooking = last.command()
    last.task(cooking, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="cook-5 cooking")


def test_the_dispatcher_owns_an_emergency_its_row_its_announcement_and_its_stop(
    tree: ActorTree, published: Published
) -> None:
    """One change, one owner: in one ask the dispatcher commits the row, publishes the event
    and the `emergencies` upsert, then stops every linked robot, before it answers."""
    staff = tree.writer.write(lambda: User.create(username="staff-1", password_hash="x", role="staff").id).get(
        timeout=5
    )
    robot = LinkedRobot(tree, "alba-1", "albabot")
    robot.status("idle")
    robot.settled(tree)
    declared = tree.dispatcher.proxy.declare_emergency("drill", staff, "staff-1").get(timeout=10)
    assert declared["active"] is True and declared["reason"] == "drill"
    assert published.topic("emergencies") == [declared]
    assert "emergency" in [event["type"] for event in published.topic("events")]
    assert robot.command()["name"] == "emergency_stop"  # sent before the answer
    with pytest.raises(Conflict):  # one at a time, and nothing changes
        tree.dispatcher.proxy.declare_emergency("again", staff, "staff-1").get(timeout=10)
    assert published.topic("emergencies") == [declared]
    resolved = tree.dispatcher.proxy.resolve_emergency(declared["id"], staff, "staff-1").get(timeout=10)
    assert resolved["id"] == declared["id"] and resolved["active"] is False
    assert published.topic("emergencies") == [declared, resolved]
    assert robot.command()["name"] == "resume"
