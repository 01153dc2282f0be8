"""How long a legacy robot may stay silent before it counts as offline.

A legacy robot has no link and knows no heartbeat: it is heard when its node connects
to report, as often as that node reports (the original Cook Manager every second for
each of its arms, one after the other; the Alba Manager on each pose it gets). So the
silence it is allowed follows the gaps it really leaves: three times the longest of its
last `WINDOW` gaps — never less than three heartbeats (what a linked robot is allowed,
and all that is known before its second report) nor more than `MAX_SILENCE_S`. A gap
longer than that is an outage, not a cadence, and is not learned; a shorter one is,
even one that ended a spell offline, so a robot that took to reporting more slowly goes
offline once, not at every report.

Plain bookkeeping with no I/O, on the robot actor's thread.
"""

from __future__ import annotations

from collections import deque

WINDOW = 8
"""Reporting gaps remembered: enough to ride out one quick report among slow ones."""
MAX_SILENCE_S = 60.0
"""The most silence ever allowed: a robot quiet for longer is offline, whatever its pace."""


class LegacyPace:
    def __init__(self, heartbeat_s: float) -> None:
        self._floor = 3 * heartbeat_s
        self._gaps: deque[float] = deque(maxlen=WINDOW)
        self._heard: float | None = None

    def heard(self, now: float) -> None:
        """A report arrived at `now` (the actor's monotonic clock)."""
        if self._heard is not None and 0 < now - self._heard <= MAX_SILENCE_S:
            self._gaps.append(now - self._heard)
        self._heard = now

    def allowed_silence(self) -> float:
        paced = 3 * max(self._gaps) if self._gaps else 0.0
        return max(self._floor, min(MAX_SILENCE_S, paced))

    def silence(self, now: float) -> float:
        return 0.0 if self._heard is None else now - self._heard

    def gone_quiet(self, now: float) -> bool:
        """Heard once at least, and silent for longer than its pace allows."""
        return self._heard is not None and self.silence(now) > self.allowed_silence()
