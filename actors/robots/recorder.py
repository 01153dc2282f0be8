"""The recorder: every robot's pose samples and last known state, written for the whole
fleet in one commit every `telemetry.write_every_s` (10 s by default).

A robot actor takes a pose sample at `telemetry.persist_hz` (1 Hz by default) and hands
it here with its state (`Recorded`, a tell); nothing is written then. On an SD card a
commit costs what it syncs, whole 4 KiB blocks of the WAL and more, however few rows it
holds: one commit per robot and sample was ~3 MB per robot-hour at 10 robots, even for a
robot only pinging (its `last_seen` changed every second). One commit per interval for
the whole fleet writes each pose page of the history about once.

What a power cut (or `kill -9`) loses: at most the last interval of samples and of last
known state; a clean stop writes everything (this actor stops after every robot actor
and before the writer, and writes on its way out). API changes (commands, events) do
not come here: they are committed before they are answered.

Whoever needs what is pending on disk asks `flush` and gets the answer once it is
committed: the pose history routes (so a history read shows every sample taken up to
the request), a robot actor starting (a restarted one reloads its last state) and a
legacy frame (stored before its `OK`). All methods run on the recorder's own thread; it
asks only the writer, which never asks back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import pykka
from peewee import PeeweeException

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.robots.messages import Wake
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data import robots as data
from robodine_edge.data.robots import KnownState, PoseSample
from robodine_edge.errors import RobodineError, Unavailable

log = logging.getLogger(__name__)
WRITE_TIMEOUT_S = 10.0
DUE_SLACK_S = 0.01
"""A timer message this close to the due time is on time (the timer is not exact)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """Told by a robot actor: its state now and the pose samples it took since the last."""

    state: KnownState
    samples: tuple[PoseSample, ...]


@dataclass(frozen=True, slots=True)
class WriteDue:
    """From the timer: the oldest pending change has waited `write_every_s`."""


class RecorderActor(SupervisedActor):
    """All methods run in the recorder's own thread."""

    def __init__(
        self,
        writer: Writer,
        wake: Wake,
        *,
        write_every_s: float,
        clock: Callable[[], float] = time.monotonic,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._writer = writer
        self._wake = wake
        self._write_every_s = write_every_s
        self._clock = clock
        self._states: dict[str, KnownState] = {}
        self._samples: list[PoseSample] = []
        self._pending_since: float | None = None
        self._timer_set = False

    def on_stop(self) -> None:
        """A clean stop writes everything, waited for (the writer stops after this actor)."""
        self._write()

    # -- commands (ask) -----------------------------------------------------------------

    def flush(self) -> None:
        """Write what is pending now; answered once committed (at once when nothing is).
        Raises `Unavailable` when the write failed (what it held is dropped, and logged)."""
        failed = self._write()
        if failed is not None:
            raise Unavailable(f"the robots' pose samples could not be saved: {failed}")

    # -- what arrives (tell) -------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, Recorded):
            self._record(message)
        elif isinstance(message, WriteDue):
            self._due()
        else:
            return super().on_receive(message)
        return None

    def _record(self, recorded: Recorded) -> None:
        self._states[recorded.state.robot_id] = recorded.state  # the newest state wins
        self._samples.extend(recorded.samples)
        if self._pending_since is None:
            self._pending_since = self._clock()
            self._set_timer(self._write_every_s)

    def _due(self) -> None:
        """Reached by tell: a failed write is logged (by `_write`), never raised."""
        self._timer_set = False
        if self._pending_since is None:
            return  # written meanwhile (a flush), nothing since
        left = self._pending_since + self._write_every_s - self._clock()
        if left > DUE_SLACK_S:
            self._set_timer(left)  # what is pending came after a flush: its own interval
            return
        self._write()

    def _set_timer(self, delay_s: float) -> None:
        if not self._timer_set:
            self._timer_set = True
            self._wake(delay_s, self.actor_ref, WriteDue())

    def _write(self) -> Exception | None:
        """Everything pending in one unit, waited for; what failed is logged and dropped
        (kept, a unit the database refuses would fail every write after it)."""
        if self._pending_since is None:
            return None
        states, samples = list(self._states.values()), self._samples
        self._states, self._samples, self._pending_since = {}, [], None
        try:
            self._writer.write(data.save_states, states, samples).get(timeout=WRITE_TIMEOUT_S)
        except (RobodineError, PeeweeException, pykka.Timeout) as exc:
            log.error("could not save %d robot states and %d pose samples: %s", len(states), len(samples), exc)
            return exc
        return None


class RecorderProxy(TypedProxy):
    """The recorder as robot actors and HTTP reach it (`ActorSlot[RecorderProxy]`)."""

    flush = proxy_method(RecorderActor.flush)
