"""A robot's first status after it links again, across a restart of the whole actor tree
on the same SQLite file: a robot back at rest without its task is sent it again at once
(or, unable to take it, loses it to another robot), with no attempt spent; a robot back
at work, or with its command still owed, keeps it.

Robots are linked as in test_dispatcher.py (the actors' own door, frames told to the
robot actor); the restart stops every actor as the service does (the dispatcher told
first that the service is stopping) and starts a new tree on the same database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.config import load_config
from robodine_edge.data.models import Event, Task
from robodine_edge.errors import Conflict
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol import link as wire
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, LinkedRobot, WireEnd, command_row, open_cook_tasks, stored_tasks
from tests.waiting import eventually

HANDED_ON_WITHIN_S = 2.0
"""How soon a robot back at rest gets its task again (the stuck timer would take 120 s)."""


class Restarts:
    """The actor tree on one SQLite file, stopped and started again as the service is."""

    def __init__(self, db: SqliteDatabase, published: Published, events: EventLog) -> None:
        self._db, self._published, self._events = db, published, events
        self.tree = self._start([], [])

    def _start(self, table_ids: list[int], robot_ids: list[str]) -> ActorTree:
        config = load_config(None, {})
        return start_actor_tree(self._db, config, Metrics(), self._published, self._events, table_ids, robot_ids)

    def restart(self, table_ids: list[int], robots: list[LinkedRobot]) -> ActorTree:
        """Stop every actor (the robots' links close with them) and start a new tree; the
        robots are handed their new actors, not yet linked."""
        self.tree.dispatcher.proxy.service_stopping().get(timeout=5)
        self.tree.stop()
        self.tree = self._start(table_ids, [robot.hello.robot_id for robot in robots])
        for robot in robots:
            robot.slot = self.tree.robots.get(robot.hello.robot_id)
        return self.tree

    def stop(self) -> None:
        self.tree.stop()


@pytest.fixture
def restarts(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[Restarts]:
    tree = Restarts(db, published, events)
    yield tree
    tree.stop()


def stored_task(tree: ActorTree, kind: str) -> Task:
    return tree.writer.write(lambda: Task.get(Task.kind == kind)).get(timeout=5)


def holding(tree: ActorTree, kind: str) -> tuple[str | None, str, int]:
    """The task's robot, state and attempts as stored (written together on assignment)."""

    def read() -> tuple[str | None, str, int]:
        task = Task.get(Task.kind == kind)
        return (task.robot.robot_id if task.robot is not None else None), task.state, task.attempts

    return tree.writer.write(read).get(timeout=5)


def reassigned(tree: ActorTree) -> list[str]:
    return tree.writer.write(lambda: [e.message for e in Event.select().where(Event.type == "task_reassigned")]).get(
        timeout=5
    )


def cooking_robot(kitchen: Kitchen) -> tuple[LinkedRobot, dict[str, Any], dict[str, Any]]:
    """A cookbot that acked and started the cook task of a new order."""
    cook = LinkedRobot(kitchen.tree, "cook-1", "cookbot")
    cook.status("idle")
    order = kitchen.order()
    command = cook.command()
    assert (command["name"], command["args"]["order_id"]) == ("cook", order["id"])
    cook.task(command, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the cookbot cooking")
    return cook, order, command


def test_a_robot_back_idle_after_a_restart_is_sent_its_task_again_at_once(restarts: Restarts) -> None:
    """The repro: the edge restarts while a cookbot cooks; the robot (restarted too, or
    done with it and its report lost) links again and says `idle`. Its cook command, which
    it had acked, is owed no more, so nothing re-sends it: the task used to stay with the
    robot until the stuck timer (120 s), cost an attempt, and staff commands got 409. Now
    the same command (same id: a robot that did finish it acks it without redoing it) is
    sent again at once, and no attempt is spent."""
    kitchen = Kitchen(restarts.tree)
    cook, order, command = cooking_robot(kitchen)
    tree = restarts.restart([kitchen.table["id"]], [cook])
    kitchen.tree = tree
    cook.link()
    assert cook.received() == []  # acked before the restart: nothing owed at the hello
    back = time.monotonic()
    cook.status("idle")
    again = cook.command(timeout=HANDED_ON_WITHIN_S)
    assert time.monotonic() - back < HANDED_ON_WITHIN_S
    assert (again["id"], again["name"], again["args"]) == (command["id"], "cook", command["args"])
    eventually(lambda: command_row(tree, command["id"])[0] == "acked", what="the command acked again")
    assert stored_task(tree, "cook").attempts == 1 and reassigned(tree) == []
    cook.task(again, "started")
    cook.task(again, "done")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="the order cooked")
    assert stored_task(tree, "cook").state == "done"


@pytest.mark.parametrize("report", ["cooking", "done-after-idle", "done-before-idle"])
def test_a_robot_back_at_work_or_done_after_a_restart_keeps_its_task(restarts: Restarts, report: str) -> None:
    """A robot still cooking says so (`cooking`): it keeps the task, nothing is sent. One
    that finished while the edge was away says `idle` and sends its `done` (before or
    after that status, robots differ): the order moves on, cooked once, no attempt spent,
    however the re-send and the `done` cross."""
    kitchen = Kitchen(restarts.tree)
    cook, order, command = cooking_robot(kitchen)
    tree = restarts.restart([kitchen.table["id"]], [cook])
    kitchen.tree = tree
    cook.link()
    if report == "cooking":
        cook.status("cooking")
        cook.settled(tree)
        assert cook.received() == []
        cook.task(command, "done")
    elif report == "done-after-idle":
        cook.status("idle")
        cook.task(command, "done")
    else:
        cook.task(command, "done")
        cook.status("idle")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="the order cooked")
    cook.settled(tree)
    task = stored_task(tree, "cook")
    assert (task.state, task.attempts) == ("done", 1) and reassigned(tree) == []
    assert command_row(tree, command["id"])[0] == "done"
    assert {f["id"] for f in cook.received()} <= {command["id"]}  # never a second cook command


