"""A care thread: runs its jobs one at a time, each when it is due.

A job is anything with a `name`, a `run()` that does one step of its work and returns
the seconds until it should run again, a `first_delay()` and a `retry_s` (the wait
after a step that raised). Long work is cut into steps (a purge deletes one batch per
step), so a thread's other jobs are never kept waiting behind it for long.

`stop()` sets `stopping`, which jobs check between the pieces of a long step (a
backup between its copy steps), then joins the thread. The thread is not a daemon:
a job's connection is closed by the job's own thread (`close()` runs there last).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Job(Protocol):
    name: str

    @property
    def retry_s(self) -> float: ...

    def first_delay(self) -> float: ...

    def run(self) -> float: ...


class Closes(Protocol):
    def close(self) -> None: ...


class Rota:
    """One thread, its jobs in order of their due times. `start`, `stop`: any one thread."""

    def __init__(
        self,
        name: str,
        jobs: Sequence[Job],
        *,
        closing: Sequence[Closes] = (),
        stopping: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.stopping = stopping or threading.Event()
        self._jobs = list(jobs)
        self._closing = list(closing)
        self._thread = threading.Thread(target=self._run, name=name)

    def start(self) -> None:
        if self._jobs:
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: a job did not finish within %g s of the stop", self.name, timeout)

    def _run(self) -> None:
        """The rota's thread."""
        order = itertools.count()
        now = time.monotonic()
        due = [(now + max(0.0, job.first_delay()), next(order), job) for job in self._jobs]
        heapq.heapify(due)
        try:
            while due:
                at, _, job = due[0]
                if self.stopping.wait(max(0.0, at - time.monotonic())):
                    return
                heapq.heapreplace(due, (time.monotonic() + self._step(job), next(order), job))
        finally:
            for part in self._closing:
                part.close()

    def _step(self, job: Job) -> float:
        try:
            return max(0.0, job.run())
        except Exception:
            log.exception("%s: job %s failed; it runs again in %g s", self.name, job.name, job.retry_s)
            return job.retry_s
