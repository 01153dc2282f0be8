"""What a linked robot makes the service write: its pose samples at `telemetry.persist_hz`
and its last known state, for the whole fleet in one commit every
`telemetry.write_every_s` (actors/robots/recorder.py); nothing for a robot that only
pings; everything at a clean stop.

Real parts: the actor tree on a SQLite file, the link protocol served on 127.0.0.1 port
0 with `tests/robot_client.py` as the robot. Commits are counted as the writer reports
them after each one (`units_committed`, what feeds the wear counters). The robot's own
pace is the test's: telemetry is told to its actor as the UDP endpoint would, and the
once-a-second `Tick` of the service is told by the test.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.robots.messages import TelemetryIn, Tick
from robodine_edge.actors.robots.robot import RobotProxy
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.care.wear import kind_of
from robodine_edge.config import load_config
from robodine_edge.data.models import Pose as PoseRow
from robodine_edge.data.models import Robot
from robodine_edge.errors import Unavailable
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.link_server import LinkServer
from tests.robot_client import RobotClient
from tests.waiting import eventually


class Commits:
    """The kinds of the units of each commit, as the writer reports them (its thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: list[set[str]] = []

    def __call__(self, units: list[tuple[str, int]]) -> None:
        with self._lock:
            self._kinds.append({kind_of(name) for name, _ in units})

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for kinds in self._kinds if kind is None or kind in kinds)


@pytest.fixture
def commits() -> Commits:
    return Commits()


def start_tree(db: SqliteDatabase, published: Published, events: EventLog, commits: Commits, **env: str) -> ActorTree:
    config = load_config(None, env)
    return start_actor_tree(db, config, Metrics(), published, events, [], [], units_committed=commits)


def register(tree: ActorTree, robot_id: str = "alba-1") -> str:
    _, token = tree.fleet.proxy.register(robot_id, "albabot", None, False, None).get(timeout=5)
    return str(token)


def telemetry(tree: ActorTree, x: float, battery: float = 90.0, robot_id: str = "alba-1") -> None:
    sample = Telemetry(robot_id, "s", 1, Pose(x, 1.0), battery, "serving", None)
    tree.robots.get(robot_id).tell(TelemetryIn((sample,)))


def heard_since(slot: ActorSlot[RobotProxy], seen: datetime | None) -> bool:
    return bool(slot.proxy.snapshot().get(timeout=5).last_seen != seen)


def stored_poses(db: SqliteDatabase, robot_id: str = "alba-1") -> list[float]:
    db.connect(reuse_if_open=True)
    return [row.x for row in PoseRow.select().where(PoseRow.robot_id == robot_id).order_by(PoseRow.id)]


def test_samples_taken_at_persist_hz_are_written_once_per_write_interval(
    db: SqliteDatabase, published: Published, events: EventLog, commits: Commits
) -> None:
    """A robot at 20 Hz, sampled at 10 Hz, written every second: over 2.5 s some twenty
    samples in at most ceil(2.5 / 1) + 1 commits (the window need not start on one), where
    a commit per sample made twenty."""
    tree = start_tree(
        db, published, events, commits, ROBODINE_TELEMETRY_PERSIST_HZ="10", ROBODINE_TELEMETRY_WRITE_EVERY_S="1"
    )
    try:
        register(tree)
        slot = tree.robots.get("alba-1")
        before = commits.count("poses")
        window_s, started, step = 2.5, time.monotonic(), 0
        while time.monotonic() - started < window_s:
            step += 1
            telemetry(tree, float(step))
            if step % 2 == 0:
                slot.tell(Tick())
            time.sleep(0.05)  # the robot's own pace (20 Hz), not a wait for the edge
        written = commits.count("poses") - before
        assert written <= math.ceil(window_s / 1.0) + 1, f"{written} commits of pose samples in {window_s} s"
        tree.recorder.proxy.flush().get(timeout=5)
        samples = stored_poses(db)
        assert 10 <= len(samples) <= 26, samples  # sampled at 10 Hz, each tick ~0.1 s apart
        assert samples == sorted(samples)
    finally:
        tree.stop()


