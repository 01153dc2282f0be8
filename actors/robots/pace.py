"""How often a robot's changes are told and saved: the rate limits of one robot actor.

A robot sends telemetry at up to 100 Hz; telling the hub, the fleet and the dispatcher,
or writing SQLite, at that rate would cost every room for nothing. So a change of link,
state, task or name is told at once; motion (pose, battery, joints) at one announcement
per `publish_interval_s` on average, by a token bucket of `BURST` (a robot sending at
exactly the rate is never held for its jitter, as "one interval since the last" did:
that held every early arrival for the rest of its interval), with the last move of a
burst told as soon as a token is back (the trailing edge); a mere `last_seen` every
`LAST_SEEN_EVERY_S`; the dispatcher only what it chooses robots by, or once a second;
and the state handed to the recorder (actors/robots/recorder.py) with a pose sample at
most every `persist_interval_s`, and only when it changed: a ping's `last_seen` alone
waits for the next change, for the robot going offline or for the service stopping.

Decisions and their bookkeeping only: the actor (actors/robots/robot.py) reads its clock,
tells, schedules the trailing `Announce` and writes. No I/O, no locks: every method
runs on the owning robot actor's thread.
"""

from __future__ import annotations

from typing import Any

from robodine_edge.actors.robots.messages import RobotSnapshot
from robodine_edge.domain.token_bucket import TokenBucket

BURST = 2.0
"""Announcements a robot may make back to back: one early arrival's worth of jitter.
Every announcement spends a token; the average stays one per `publish_interval_s`."""
LAST_SEEN_EVERY_S = 5.0
STATE_TOLD_EVERY_S = 1.0
"""The dispatcher hears an unchanged robot at most this often."""


def moved(before: RobotSnapshot, after: RobotSnapshot) -> bool:
    """Whether the change is motion, the part rate-limited to `publish_interval_s`."""
    return (before.pose, before.battery, before.joints) != (after.pose, after.battery, after.joints)


def kept_changed(before: RobotSnapshot, after: RobotSnapshot) -> bool:
    """Whether the change is in what the robots table keeps of a robot besides `last_seen`."""
    return before.state != after.state or moved(before, after)


class RobotPace:
    """What was last told and saved, and when; which changes are worth telling now."""

    def __init__(self, publish_interval_s: float, persist_interval_s: float) -> None:
        self._bucket = TokenBucket(rate=1.0 / publish_interval_s, burst=BURST)
        self._persist_interval_s = persist_interval_s
        self._published: RobotSnapshot | None = None
        self._last_publish = 0.0
        self._trailing_due = False
        self._state_key: tuple[Any, ...] | None = None
        self._state_told = 0.0
        self._dirty = False
        self._seen = False
        self._last_persist = 0.0

    # -- telling ----------------------------------------------------------------------

    def worth_announcing(self, before: RobotSnapshot, after: RobotSnapshot, now: float) -> bool:
        """A change of link, state, task or name at once; motion when the bucket has a
        token; a mere `last_seen` (pings) every `LAST_SEEN_EVERY_S`."""
        if (before.online, before.state, before.current_task, before.name) != (
            after.online, after.state, after.current_task, after.name,
        ):  # fmt: skip
            return True
        if moved(before, after):
            return self._bucket.ready(now)
        return before.last_seen != after.last_seen and now - self._last_publish >= LAST_SEEN_EVERY_S

    def worth_repeating(self, snap: RobotSnapshot, now: float) -> bool:
        """On a tick: whether what changed since the last announcement is due by now."""
        return self._published is not None and self.worth_announcing(self._published, snap, now)

    def hold(self) -> bool:
        """A motion change was held by the limit: True if a trailing announcement must be
        scheduled now, False if one already is."""
        if self._trailing_due:
            return False
        self._trailing_due = True
        return True

    def trailing_delay(self, now: float) -> float:
        """Seconds from `now` until the bucket holds a token again."""
        return self._bucket.wait_s(now)

    def trailing_ended(self, snap: RobotSnapshot) -> bool:
        """The scheduled announcement arrived: True if `snap` was not announced meanwhile."""
        self._trailing_due = False
        return snap != self._published

    def announced(self, snap: RobotSnapshot, now: float) -> None:
        """`snap` is being told to the hub and the fleet at `now`: a token is spent (if
        there is none, as for a change of state, the next motion waits a whole one)."""
        self._bucket.spend(now)
        self._last_publish = now
        self._published = snap

    def worth_telling_state(self, snap: RobotSnapshot, now: float) -> bool:
        """Whether the dispatcher should hear `snap`: what it chooses robots by changed
        (link, state, task, whole battery percent), or a second has passed."""
        key = (snap.online, snap.state, snap.current_task, int(snap.battery or 0))
        if key == self._state_key and now - self._state_told < STATE_TOLD_EVERY_S:
            return False
        self._state_key, self._state_told = key, now
        return True

    # -- saving -----------------------------------------------------------------------

    def changed(self, before: RobotSnapshot, after: RobotSnapshot) -> None:
        """The snapshot changed: its state, battery, pose or joints are to be saved at the
        next interval; a mere `last_seen` (a ping, any frame) only with the next save or a
        forced one. Link, task and name are not saved by the state save."""
        if kept_changed(before, after):
            self._dirty = True
        elif before.last_seen != after.last_seen:
            self._seen = True

    def persist_due(self, now: float, force: bool = False) -> bool:
        """Whether to save now: state, battery, pose or joints changed and
        `persist_interval_s` has passed since the last save; or, when `force`d, anything
        saved changed, `last_seen` included. True also counts the save as made at `now`."""
        if force:
            due = self._dirty or self._seen
        else:
            due = self._dirty and now - self._last_persist >= self._persist_interval_s
        if due:
            self._dirty, self._seen, self._last_persist = False, False, now
        return due
