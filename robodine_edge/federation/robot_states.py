"""The robots' retained state for headquarters: the latest view of each, sent at most
once a second per robot.

Robot actors announce changes up to ten times a second (the `robots` topic of the live
hub); headquarters needs a mirror, not a stream, so each robot's latest view waits here
and goes out when its second is up. A removed robot's retained state is cleared (an
empty retained message). Event loop only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

MIN_INTERVAL_S = 1.0
CLEARED = b""


@dataclass
class RobotStates:
    interval_s: float = MIN_INTERVAL_S
    latest: dict[str, bytes] = field(default_factory=dict)
    """Every robot known, its last view (or `CLEARED` until its removal is sent)."""
    _due: set[str] = field(default_factory=set)
    _sent_at: dict[str, float] = field(default_factory=dict)

    def changed(self, kind: str, data: dict[str, Any]) -> None:
        """A `robots` topic message (upsert: the robot as `GET /api/robots/{id}` shows it)."""
        robot_id = data.get("robot_id")
        if not isinstance(robot_id, str):
            return
        self.latest[robot_id] = CLEARED if kind == "delete" else orjson.dumps(data)
        self._due.add(robot_id)

    def everything(self) -> None:
        """A new connection: every robot is due again (the broker may have lost them)."""
        self._due = set(self.latest)
        self._sent_at.clear()

    def take_due(self, now: float) -> list[tuple[str, bytes]]:
        """The views to send now; robots sent less than `interval_s` ago wait."""
        ready = [r for r in self._due if now - self._sent_at.get(r, -self.interval_s) >= self.interval_s]
        out = []
        for robot_id in sorted(ready):
            self._due.discard(robot_id)
            self._sent_at[robot_id] = now
            body = self.latest[robot_id]
            if body == CLEARED:
                del self.latest[robot_id]
            out.append((robot_id, body))
        return out

    def next_due_s(self, now: float) -> float | None:
        """Seconds until the next robot may go, None when nothing waits."""
        if not self._due:
            return None
        return max(min(self._sent_at.get(r, -self.interval_s) + self.interval_s for r in self._due) - now, 0.0)