def test_a_robot_that_only_pings_writes_nothing(
    db: SqliteDatabase, published: Published, events: EventLog, commits: Commits
) -> None:
    """Pings move `last_seen` only: no commit at the ticks, nothing handed to the recorder
    either (a flush writes nothing), for as long as the robot stays linked."""
    tree = start_tree(db, published, events, commits)
    server = LinkServer(tree, ask_timeout_s=1.0)
    try:
        token = register(tree)
        slot = tree.robots.get("alba-1")
        with RobotClient(server.port) as robot:
            robot.hello("alba-1", token)
            eventually(lambda: slot.proxy.snapshot().get(timeout=5).online, what="the robot online")
            tree.recorder.proxy.flush().get(timeout=5)
            linked = commits.count()
            for _ in range(6):
                seen = slot.proxy.snapshot().get(timeout=5).last_seen
                robot.send(type="ping")
                eventually(partial(heard_since, slot, seen), what="the ping heard")
                slot.tell(Tick())
                time.sleep(0.25)  # the robot's own pace: more than persist_hz's second in all
            slot.proxy.snapshot().get(timeout=5)  # the last tick handled
            tree.recorder.proxy.flush().get(timeout=5)
            assert commits.count() == linked, "a ping made the service write"
    finally:
        server.close()
        tree.stop()


def test_a_clean_stop_writes_the_latest_samples_and_state(
    db: SqliteDatabase, published: Published, events: EventLog, commits: Commits
) -> None:
    """With a write interval far longer than the test, only the stop can have written."""
    tree = start_tree(db, published, events, commits, ROBODINE_TELEMETRY_WRITE_EVERY_S="300")
    try:
        register(tree)
        slot = tree.robots.get("alba-1")
        telemetry(tree, 2.0)
        slot.tell(Tick())
        telemetry(tree, 4.0, battery=50.0)
        eventually(lambda: slot.proxy.snapshot().get(timeout=5).battery == 50.0, what="the last telemetry applied")
        assert commits.count("poses") == 0
    finally:
        tree.stop()
    assert stored_poses(db) == [2.0, 4.0]
    robot = Robot.get(Robot.robot_id == "alba-1")
    assert (robot.pose["x"], robot.battery, robot.state) == (4.0, 50.0, "serving")


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog, commits: Commits) -> Iterator[ActorTree]:
    running = start_tree(db, published, events, commits, ROBODINE_TELEMETRY_WRITE_EVERY_S="300")
    yield running
    running.stop()


def test_a_robot_actor_restarted_starts_from_the_state_it_handed_over(
    tree: ActorTree, events: EventLog, commits: Commits
) -> None:
    """Its last state was still with the recorder: the new instance has it written first."""
    register(tree)
    slot = tree.robots.get("alba-1")
    telemetry(tree, 7.0, battery=33.0)
    slot.tell(Tick())
    eventually(lambda: slot.proxy.snapshot().get(timeout=5).battery == 33.0, what="the telemetry applied")
    assert commits.count("poses") == 0
    seen = len(events)
    slot.tell(TelemetryIn(("not telemetry",)))  # type: ignore[arg-type]  # a crash
    assert events.wait_for(seen + 1) and events[-1].type == "actor_restarted"
    restarted = tree.robots.get("alba-1").proxy.snapshot().get(timeout=5)
    assert (restarted.battery, restarted.pose, restarted.state) == (33.0, Pose(7.0, 1.0), "serving")


def test_a_write_the_store_cannot_take_is_refused_and_the_recorder_lives_on(tree: ActorTree, events: EventLog) -> None:
    """The writer gone: a flush answers `Unavailable` (a history read: 503), the samples it
    held are dropped rather than kept to fail every write after, and nothing crashes."""
    register(tree)
    slot = tree.robots.get("alba-1")
    telemetry(tree, 5.0)
    slot.tell(Tick())
    slot.proxy.snapshot().get(timeout=5)  # the tick handled: the sample handed over
    tree.supervisor.proxy.stop_child("writer").get(timeout=5)
    with pytest.raises(Unavailable):
        tree.recorder.proxy.flush().get(timeout=5)
    tree.recorder.proxy.flush().get(timeout=5)  # nothing held any more
    assert tree.recorder.is_alive() and not events
