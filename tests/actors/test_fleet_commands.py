"""Commands to the whole fleet (the emergency stop, its resume, dock all) as the service
runs them: the dispatcher records a command for every robot in one unit, the loop writes
every frame in one turn (`net.links.FleetLinks`), and each robot actor keeps its own
command owed until acked.

Real parts throughout: the actor tree on a SQLite file, the robot link served from an
event loop (`tests/actors/link_server.py`) whose registry `FleetLinks` writes through,
and `tests/robot_client.py` as each robot, over TCP on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pykka
import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.robots.messages import Tick
from robodine_edge.config import load_config
from robodine_edge.data.models import Emergency, RobotCommand
from robodine_edge.data.models import Robot as RobotRow
from robodine_edge.errors import Conflict
from robodine_edge.net.links import FleetLinks, LinkRegistry
from robodine_edge.process.metrics import Metrics
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.link_server import LinkServer
from tests.actors.test_dispatcher import LinkedRobot, restart_dispatcher
from tests.robot_client import RobotClient
from tests.waiting import eventually


@dataclass
class Edge:
    tree: ActorTree
    server: LinkServer
    db: SqliteDatabase

    def declare(self) -> dict[str, Any]:
        return self.tree.dispatcher.proxy.declare_emergency("drill", None, "staff").get(timeout=5)

    def resolve(self, emergency_id: int) -> None:
        self.tree.dispatcher.proxy.resolve_emergency(emergency_id, None, "staff").get(timeout=5)

    def settled(self) -> None:
        """What the robot actors told the dispatcher so far has been taken in."""
        self.tree.dispatcher.proxy.overview().get(timeout=5)

    def commands(self, name: str) -> list[tuple[str, int, str]]:
        """(robot id, command id, status) of every command of this name, oldest first."""
        query = (
            RobotCommand.select(RobotCommand.id, RobotCommand.status, RobotRow.robot_id)
            .join(RobotRow)
            .where(RobotCommand.name == name)
            .order_by(RobotCommand.id)
        )
        return self.tree.writer.write(lambda: [(c.robot.robot_id, c.id, c.status) for c in query]).get(timeout=5)


@pytest.fixture
def edge(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[Edge]:
    registry = LinkRegistry()
    fleet_links = FleetLinks(registry)
    config = load_config(None, {})
    tree = start_actor_tree(
        db, config, Metrics(), published, events, table_ids=[], robot_ids=[], fleet_send=fleet_links.send_threadsafe
    )
    server = LinkServer(tree, registry=registry)
    fleet_links.attach(server.loop, tree.robots)
    yield Edge(tree, server, db)
    server.close()
    tree.stop()


class Robot:
    """A registered albabot on its own TCP link, doing what the test says."""

    def __init__(self, edge: Edge, robot_id: str, *, linked: bool = True, kind: str = "albabot") -> None:
        self.edge, self.robot_id, self.kind = edge, robot_id, kind
        _, self.token = edge.tree.fleet.proxy.register(robot_id, kind, None, False, None).get(timeout=5)
        self.client: RobotClient | None = None
        if linked:
            self.link()

    def link(self) -> None:
        self.client = RobotClient(self.edge.server.port)
        assert self.client.hello(self.robot_id, self.token, kind=self.kind)["type"] == "welcome"

    def drop(self) -> None:
        assert self.client is not None
        self.client.close()
        robot = self.edge.tree.robots.get(self.robot_id)
        eventually(lambda: not robot.proxy.snapshot().get(timeout=5).online, what=f"{self.robot_id} offline")

    def command(self, *, ack: bool = True, timeout: float = 5.0) -> dict[str, Any]:
        assert self.client is not None
        frame = self.client.read_until("command", timeout=timeout)
        if ack:
            self.client.send(type="ack", id=frame["id"])
        return frame


class StatementLog:
    """Every statement the store's connection runs from now on (SQLite's own trace)."""

    def __init__(self, edge: Edge) -> None:
        self.statements: list[str] = []
        edge.tree.writer.write(lambda: edge.db.connection().set_trace_callback(self.statements.append)).get(timeout=5)

    def transaction_of(self, marker: str) -> list[str]:
        """The statements of the transaction that ran the statement starting with `marker`."""
        at = next(n for n, sql in enumerate(self.statements) if sql.startswith(marker))
        begin = max(n for n in range(at) if self.statements[n].startswith("BEGIN"))
        end = next(n for n in range(at, len(self.statements)) if self.statements[n] == "COMMIT")
        return self.statements[begin : end + 1]


def test_every_linked_robot_is_stopped_from_one_commit_and_acks_each_its_own(edge: Edge, published: Published) -> None:
    """30 robots: one transaction holds the emergency and all 30 stops (one statement),
    where each robot's stop used to be a commit of its own, one after another. Every
    robot reads its own stop, and its ack is recorded on its own command (and shown on
    the `commands` topic in that order)."""
    robots = [Robot(edge, f"alba-{n}") for n in range(30)]
    edge.settled()
    log = StatementLog(edge)
    edge.declare()
    stops = {robot.robot_id: robot.command() for robot in robots}
    assert {frame["name"] for frame in stops.values()} == {"emergency_stop"}
    assert len({frame["id"] for frame in stops.values()}) == 30
    unit = log.transaction_of('INSERT INTO "emergency"')
    inserts = [sql for sql in unit if sql.startswith('INSERT INTO "robot_command"')]
    assert len(inserts) == 1 and "'emergency_stop'" in inserts[0]
    assert sum(sql.startswith('INSERT INTO "robot_command"') for sql in log.statements) == 1
    assert len(edge.commands("emergency_stop")) == 30
    acked = {(robot_id, frame["id"], "acked") for robot_id, frame in stops.items()}
    eventually(lambda: set(edge.commands("emergency_stop")) == acked, what="every robot's own ack recorded")
    for frame in stops.values():  # shown once committed, and never after the ack that followed it
        shown = [c["status"] for c in published.topic("commands") if c["id"] == frame["id"]]
        assert shown == ["sent", "acked"]


def test_the_stops_go_out_before_their_commit_is_durable(edge: Edge) -> None:
    """A stop waits for no disk: the robots read it while the unit that recorded it has
    not been committed yet (the writer is held right behind it); the answer comes once
    it is."""
    robots = [Robot(edge, f"alba-{n}") for n in range(3)]
    edge.settled()
    holding, before, behind = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        before.wait(10)

    edge.tree.writer.write(hold)  # the writer waits: the declare queues behind it...
    assert holding.wait(5)
    declared = edge.tree.dispatcher.proxy.declare_emergency("drill", None, "staff")
    store = edge.tree.named["writer"]
    eventually(lambda: store.mailbox_depth() >= 1, what="the declare waiting on the writer")
    edge.tree.writer.write(behind.wait, 10)  # ...and this right behind it, in the same transaction
    before.set()
    try:
        assert {robot.command()["name"] for robot in robots} == {"emergency_stop"}
        with pytest.raises(pykka.Timeout):  # not answered: not committed
            declared.get(timeout=0.05)
        assert Emergency.select().count() == 0  # this thread's own connection: nothing committed yet
    finally:
        behind.set()
    emergency = declared.get(timeout=5)
    assert emergency["active"] and Emergency.select().count() == 1


def test_a_robot_that_does_not_ack_its_stop_is_sent_it_again(edge: Edge) -> None:
    """The loop wrote the stop; the robot actor still owes it, and re-sends it (same id)
    once it has gone unacknowledged for 5 s. The robot that acked is sent nothing more."""
    silent, prompt = Robot(edge, "alba-1"), Robot(edge, "alba-2")
    assert silent.client is not None and prompt.client is not None
    edge.settled()
    edge.declare()
    first = silent.command(ack=False)
    prompt.command()
    ticking = threading.Event()

    def tick() -> None:  # the loop's `Tick` every second, here every 0.2 s
        while not ticking.wait(0.2):
            for robot in (silent, prompt):
                edge.tree.robots.get(robot.robot_id).tell(Tick())

    ticker = threading.Thread(target=tick, name="ticker")
    ticker.start()
    try:
        with silent.client.sending_every(0.5), prompt.client.sending_every(0.5):  # links kept alive meanwhile
            again = silent.command(timeout=8)
            assert again == first
            with pytest.raises(TimeoutError):
                prompt.command(timeout=0.3)
    finally:
        ticking.set()
        ticker.join()


def test_a_robot_that_links_during_the_emergency_is_stopped_and_resumed_with_the_rest(edge: Edge) -> None:
    early, late = Robot(edge, "alba-1"), Robot(edge, "alba-2", linked=False)
    edge.settled()
    emergency = edge.declare()
    stop = early.command()
    late.link()
    late_stop = late.command()
    assert late_stop["name"] == "emergency_stop" and late_stop["id"] != stop["id"]
    edge.resolve(emergency["id"])
    assert [early.command()["name"], late.command()["name"]] == ["resume", "resume"]


def test_a_robot_stopped_then_dropped_is_resumed_when_it_links_again_across_a_dispatcher_restart(
    edge: Edge, events: EventLog
) -> None:
    """The dispatcher crashes during the emergency: its successor reloads the emergency
    and which robots it stopped. A robot offline at the resolve is owed its `resume`
    (it is frozen until told), sent at its next hello; the old rule resumed only the
    robots online then, and left this one stopped for ever."""
    staying, leaving = Robot(edge, "alba-1"), Robot(edge, "alba-2")
    edge.settled()
    emergency = edge.declare()
    staying.command()
    leaving.command()
    leaving.drop()
    edge.settled()
    restart_dispatcher(edge.tree, events)
    assert edge.tree.dispatcher.proxy.overview().get(timeout=5)["emergency"] is True
    edge.resolve(emergency["id"])
    assert staying.command()["name"] == "resume"
    leaving.link()
    assert leaving.command()["name"] == "resume"
    eventually(lambda: ("alba-2", "acked") in {(r, status) for r, _, status in edge.commands("resume")})


def test_a_second_declare_is_refused_and_changes_nothing(edge: Edge, published: Published) -> None:
    robot = Robot(edge, "alba-1")
    edge.settled()
    declared = edge.declare()
    robot.command()
    with pytest.raises(Conflict, match="already active"):
        edge.declare()
    assert len(edge.commands("emergency_stop")) == 1
    assert published.topic("emergencies") == [declared]  # nothing announced either
    assert edge.tree.dispatcher.proxy.overview().get(timeout=5)["emergency"] is True


def test_with_no_loop_each_robot_actor_sends_its_own(
    db: SqliteDatabase, published: Published, events: EventLog
) -> None:
    """An actor tree without a network room (no `FleetSend` taking the batch): each robot
    actor is told its command and writes it through its own link."""
    tree = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    try:
        robots = [LinkedRobot(tree, f"alba-{n}", "albabot") for n in range(3)]
        tree.dispatcher.proxy.overview().get(timeout=5)
        emergency = tree.dispatcher.proxy.declare_emergency("drill", None, "staff").get(timeout=5)
        assert {robot.command()["name"] for robot in robots} == {"emergency_stop"}
        tree.dispatcher.proxy.resolve_emergency(emergency["id"], None, "staff").get(timeout=5)
        assert {robot.command()["name"] for robot in robots} == {"resume"}
    finally:
        tree.stop()


def test_dock_all_sends_every_free_albabot_to_dock_from_one_commit(edge: Edge) -> None:
    """One unit and one loop turn for the fleet; an albabot busy with a staff command
    keeps it, a cookbot has no dock; those sent are held as a staff dock holds one."""
    free = [Robot(edge, f"alba-{n}") for n in range(3)]
    busy, cook = Robot(edge, "alba-busy"), Robot(edge, "cook-1", kind="cookbot")
    edge.settled()
    dispatcher = edge.tree.dispatcher.proxy
    dispatcher.direct_command("alba-busy", "go_to", {"x": 1.0, "y": 1.0}, None, False).get(timeout=5)
    assert busy.command()["name"] == "go_to"
    log = StatementLog(edge)
    sent = dispatcher.dock_all(None).get(timeout=5)
    assert sorted(command["robot_id"] for command in sent) == ["alba-0", "alba-1", "alba-2"]
    assert {robot.robot_id: robot.command()["id"] for robot in free} == {c["robot_id"]: c["id"] for c in sent}
    assert sum(sql.startswith('INSERT INTO "robot_command"') for sql in log.statements) == 1
    assert dispatcher.overview().get(timeout=5)["charging"] == ["alba-0", "alba-1", "alba-2"]
    for robot in (busy, cook):
        with pytest.raises(TimeoutError):
            robot.command(timeout=0.3)
    assert dispatcher.dock_all(None).get(timeout=5) == []  # every albabot is on a staff command now
