"""System logs are events with a level: the service's own warnings and errors, in the
event log staff read (`GET /api/events?type=system_log`, the `events` topic).

A logging handler on the root logger, installed by the composition root once the
actors run. Any thread may log; the handler hands the record to the journal (a store
write that does not wait) and returns. It never lets logging feed itself: records of
the store and the journal (a failed write would log, and that log would write) and
records logged while the handler is busy are left to stderr, and a burst is cut to
`BURST` events plus `PER_SECOND` after, with the number left out said in the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from robodine_edge.actors.storage.journal import Journal
from robodine_edge.types import EventLevel

OURS = "robodine_edge"
NOT_RECORDED = (
    "robodine_edge.actors.storage.writer",
    "robodine_edge.actors.storage.journal",
    "robodine_edge.actors.storage.system_log",
)
PER_SECOND = 2.0
BURST = 20
MAX_MESSAGE = 500


class SystemLogHandler(logging.Handler):
    """Runs on whichever thread logs."""

    def __init__(self, journal: Journal, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logging.WARNING)
        self._journal = journal
        self._clock = clock
        self._tokens = float(BURST)
        self._refilled = self._clock()
        self._left_out = 0
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(OURS) or record.name.startswith(NOT_RECORDED):
            return
        if getattr(record, "recorded", False):  # its own event says it (`logs.ALREADY_RECORDED`)
            return
        if getattr(self._busy, "on", False):
            return
        left_out = self._admit()
        if left_out is None:
            return
        self._busy.on = True
        try:
            message = record.getMessage()[:MAX_MESSAGE]
            if left_out:
                message += f" ({left_out} earlier log records were not recorded: too many at once)"
            level = EventLevel.ERROR if record.levelno >= logging.ERROR else EventLevel.WARNING
            self._journal.record("system_log", message, level=level, entity_type="logger", entity_id=record.name)
        except Exception:  # logging must never raise into the code that logged
            self.handleError(record)
        finally:
            self._busy.on = False

    def _admit(self) -> int | None:
        """None if the record is left out (over the rate); else how many were before it."""
        now = self._clock()  # under the handler's own lock (`logging.Handler.handle`)
        self._tokens = min(float(BURST), self._tokens + (now - self._refilled) * PER_SECOND)
        self._refilled = now
        if self._tokens < 1:
            self._left_out += 1
            return None
        self._tokens -= 1
        left_out, self._left_out = self._left_out, 0
        return left_out


def install(journal: Journal) -> SystemLogHandler:
    handler = SystemLogHandler(journal)
    logging.getLogger().addHandler(handler)
    return handler


def uninstall(handler: SystemLogHandler) -> None:
    logging.getLogger().removeHandler(handler)
