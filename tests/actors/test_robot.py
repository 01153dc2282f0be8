"""Robot actors restarted by the supervisor while their robot is linked, and tell handlers
that meet a store they cannot write to.

Real parts throughout: the actor tree on a SQLite file, the link protocol served from an
event loop on 127.0.0.1 port 0, and `tests/robot_client.py` as the robot. A crash is a
tell the actor cannot handle (as `test_supervisor` provokes them): here a telemetry batch
holding something that is no telemetry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.robots.messages import TelemetryIn, Tick
from robodine_edge.config import load_config
from robodine_edge.data.models import Event
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.legacy import LegacyAlbabot
from robodine_edge.protocol.pose import Pose
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.link_server import LinkServer
from tests.robot_client import RobotClient
from tests.waiting import eventually


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog) -> Iterator[ActorTree]:
    actors = start_actor_tree(db, load_config(None, {}), Metrics(), published, events, table_ids=[], robot_ids=[])
    yield actors
    actors.stop()


@pytest.fixture
def server(tree: ActorTree) -> Iterator[LinkServer]:
    running = LinkServer(tree, ask_timeout_s=1.0)
    yield running
    running.close()


def register(tree: ActorTree, robot_id: str = "alba-1") -> str:
    _, token = tree.fleet.proxy.register(robot_id, "albabot", None, False, None).get(timeout=5)
    return str(token)


def crash(tree: ActorTree, robot_id: str, events: EventLog, expect: str = "actor_restarted") -> None:
    seen = len(events)
    tree.robots.get(robot_id).tell(TelemetryIn(("not telemetry",)))  # type: ignore[arg-type]
    assert events.wait_for(seen + 1), "the robot actor did not crash"
    assert events[-1].type == expect and events[-1].actor == "robot-alba-1"


def snapshot(tree: ActorTree, robot_id: str = "alba-1") -> Any:
    return tree.robots.get(robot_id).proxy.snapshot().get(timeout=5)


def test_a_restarted_robot_actor_gets_the_live_link_back(tree: ActorTree, server: LinkServer, events: EventLog) -> None:
    token = register(tree)
    with RobotClient(server.port) as robot:
        robot.hello("alba-1", token)
        first = tree.robots.get("alba-1").ref
        crash(tree, "alba-1", events)
        assert tree.robots.get("alba-1").ref is not first
        sent = tree.robots.get("alba-1").proxy.command("go_to", {"x": 1.0, "y": 2.0}, None).get(timeout=5)
        assert robot.read_until("command", timeout=4)["id"] == sent["id"]  # the robot said nothing meanwhile
        robot.send(type="ack", id=sent["id"])
        robot.send(type="status", state="serving", battery=80)
        eventually(lambda: snapshot(tree).state == "serving", what="the status reaching the new actor")
        assert snapshot(tree).online and snapshot(tree).battery == 80
        assert server.session_of("alba-1") == robot.session  # same link, same session: telemetry goes on


def test_frames_sent_during_the_restart_reach_the_new_actor(
    tree: ActorTree, server: LinkServer, events: EventLog
) -> None:
    token = register(tree)
    with RobotClient(server.port) as robot:
        robot.hello("alba-1", token)
        crash(tree, "alba-1", events)
        robot.send(type="status", state="cleaning", battery=70)  # the first frame after the restart
        eventually(lambda: snapshot(tree).state == "cleaning", what="the status reaching the new actor")
        assert snapshot(tree).online


def test_a_link_whose_robot_actor_was_given_up_is_closed(tree: ActorTree, server: LinkServer, events: EventLog) -> None:
    """Past its restart budget the actor stays dead: the robot is told by losing its link."""
    token = register(tree)
    with RobotClient(server.port) as robot:
        robot.hello("alba-1", token)
        for _ in range(3):
            crash(tree, "alba-1", events)
        crash(tree, "alba-1", events, expect="actor_failed")
        with robot.sending_every(0.2):
            assert robot.closed_by_edge(timeout=5)


def test_a_robot_actor_survives_a_link_loss_it_cannot_record(
    tree: ActorTree, server: LinkServer, events: EventLog, published: Published
) -> None:
    """The `robot_offline` event is a blocking write inside a tell handler: when the store
    cannot take it, the robot still goes offline and its actor lives on."""
    token = register(tree)
    with RobotClient(server.port) as robot:
        robot.hello("alba-1", token)
        eventually(lambda: any(r["online"] for r in published.topic("robots")), what="the robot online")
        linked = len(published.topic("robots"))
        tree.supervisor.proxy.stop_child("writer").get(timeout=5)
    eventually(
        lambda: any(not r["online"] for r in published.topic("robots")[linked:]) or events,
        what="the robot going offline (or its actor crashing)",
    )
    assert not events, "the robot actor crashed"
    assert tree.robots.get("alba-1").is_alive() and not snapshot(tree).online


def test_the_last_move_of_a_burst_is_announced_without_waiting_for_a_tick(
    tree: ActorTree, server: LinkServer, published: Published
) -> None:
    """The hello and the first status take the two tokens of the robots topic's bucket
    (10 a second): the second status, a move, is held, then announced as soon as a token
    is back. Nothing ticks the actors here, so without that trailing edge it would never show."""
    token = register(tree)
    with RobotClient(server.port) as robot:
        robot.hello("alba-1", token)
        robot.send(type="status", state="idle", battery=50)
        robot.send(type="status", state="idle", battery=40)

        def announced(topic: str, kind: str, data: Any) -> bool:
            return topic == "robots" and data["robot_id"] == "alba-1" and data["battery"] == 40

        assert published.wait_for(announced, timeout=2), [d["battery"] for d in published.topic("robots")]
        assert snapshot(tree).battery == 40


def test_a_legacy_robot_is_online_at_the_pace_it_really_reports(
    db: SqliteDatabase, published: Published, events: EventLog
) -> None:
    """A legacy robot reporting every 0.6 s, with 3 heartbeats of 0.3 s: once its pace is
    known it stays online between reports, instead of flipping at every one."""
    config = load_config(None, {"ROBODINE_ROBOTS_HEARTBEAT_S": "0.1"})
    tree = start_actor_tree(db, config, Metrics(), published, events, table_ids=[], robot_ids=[])
    try:
        tree.fleet.proxy.register("alba-9", "albabot", None, True, None).get(timeout=5)
        slot = tree.robots.get("alba-9")
        poses = {frame: Pose(1.0, 2.0) for frame in ("pinky", "global", "world")}
        report = LegacyAlbabot("alba-9", "idle", 80.0, poses)

        def online_at_tick() -> bool:
            slot.tell(Tick())
            return bool(snapshot(tree, "alba-9").online)

        slot.proxy.legacy(report).get(timeout=5)
        time.sleep(0.6)  # the robot's own pace, not a wait for the edge
        assert not online_at_tick()  # its pace unknown yet: 3 heartbeats
        for _ in range(4):
            slot.proxy.legacy(report).get(timeout=5)
            time.sleep(0.6)
            assert online_at_tick()
        offline = tree.writer.write(
            lambda: Event.select().where(Event.type == "robot_offline", Event.entity_id == "alba-9").count()
        )
        assert offline.get(timeout=5) == 1
    finally:
        tree.stop()
