"""Loop-only objects check, at their entry points, that they run on their loop's thread.

What the event loop owns (the hub's streams, a WebSocket's queue, a robot link's buffers)
is touched without locks because only the loop touches it; a call from an actor thread
would race the loop's own work on the same deques and dicts and corrupt them without a
trace. Docstrings said "event loop only"; this makes it a rule that fails loudly, Home
Assistant's `verify_event_loop_thread` idea: the object remembers the thread it was bound
to (on the loop) and each entry point compares the caller's.

The check stays on in production: it is one `threading.get_ident()` and a comparison
(~0.1 µs), less than the dict lookups around it, and a wrong-thread call it catches is a
bug that would otherwise show up as corruption far from its cause.
"""

from __future__ import annotations

import threading


class WrongThread(RuntimeError):
    """A loop-only object was called from another thread: a bug in the caller, who must
    hand the call to the loop (`loop.call_soon_threadsafe`) instead."""


class LoopThread:
    """The thread a loop-only object belongs to: the one that made this (on the loop)."""

    __slots__ = ("ident",)

    def __init__(self) -> None:
        self.ident = threading.get_ident()

    def check(self, owner: object, what: str) -> None:
        """Raise `WrongThread` unless the caller runs on this thread."""
        if threading.get_ident() != self.ident:
            raise WrongThread(
                f"{type(owner).__name__}.{what} runs on the event loop's thread only; "
                f"called from {threading.current_thread().name}"
            )
