"""The blocking-call detector every test runs under (the autouse fixture in conftest.py).

`blockbuster` (python-zeroconf's suite uses it so) replaces the blocking functions of the
standard library (sleeps, file and socket I/O, SQLite, contended locks, ...) with ones that
raise `BlockingError` when they are called on a thread that runs an event loop with our
code on the stack: the loop never blocks (docs/ARCHITECTURE.md), and now a test that makes
it block fails. Actor and pool threads run no loop and are not checked.

Known offenders are allowed where they are, each with its reason (`KNOWN_OFFENDERS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from blockbuster import BlockBuster, blockbuster_ctx


@dataclass(frozen=True)
class Offender:
    """`function` (blockbuster's name for it) may block when called from `callers` of `filename`."""

    function: str
    filename: str
    callers: frozenset[str]
    reason: str


KNOWN_OFFENDERS: tuple[Offender, ...] = (
    Offender(
        "threading.Lock.acquire",
        "tests/http/test_bridge.py",
        frozenset({"naive"}),
        "the control experiment: pykka's own `await future` calls get() and stalls the loop, "
        "which the test measures on purpose (why threads/bridge.py exists)",
    ),
)


@contextmanager
def loop_guard() -> Iterator[BlockBuster]:
    """Blocking calls on a running loop, from our code, raise `BlockingError` inside."""
    with blockbuster_ctx("robodine_edge") as guard:
        for offender in KNOWN_OFFENDERS:
            guard.functions[offender.function].can_block_in(offender.filename, offender.callers)
        yield guard