class HoldsTheWriter(WireEnd):
    """A link that, as the edge writes the first cook command to it (on the robot's
    thread), queues a write on the writer that waits for `gate`: what the dispatcher writes
    next waits behind it, and so does the rest of its turn."""

    def __init__(self, session: str, tree: ActorTree, gate: threading.Event) -> None:
        super().__init__(session)
        self._tree, self._gate, self._armed = tree, gate, True

    def send(self, data: bytes) -> None:
        if self._armed and b'"cook"' in data:
            self._armed = False
            self._tree.writer.write(self._gate.wait, 10)
        super().send(data)


def test_a_task_handed_out_on_the_first_status_is_not_owed_again_after_a_restart(restarts: Restarts) -> None:
    """The flake's path, held open: an order waits as the cookbot links and says `idle`;
    that status hands it the cook task, and the dispatcher judges the same status (its
    first since the hello) only after the robot acked and started the command (here it
    waits on the writer meanwhile). The command used to be reopened then: stored `sent`
    again though the robot was cooking, and sent again at its hello after a clean restart."""
    kitchen = Kitchen(restarts.tree)
    order = kitchen.order()
    eventually(lambda: open_cook_tasks(restarts.tree) == {order["id"]: "queued"}, what="the task queued")
    cook = LinkedRobot(restarts.tree, "cook-1", "cookbot")
    gate = threading.Event()
    cook.link(HoldsTheWriter("held", restarts.tree, gate))
    cook.status("idle")
    command = cook.command()
    cook.task(command, "started")
    cook.slot.proxy.snapshot().get(timeout=5)  # acked and started before the dispatcher goes on
    gate.set()
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the cookbot cooking")
    cook.settled(restarts.tree)
    tree = restarts.restart([kitchen.table["id"]], [cook])
    cook.link()
    cook.status("cooking")
    cook.settled(tree)
    assert cook.received() == []
    assert command_row(tree, command["id"])[0] == "running"
    assert holding(tree, "cook") == ("cook-1", "running", 1)


