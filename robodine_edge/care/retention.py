"""Retention: pose samples older than `retention.poses_days` and events older than
`retention.events_days` (with the staff notifications they raised) are deleted while
the service runs. Orders, tasks and everything else are kept.

The deletes are units of work for the writer actor, the one writer, each of at most
`batch` rows, one at a time with a pause after each that is a few times as long as the
unit took: an order placed during a purge of millions of rows waits behind at most one
small unit, and the purge takes a bounded share of the writer.

What a unit costs the card is the pages it changes, so a unit deletes rows that sit
together. Events are found by their `created_at` index and, written in time order, lie
in runs. Pose samples of 20 robots interleave: deleting one robot's oldest thousand
through the `(robot_id, frame, recorded_at)` index would touch a page per row (in
`make bench`, 2.4 MiB of WAL and p99 150 ms for the orders meanwhile). So the oldest
samples go first in the table's own order (`purge_pose_prefix`: a thousand neighbours
at a time, while a window holds any old one), and only then does the index find what
is left (`purge_poses`: samples written late with an old time, by a clock set after
boot), one robot's frame at a time, so nothing older than the cutoff is left behind.

The job runs on the `care` thread; the units on the store's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from robodine_edge.actors.storage.writer import Writer
from robodine_edge.clock import utcnow
from robodine_edge.config import RetentionConfig
from robodine_edge.data.models import database_proxy
from robodine_edge.process.metrics import Metrics

log = logging.getLogger(__name__)
BATCH_ROWS = 1000
EVERY_S = 600.0
"""A new pass starts this long after the last one ended."""
FIRST_DELAY_S = 10.0
PAUSE_FACTOR = 4.0
"""After a unit that took t, the next waits PAUSE_FACTOR * t: the purge takes at most a
fifth of the writer's time."""
MIN_PAUSE_S = 0.02
WRITE_TIMEOUT_S = 60.0

PoseGroup = tuple[str | None, str]
"""(robot_id, frame) of pose samples: what the pose index is ordered by first."""


def _sql(query: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
    return database_proxy.execute_sql(query, params)


def _text(moment: datetime) -> str:
    """A time as the database stores it (peewee's DateTimeField: `YYYY-MM-DD HH:MM:SS.ffffff`)."""
    return moment.isoformat(" ")


# -- units of work (writer thread) -----------------------------------------------------------


def _pose_group_after(after: PoseGroup | None) -> PoseGroup | None:
    """The group after `after` (None: the first) in index order: the ingredients' samples
    (robot_id NULL) first, then each robot's frames. Each lookup is one index seek."""
    if after is None or after[0] is None:
        if after is None:
            row = _sql("SELECT frame FROM pose WHERE robot_id IS NULL ORDER BY frame LIMIT 1").fetchone()
        else:
            row = _sql(
                "SELECT frame FROM pose WHERE robot_id IS NULL AND frame > ? ORDER BY frame LIMIT 1", (after[1],)
            ).fetchone()
        if row is not None:
            return None, row[0]
        first = "SELECT robot_id, frame FROM pose WHERE robot_id IS NOT NULL ORDER BY robot_id, frame LIMIT 1"
        row = _sql(first).fetchone()
    else:
        row = _sql(
            "SELECT robot_id, frame FROM pose WHERE (robot_id, frame) > (?, ?) ORDER BY robot_id, frame LIMIT 1", after
        ).fetchone()
    return None if row is None else (row[0], row[1])


def purge_pose_prefix(cutoff: datetime, after: int, limit: int) -> tuple[int, int | None]:
    """Delete the samples recorded before `cutoff` among the `limit` after id `after`, in
    the table's order. Returns how many went and the id to go on after (None: the window
    held no old sample, or was the table's last)."""
    rows = _sql(
        "SELECT id, recorded_at < ? FROM pose WHERE id > ? ORDER BY id LIMIT ?", (_text(cutoff), after, limit)
    ).fetchall()
    old = [row[0] for row in rows if row[1]]
    if old:
        _sql(f"DELETE FROM pose WHERE id IN ({','.join('?' * len(old))})", old)
    if not old or len(rows) < limit:
        return len(old), None
    return len(old), rows[-1][0]


def purge_poses(cutoff: datetime, group: PoseGroup | None, limit: int) -> tuple[int, PoseGroup | None]:
    """Delete at most `limit` pose samples recorded before `cutoff`, oldest first within
    each group, starting at `group` (None: the first). Returns how many went and the
    group to go on from (None: no group is left)."""
    current = _pose_group_after(None) if group is None else group
    deleted = 0
    while current is not None and deleted < limit:
        deleted += _sql(
            "DELETE FROM pose WHERE id IN (SELECT id FROM pose WHERE robot_id IS ? AND frame = ? AND recorded_at < ?"
            " ORDER BY robot_id, frame, recorded_at LIMIT ?)",
            (current[0], current[1], _text(cutoff), limit - deleted),
        ).rowcount
        if deleted < limit:  # this group has nothing older left
            current = _pose_group_after(current)
    return deleted, current


def purge_events(cutoff: datetime, limit: int) -> tuple[int, int]:
    """Delete the oldest events created before `cutoff` and the notifications they raised,
    at most `limit` rows in all; returns (events, notifications) deleted."""
    sql = _sql
    events = [row[0] for row in sql(
        "SELECT id FROM event WHERE created_at < ? ORDER BY created_at LIMIT ?", (_text(cutoff), limit)
    )]  # fmt: skip
    if not events:
        return 0, 0
    marks = ",".join("?" * len(events))
    notes: dict[int, list[int]] = {}
    for note_id, event_id in sql(f"SELECT id, event_id FROM notification WHERE event_id IN ({marks})", events):
        notes.setdefault(event_id, []).append(note_id)
    chosen, gone_notes = _fit(events, notes, limit)
    if gone_notes:
        sql(f"DELETE FROM notification WHERE id IN ({','.join('?' * len(gone_notes))})", gone_notes)
    if chosen:
        sql(f"DELETE FROM event WHERE id IN ({','.join('?' * len(chosen))})", chosen)
    return len(chosen), len(gone_notes)


def _fit(events: list[int], notes: dict[int, list[int]], limit: int) -> tuple[list[int], list[int]]:
    """The oldest events that fit in `limit` rows with their notifications (an event with
    more notifications than fit loses `limit` of them now, the rest next time)."""
    chosen: list[int] = []
    gone: list[int] = []
    for event_id in events:
        own = notes.get(event_id, [])
        if len(chosen) + len(gone) + len(own) + 1 > limit:
            if not chosen and not gone:
                gone = own[:limit]
            break
        chosen.append(event_id)
        gone.extend(own)
    return chosen, gone


# -- the job (care thread) ------------------------------------------------------------------


@dataclass
class _Pass:
    poses_before: datetime | None
    events_before: datetime | None
    after_id: int | None = 0
    """Where the sweep in the table's order goes on (None: it is over)."""
    group: PoseGroup | None = None
    poses_done: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {"pose": 0, "event": 0, "notification": 0})


