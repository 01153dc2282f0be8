"""The garbage collector's schedule, kept off the requests' critical path.

CPython's full (generation 2) collection walks every tracked object alive, while every
thread waits. The service's long-lived objects are many and mostly permanent: modules,
routes and schemas from start-up (~66k objects), then what the actors hold (active
orders, tasks, robots). Measured with a gc callback under `make bench`: with 20k
orders waiting for robots, full passes of 45-126 ms stalled every request in flight
(POST /api/orders p99 at 1,200/s: 92 ms).

So what survives a full collection is frozen (moved where the collector does not
look): the next full pass walks only what was allocated since. Reference counting
still frees frozen objects that fall out of use; only *cycles* among them wait, for
`collect_all`, which the housekeeping task runs hourly.

Any thread may run a collection; the callback runs on that thread, under the GIL.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)
OLDEST = 2


def freeze_survivors() -> None:
    """Collect, then freeze what is left (end of start-up), and keep doing so after
    every full collection."""
    gc.collect()
    gc.freeze()
    if _after_full_collection not in gc.callbacks:
        gc.callbacks.append(_after_full_collection)


def collect_all() -> int:
    """A full collection of everything, frozen or not (cycles among old objects), after
    which the survivors are frozen again. Returns the objects found unreachable."""
    started = time.perf_counter()
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    log.info("full garbage collection: %d unreachable, %.0f ms", found, (time.perf_counter() - started) * 1000)
    return found


def stop() -> None:
    """Leave the collector as it was (tests run several services in one process)."""
    if _after_full_collection in gc.callbacks:
        gc.callbacks.remove(_after_full_collection)


def _after_full_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info["generation"] == OLDEST:
        gc.freeze()
