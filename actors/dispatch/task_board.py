"""The dispatcher's open tasks in memory, indexed the ways its events look them up.

A task is found by its command (a robot's report), its key (one open task per kind,
order and table), its order (a bump, a cancel), its robot (a robot lost) and its kind
while queued (dispatching). The indexes keep an event costing the same with ten tasks
waiting or ten thousand; every state change goes through `set`, so they stay in step.
Tasks wanted but not yet in SQLite wait beside them, to be created in one unit.

Plain bookkeeping with no I/O: only the dispatcher's thread touches a board, and
SQLite (written by the dispatcher) remembers what it holds.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from robodine_edge.data.tasks import TaskKey, TaskRecord

KINDS = ("cook", "serve", "clean")
"""Every kind of task, each with its queue from the start."""


@dataclass
class Job:
    """A task as the dispatcher holds it."""

    id: int
    kind: str
    order_id: int | None
    table_id: int | None
    priority: int
    rank: int
    state: str = "queued"
    robot_id: str | None = None
    command_id: int | None = None
    attempts: int = 0
    progress_at: float = 0.0
    tried: set[str] = field(default_factory=set)
    saw_cooking: bool = False
    resent: int | None = None
    """The command sent again to a robot found at rest without it: once per hand-over."""

    @property
    def key(self) -> TaskKey:
        return (self.kind, self.order_id, self.table_id)

    def overview(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "order_id": self.order_id,
            "table_id": self.table_id, "robot_id": self.robot_id, "attempts": self.attempts, "priority": self.priority,
        }  # fmt: skip


class TaskBoard:
    """Open tasks by id, with the indexes the dispatcher looks them up by."""

    def __init__(self) -> None:
        self._jobs: dict[int, Job] = {}
        self._by_command: dict[int, int] = {}
        self._by_key: dict[TaskKey, int] = {}
        self._by_order: dict[int, set[int]] = {}
        self._by_robot: dict[str, int] = {}
        self._queued: dict[str, set[int]] = {kind: set() for kind in KINDS}
        self._wanted: dict[TaskKey, int] = {}  # tasks to create (with their priority)
        self._ranks = count(1)
        self._head = count(-1, -1)

    def want(self, key: TaskKey, priority: int) -> None:
        """Want a task for this key unless one is open (the last priority asked for wins)."""
        if key not in self._by_key:
            self._wanted[key] = priority

    def wanted(self) -> int:
        return len(self._wanted)

    def take_wanted(self) -> list[tuple[TaskKey, int]]:
        """The tasks wanted since the last take, for the caller to create and `open`."""
        wanted, self._wanted = list(self._wanted.items()), {}
        return wanted

    def open(self, record: TaskRecord) -> Job:
        """A task from SQLite joins the board, queued at the tail of its queue."""
        job = Job(record.id, record.kind, record.order_id, record.table_id, record.priority, next(self._ranks))
        self._jobs[job.id] = job
        self._by_key[job.key] = job.id
        if job.order_id is not None:
            self._by_order.setdefault(job.order_id, set()).add(job.id)
        self._queued[job.kind].add(job.id)
        return job

    def restore(self, record: TaskRecord, command_id: int | None, now: float) -> Job:
        """An open task reloaded at start: with its robot and command if it had one, its
        attempts, and its stuck timer started again."""
        job = self.open(record)
        job.attempts, job.progress_at = record.attempts, now
        if record.robot_id is not None and record.state != "queued":
            self.set(job, record.state, record.robot_id, command_id)
            job.tried.add(record.robot_id)
        return job

    def set(self, job: Job, state: str, robot_id: str | None, command_id: int | None) -> None:
        """Change a job's state, robot and command, keeping every index in step."""
        if job.robot_id is not None and self._by_robot.get(job.robot_id) == job.id:
            del self._by_robot[job.robot_id]
        if job.command_id is not None:
            self._by_command.pop(job.command_id, None)
        self._queued[job.kind].discard(job.id)
        job.state, job.robot_id, job.command_id = state, robot_id, command_id
        if state == "queued":
            self._queued[job.kind].add(job.id)
        elif robot_id is not None:
            self._by_robot[robot_id] = job.id
        if command_id is not None:
            self._by_command[command_id] = job.id

    def to_head(self, job: Job) -> None:
        """Queued again, ahead of every task of its priority (it has waited already)."""
        self.set(job, "queued", None, None)
        job.rank = next(self._head)

    def forget(self, job: Job) -> None:
        self.set(job, "gone", None, None)
        self._jobs.pop(job.id, None)
        self._by_key.pop(job.key, None)
        if job.order_id is not None:
            mine = self._by_order.get(job.order_id, set())
            mine.discard(job.id)
            if not mine:
                self._by_order.pop(job.order_id, None)

    def queue(self, kind: str) -> list[Job]:
        """Queued tasks of a kind: higher priority first, then by rank (FIFO, requeued first)."""
        queued = (self._jobs[job_id] for job_id in self._queued.get(kind, ()))
        return sorted(queued, key=lambda j: (-j.priority, j.rank))

    def get(self, task_id: int) -> Job | None:
        return self._jobs.get(task_id)

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs.values())

    def of_key(self, key: TaskKey) -> Job | None:
        job_id = self._by_key.get(key)
        return self._jobs[job_id] if job_id is not None else None

    def of_command(self, command_id: int) -> Job | None:
        return self._jobs.get(self._by_command.get(command_id, -1))

    def of_robot(self, robot_id: str) -> Job | None:
        job_id = self._by_robot.get(robot_id)
        return self._jobs.get(job_id) if job_id is not None else None

    def of_order(self, order_id: int) -> list[Job]:
        return [self._jobs[job_id] for job_id in self._by_order.get(order_id, ())]

    def held(self) -> list[Job]:
        """The tasks robots hold (assigned or running)."""
        return [self._jobs[job_id] for job_id in self._by_robot.values()]

    def robots(self) -> KeysView[str]:
        """The robots holding a task (a live view)."""
        return self._by_robot.keys()