class Retention:
    """The purge, one unit per `run`; a pass goes through the poses, then the events."""

    name = "retention"
    retry_s = 60.0

    def __init__(
        self,
        writer: Writer,
        config: RetentionConfig,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH_ROWS,
        every_s: float = EVERY_S,
        first_delay_s: float = FIRST_DELAY_S,
    ) -> None:
        self._writer = writer
        self._config = config
        self._metrics = metrics
        self._clock = clock
        self._batch = batch
        self._every_s = every_s
        self._first_delay_s = first_delay_s
        self._pass: _Pass | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._config.poses_days or self._config.events_days)

    def first_delay(self) -> float:
        return self._first_delay_s

    def run(self) -> float:
        current = self._pass or self._start()
        started = time.monotonic()
        if not self._step(current):
            self._pass = None
            self._report(current)
            return self._every_s
        return max(MIN_PAUSE_S, PAUSE_FACTOR * (time.monotonic() - started))

    def _start(self) -> _Pass:
        now = self._clock()
        days = self._config.poses_days, self._config.events_days
        cutoffs = [now - timedelta(days=d) if d else None for d in days]
        self._pass = _Pass(cutoffs[0], cutoffs[1], poses_done=cutoffs[0] is None)
        return self._pass

    def _step(self, current: _Pass) -> bool:
        """One unit; False when the pass has nothing left to delete."""
        if current.after_id is not None and current.poses_before is not None:
            deleted, current.after_id = self._write(
                purge_pose_prefix, current.poses_before, current.after_id, self._batch
            )
            self._count(current, "pose", deleted)
            return True
        if not current.poses_done and current.poses_before is not None:
            deleted, group = self._write(purge_poses, current.poses_before, current.group, self._batch)
            self._count(current, "pose", deleted)
            current.group = group
            current.poses_done = group is None
            return True
        if current.events_before is None:
            return False
        events, notes = self._write(purge_events, current.events_before, self._batch)
        self._count(current, "event", events)
        self._count(current, "notification", notes)
        return bool(events or notes)

    def _count(self, current: _Pass, table: str, rows: int) -> None:
        current.counts[table] += rows
        if self._metrics is not None and rows:
            self._metrics.purged_rows.labels(table).inc(rows)

    def _write(self, unit: Callable[..., Any], *args: Any) -> Any:
        return self._writer.write(unit, *args).get(timeout=WRITE_TIMEOUT_S)

    def _report(self, done: _Pass) -> None:
        counts = done.counts
        if any(counts.values()):
            log.info(
                "retention: deleted %d pose samples, %d events and %d notifications past their time",
                counts["pose"], counts["event"], counts["notification"],
            )  # fmt: skip
