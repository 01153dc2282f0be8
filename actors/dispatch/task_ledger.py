"""Each change to a task, made on the `TaskBoard` and in SQLite together.

The dispatcher decides what happens to a task (actors/dispatch/dispatcher.py); the ledger carries
it out in an order a crash can survive: a command is withdrawn from its robot before the
task's own write, and every write goes through the store before the dispatcher moves on,
so a restarted dispatcher reloads what it last decided. Two writes are bookkeeping
instead, handed over with `write_soon` to ride in the durable commit that follows them
at once rather than make one of their own: an order's task `running` (the order's move
to cooking or serving follows), and a cook task `done` (the serve task made for its
order follows; or the timer commits it within a second). Each follows a robot's report
its actor has already written (the command's status), from which `reload` reads it
again if a power cut lost it. A serve or clean task's `done` is written as before: no
write follows it, and the task lists should not show it running once its order is
served. Reads go to the board itself.

Called only on the dispatcher's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from robodine_edge.actors.dispatch.asks import DispatchAsks
from robodine_edge.actors.dispatch.task_board import Job, TaskBoard
from robodine_edge.data import tasks as data

log = logging.getLogger(__name__)
REPORTED = frozenset({"running", "done", "failed", "nacked"})
"""Command statuses a robot's report leaves (`robot_messages`' task updates and nacks)."""


class TaskLedger:
    def __init__(self, board: TaskBoard, asks: DispatchAsks, clock: Callable[[], float]) -> None:
        self._board = board
        self._asks = asks
        self._clock = clock

    def reload(self) -> list[tuple[Job, str]]:
        """At start: the open tasks, each matched to its latest command not withdrawn.
        Returns those on a robot whose command the robot has reported on since it was
        assigned (`running`, `done`, `failed`, `nacked`), with that status: its actor
        recorded the report, then told a dispatcher that may have died before hearing it
        (a crash, or the service killed in between)."""
        reported = []
        for record, command_id, status in self._asks.write(data.open_tasks_with_commands):
            job = self._board.restore(record, command_id, self._clock())
            if job.command_id is not None and status in REPORTED:
                reported.append((job, status))
        return reported

    def create_wanted(self) -> None:
        """The tasks wanted since the last call, created in one unit (one commit for a rush).
        A unit the writer did not take (it restarted meanwhile: `Unavailable`) leaves them
        wanted, for the next dispatch (at the latest the next tick) to create."""
        if not self._board.wanted():
            return
        wanted = self._board.take_wanted()
        try:
            records = self._asks.write(data.create_tasks, wanted)
        except Exception:
            for key, priority in wanted:
                self._board.want(key, priority)
            raise
        for record in records:
            self._board.open(record)

    def reprioritise(self, order_id: int, priority: int) -> None:
        """A bump reaches every open task of the order, in memory and in SQLite, so it
        still holds after a restart (or after the task is taken from a robot)."""
        jobs = [job for job in self._board.of_order(order_id) if job.priority != priority]
        if not jobs:
            return
        for job in jobs:
            job.priority = priority
        self._asks.write(data.set_task_priority, [job.id for job in jobs], priority)

    def assign(self, job: Job, robot_id: str, command_id: int | None) -> None:
        """`command_id` is None for a legacy arm, which gets no command."""
        self._board.set(job, "assigned", robot_id, command_id)
        job.attempts += 1
        job.tried.add(robot_id)
        job.progress_at = self._clock()
        self._asks.write(data.assign_task, job.id, robot_id)
        log.info("%s task %d → %s", job.kind, job.id, robot_id)

    def start(self, job: Job) -> None:
        """The dispatcher moves the job's order next, if it has one (see the module's docstring)."""
        self._board.set(job, "running", job.robot_id, job.command_id)
        if job.order_id is not None:
            self._asks.write_soon(data.set_task_state, job.id, "running")
        else:
            self._asks.write(data.set_task_state, job.id, "running")

    def finish(self, job: Job) -> None:
        """After the order's move (see the module's docstring)."""
        if job.kind == "cook":
            self._asks.write_soon(data.set_task_state, job.id, "done")
        else:
            self._asks.write(data.set_task_state, job.id, "done")
        self._board.forget(job)

    def cancel(self, job: Job, reason: str) -> None:
        """A robot on the task is told `stop` as well: the work is no longer wanted. The
        command is withdrawn first, so the robot's `failed: stopped` for it is ignored."""
        robot_id = job.robot_id if job.state != "queued" else None
        self.withdraw(job, reason)
        if robot_id is not None:
            self._asks.command(robot_id, "stop", {})
        self._asks.write(data.set_task_state, job.id, "cancelled", reason)
        self._board.forget(job)

    def give_up(self, job: Job, reason: str) -> None:
        """Retries are spent: the task fails and staff are told (an event, published)."""
        self.withdraw(job, reason)
        self._asks.record(data.give_up_task, job.id, reason, job.order_id, job.table_id)
        self._board.forget(job)

    def requeue(self, job: Job, reason: str, *, count_attempt: bool) -> None:
        """Back to the head of its queue for another robot; an attempt not counted is given
        back (an override by staff is not the robot's failure)."""
        robot_id = job.robot_id or "?"
        self.withdraw(job, reason)
        self._board.to_head(job)
        if not count_attempt:
            job.attempts = max(0, job.attempts - 1)
        self._asks.record(data.requeue_task, job.id, reason, robot_id, job.kind, job.order_id, job.attempts)

    def withdraw(self, job: Job, reason: str) -> None:
        """The task leaves its robot: the command that carried it is taken back first, so
        the robot's outbox never re-sends it (every 5 s, or when it links again) beside
        the robot that gets the task next. Before the task's own write: a crash in
        between leaves a task with no command, which the stuck timer requeues, rather than
        a command still owed to a robot for a task given to another."""
        if job.robot_id is not None and job.command_id is not None:
            self._asks.withdraw(job.robot_id, job.command_id, reason)
