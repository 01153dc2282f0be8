"""A task's bookkeeping is not a commit of its own: an order's task `running` rides in the
commit of the order's move to cooking or serving, a cook task's `done` in the commit of
the serve task made for its order; a robot's `progress` reports write nothing (the
dispatcher only notes the time). Each commit appends every
page it changed, whole, to the WAL, and syncs it (docs/BENCH.md, "Writes to the card").

The tree's timer is stopped, so a write held for the next durable commit is committed
with one, never alone by the timer: the test does not depend on how fast this machine
runs it (which durable write it rides with may: a robot's, or a read of the test's)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from peewee import SqliteDatabase

from robodine_edge.config import load_config
from robodine_edge.process.metrics import Metrics
from robodine_edge.wiring import ActorTree, start_actor_tree
from tests.actors.conftest import EventLog, Published
from tests.actors.test_dispatcher import Kitchen, cooking_order, idle_pair, stored_tasks
from tests.waiting import eventually

SET_STATE = "robodine_edge.data.tasks.set_task_state"


class Commits:
    """The units of each commit, as the writer reports them (writer thread)."""

    def __init__(self) -> None:
        self.units: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, units: list[tuple[str, int]]) -> None:
        with self._lock:
            self.units.append([name for name, _ in units])

    def since(self, mark: int) -> list[list[str]]:
        with self._lock:
            return [list(units) for units in self.units[mark:]]

    def __len__(self) -> int:
        with self._lock:
            return len(self.units)


@pytest.fixture
def commits() -> Commits:
    return Commits()


@pytest.fixture
def tree(db: SqliteDatabase, published: Published, events: EventLog, commits: Commits) -> Iterator[ActorTree]:
    config = load_config(None, {})
    actors = start_actor_tree(db, config, Metrics(), published, events, [], [], units_committed=commits)
    actors.timer.stop()
    yield actors
    actors.stop()


def test_a_tasks_running_and_done_ride_in_the_orders_own_commits(tree: ActorTree, commits: Commits) -> None:
    kitchen = Kitchen(tree)
    cook, alba = idle_pair(tree)
    order = kitchen.order()
    cooking = cook.command()
    mark = len(commits)
    cook.task(cooking, "started")
    eventually(lambda: kitchen.status(order["id"]) == "cooking", what="the order cooking")
    for _ in range(5):
        cook.task(cooking, "progress")
    cook.settled(tree)
    cook.task(cooking, "done")
    serving = alba.command()
    alba.task(serving, "started")
    eventually(lambda: kitchen.status(order["id"]) == "serving", what="the order being served")
    alba.task(serving, "done")
    eventually(lambda: kitchen.status(order["id"]) == "served", what="the order served")
    alba.settled(tree)
    life = commits.since(mark)
    assert sum(units.count(SET_STATE) for units in life) == 4, life  # running and done, for each task
    alone = [units for units in life if set(units) == {SET_STATE}]
    assert len(alone) <= 1, life  # the serve task's `done`, which nothing follows
    assert [t.state for t in stored_tasks(tree, "cook")] == ["done"]
    assert [t.state for t in stored_tasks(tree, "serve")] == ["done"]


def test_a_robots_progress_reports_make_no_commit(tree: ActorTree, commits: Commits) -> None:
    _, cook, _, _, cooking = cooking_order(tree)
    cook.settled(tree)
    tree.writer.write(lambda: None).get(timeout=5)
    mark = len(commits)
    for _ in range(20):
        cook.task(cooking, "progress")
    cook.settled(tree)
    assert commits.since(mark) == []
