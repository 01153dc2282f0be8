"""The dispatcher's task bookkeeping, without an actor or a store."""

from __future__ import annotations

from datetime import UTC, datetime

from robodine_edge.actors.dispatch.task_board import Job, TaskBoard
from robodine_edge.data.tasks import TaskRecord


def record(
    task_id: int,
    kind: str = "cook",
    order_id: int | None = None,
    table_id: int | None = None,
    *,
    priority: int = 0,
    state: str = "queued",
    robot_id: str | None = None,
    attempts: int = 0,
) -> TaskRecord:
    return TaskRecord(task_id, kind, state, order_id, table_id, robot_id, priority, attempts, datetime.now(UTC))


def ids(jobs: list[Job]) -> list[int]:
    return [job.id for job in jobs]


def test_an_opened_task_is_queued_and_found_by_key_and_order() -> None:
    board = TaskBoard()
    job = board.open(record(1, "cook", order_id=7))
    assert (job.state, job.robot_id, job.command_id) == ("queued", None, None)
    assert board.get(1) is job and list(board) == [job]
    assert board.of_key(("cook", 7, None)) is job
    assert board.of_key(("serve", 7, None)) is None
    assert board.of_order(7) == [job] and board.of_order(8) == []
    assert ids(board.queue("cook")) == [1] and board.queue("serve") == []


def test_queues_are_by_priority_then_first_come_and_a_requeued_task_goes_to_the_head() -> None:
    board = TaskBoard()
    for task_id, priority in [(1, 0), (2, 5), (3, 0), (4, 5)]:
        board.open(record(task_id, "serve", order_id=task_id, priority=priority))
    assert ids(board.queue("serve")) == [2, 4, 1, 3]
    job = board.get(3)
    assert job is not None
    board.set(job, "assigned", "a1", 30)
    assert ids(board.queue("serve")) == [2, 4, 1]
    board.to_head(job)
    assert ids(board.queue("serve")) == [2, 4, 3, 1]  # ahead of its priority, behind higher ones
    assert (job.state, job.robot_id, job.command_id) == ("queued", None, None)


def test_a_task_on_a_robot_is_found_by_robot_and_command_until_it_leaves_it() -> None:
    board = TaskBoard()
    job = board.open(record(1, "clean", table_id=3))
    board.set(job, "assigned", "a1", 10)
    assert board.of_robot("a1") is job and board.of_command(10) is job
    assert board.held() == [job] and set(board.robots()) == {"a1"} and board.queue("clean") == []
    board.set(job, "running", "a1", 10)
    assert board.of_robot("a1") is job and board.of_command(10) is job
    board.set(job, "assigned", "a2", 11)  # given to another robot by a new command
    assert board.of_robot("a1") is None and board.of_command(10) is None
    assert board.of_robot("a2") is job and board.of_command(11) is job
    board.to_head(job)
    assert board.of_robot("a2") is None and board.of_command(11) is None and board.held() == []


def test_a_legacy_task_is_held_by_its_robot_with_no_command() -> None:
    board = TaskBoard()
    job = board.open(record(1, "cook", order_id=1))
    board.set(job, "assigned", "48", None)
    assert board.of_robot("48") is job and board.of_command(-1) is None


def test_a_forgotten_task_leaves_every_index() -> None:
    board = TaskBoard()
    first = board.open(record(1, "cook", order_id=7))
    second = board.open(record(2, "serve", order_id=7))
    board.set(second, "running", "a1", 20)
    board.forget(second)
    assert board.get(2) is None and board.of_key(("serve", 7, None)) is None
    assert board.of_robot("a1") is None and board.of_command(20) is None and board.held() == []
    assert board.of_order(7) == [first] and second.state == "gone"
    board.forget(first)
    assert board.of_order(7) == [] and list(board) == [] and board.queue("cook") == []
    board.forget(first)  # twice is harmless


def test_wanted_tasks_wait_until_taken_and_an_open_one_is_not_wanted_again() -> None:
    board = TaskBoard()
    board.open(record(1, "cook", order_id=7))
    board.want(("cook", 7, None), 3)  # already open
    board.want(("serve", 8, None), 1)
    board.want(("serve", 8, None), 2)  # the last priority wins
    board.want(("clean", None, 4), 0)
    assert board.wanted() == 2
    assert board.take_wanted() == [(("serve", 8, None), 2), (("clean", None, 4), 0)]
    assert board.wanted() == 0 and board.take_wanted() == []


def test_a_restored_task_keeps_its_robot_command_and_attempts() -> None:
    board = TaskBoard()
    held = board.restore(record(1, "serve", order_id=7, state="running", robot_id="a1", attempts=2), 15, 100.0)
    queued = board.restore(record(2, "cook", order_id=8, robot_id="c1", attempts=1), None, 100.0)
    assert (held.state, held.robot_id, held.command_id, held.attempts) == ("running", "a1", 15, 2)
    assert held.tried == {"a1"} and held.progress_at == 100.0 and board.of_command(15) is held
    assert (queued.state, queued.robot_id, queued.attempts, queued.tried) == ("queued", None, 1, set())
    assert ids(board.queue("cook")) == [2]


def test_the_overview_of_a_task() -> None:
    job = TaskBoard().open(record(5, "clean", table_id=3, priority=1))
    assert job.overview() == {
        "id": 5, "kind": "clean", "state": "queued", "order_id": None, "table_id": 3,
        "robot_id": None, "attempts": 0, "priority": 1,
    }  # fmt: skip