def test_a_command_still_owed_is_re_sent_and_the_robot_keeps_its_task(restarts: Restarts) -> None:
    """The robot never acked its cook before the restart: the command is re-sent on the
    hello, and the robot's first status may be written before it reads it. That `idle`
    says nothing about the task: the robot keeps it, and nothing else is sent."""
    kitchen = Kitchen(restarts.tree)
    cook = LinkedRobot(kitchen.tree, "cook-1", "cookbot")
    cook.status("idle")
    order = kitchen.order()
    command = cook.command(ack=False)
    tree = restarts.restart([kitchen.table["id"]], [cook])
    kitchen.tree = tree
    cook.link()
    assert [f["id"] for f in cook.received()] == [command["id"]]
    cook.status("idle")
    cook.settled(tree)
    assert cook.received() == []
    tasks = tree.dispatcher.proxy.overview().get(timeout=5)["tasks"]
    assert [(t["robot_id"], t["state"], t["attempts"]) for t in tasks] == [("cook-1", "assigned", 1)]
    cook.send(wire.Ack(command["id"]))
    cook.task(command, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the cookbot cooking")
    assert reassigned(tree) == []


def test_a_robot_back_idle_but_unable_loses_its_task_to_another_with_no_attempt_spent(restarts: Restarts) -> None:
    """An albabot back from the restart at rest with too little battery cannot take its
    clean task again: the task goes to another albabot at once, with no attempt spent, and
    a staff command to the first is accepted (it used to get 409 until the stuck timer)."""
    kitchen = Kitchen(restarts.tree)
    restarts.tree.floor.proxy.add_party(2, None).get(timeout=5)
    alba = LinkedRobot(kitchen.tree, "alba-1", "albabot")
    alba.status("idle")
    restarts.tree.floor.proxy.release(kitchen.table["id"]).get(timeout=5)
    cleaning = alba.command()
    assert cleaning["name"] == "clean"
    alba.task(cleaning, "started")
    alba.settled(kitchen.tree)
    other = LinkedRobot(kitchen.tree, "alba-2", "albabot")
    tree = restarts.restart([kitchen.table["id"]], [alba, other])
    other.link()
    other.status("idle")
    alba.link()
    alba.status("idle", battery=10.0)
    handed = other.command(timeout=HANDED_ON_WITHIN_S)
    assert (handed["name"], handed["args"]) == ("clean", {"table_id": kitchen.table["id"]})
    assert command_row(tree, cleaning["id"])[0] == "cancelled"
    holder = eventually(lambda: (h := holding(tree, "clean"))[0] == "alba-2" and h, what="the hand-over")
    assert holder == ("alba-2", "assigned", 1)  # one robot tried it: no attempt spent on the restart
    staff = tree.dispatcher.proxy.direct_command("alba-1", "go_to", {"x": 1, "y": 1}, None, False).get(timeout=5)
    assert staff["name"] == "go_to"


def test_a_robot_that_comes_back_without_its_task_twice_spends_an_attempt(restarts: Restarts) -> None:
    """Sent again for free once per hand-over: a robot that keeps coming back at rest
    without its task (say it restarts on that very command) is failing at it, and its
    retries are counted, so the order is flagged in the end rather than looping for ever."""
    kitchen = Kitchen(restarts.tree)
    cook, order, command = cooking_robot(kitchen)
    tree = kitchen.tree
    cook.link()  # the robot restarted and linked again before its old link timed out
    cook.status("idle")
    again = cook.command(timeout=HANDED_ON_WITHIN_S)
    assert again["id"] == command["id"]
    cook.link()
    cook.status("idle")
    third = cook.command(timeout=HANDED_ON_WITHIN_S)
    assert third["id"] != command["id"] and third["args"]["order_id"] == order["id"]
    eventually(lambda: holding(tree, "cook") == ("cook-1", "assigned", 2), what="the attempt counted")
    assert any("cook-1" in message for message in reassigned(tree))
    with pytest.raises(Conflict):
        tree.dispatcher.proxy.direct_command("cook-1", "go_to", {"x": 1, "y": 1}, None, False).get(timeout=5)


def test_a_cook_tasks_done_lost_with_a_power_cut_is_read_again_from_the_robots_report(restarts: Restarts) -> None:
    """A cook task's `done` rides in the commit of the serve task made next (`write_soon`):
    a power cut in between loses both, leaving the order ready, its cook task running and
    the robot's report (the command `done`) written: as a cut between the order's move and
    the task's own commit always could. The edge started again finishes the task (the
    order is ready: a robot still on its cook task would be told `stop`) and makes the
    serve task: the order is served, cooked once, no attempt spent. (The store is put
    back as the cut leaves it: a graceful stop commits what it holds.)"""
    kitchen = Kitchen(restarts.tree)
    cook, order, command = cooking_robot(kitchen)
    cook.task(command, "done")
    eventually(lambda: kitchen.status(order["id"]) == "ready", what="the order cooked")
    cook.settled(restarts.tree)
    assert [t.state for t in stored_tasks(restarts.tree, "serve")] == ["queued"]  # no albabot yet

    def as_the_cut_left_it() -> None:
        Task.update(state="running", finished_at=None).where(Task.kind == "cook").execute()
        Task.delete().where(Task.kind == "serve").execute()

    restarts.tree.writer.write(as_the_cut_left_it).get(timeout=5)
    alba = LinkedRobot(restarts.tree, "alba-1", "albabot")
    tree = restarts.restart([kitchen.table["id"]], [cook, alba])
    kitchen.tree = tree
    cook.link()
    cook.status("idle")
    alba.link()
    alba.status("idle")
    serving = alba.command()
    assert (serving["name"], serving["args"]["order_id"]) == ("serve", order["id"])
    alba.task(serving, "done")
    eventually(lambda: kitchen.status(order["id"]) == "served", what="the order served")
    cook.settled(tree)
    assert [(t.state, t.attempts) for t in stored_tasks(tree, "cook")] == [("done", 1)]
    assert [f["name"] for f in cook.received()] in ([], ["stop"]), "never a second cook"
    assert reassigned(tree) == []
