"""Delayed messages for actors: pykka has no timers, and a thread per wait is too many.

One thread holds a heap of (due time, actor, message) and tells each message when it is
due. Actors use it for work that must happen *at* a moment rather than on the next
once-a-second tick, such as the trailing edge of a rate limit.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any

import pykka

log = logging.getLogger(__name__)


class Timer:
    """`after` from any thread; the messages are told from the timer's own thread."""

    def __init__(self, name: str = "timer") -> None:
        self._due: list[tuple[float, int, Any, Any]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopped = False
        # Started by the first `after`, so a start-up cut short leaves no thread behind; a
        # daemon, since it holds nothing that must finish.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def after(self, delay_s: float, actor_ref: pykka.ActorRef[Any], message: Any) -> None:
        """Tell `message` to `actor_ref` in `delay_s` seconds (at once if not positive)."""
        with self._changed:
            if self._stopped:
                return
            if not self._thread.is_alive():
                self._thread.start()
            heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._order), actor_ref, message))
            self._changed.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop telling; messages not yet due are dropped."""
        with self._changed:
            self._stopped = True
            self._changed.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        """The timer's thread: sleep until the earliest message is due, tell it, repeat."""
        while True:
            with self._changed:
                while not self._stopped and (not self._due or self._due[0][0] > time.monotonic()):
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopped:
                    return
                _, _, actor_ref, message = heapq.heappop(self._due)
            try:
                actor_ref.tell(message)
            except pykka.ActorDeadError:
                log.debug("timer: %s is no longer running; dropped %r", actor_ref, message)
