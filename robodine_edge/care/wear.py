"""What the database writes to the card, by kind: the WAL bytes of each commit, shared
among the kinds of the units in it (orders, poses, events, purge, other).

The WAL is the database's only write path between checkpoints: a commit appends one
frame (a page plus a 24-byte header) for each page it changed. How many a commit
appended is read from the WAL index (`walindex`): a few hundred nanoseconds, against
~60 µs for this thread's `/proc/thread-self/io`. A commit holding units of several
kinds is shared out in proportion to the rows each unit changed: an estimate (a row is
not a page), which is why the total written, from `/proc/<pid>/io`, is measured apart
(`make bench`).

Runs on the writer's thread, after each commit (`StoreActor(on_units=...)`).
"""

from __future__ import annotations

from pathlib import Path

from robodine_edge.care.walindex import WalIndex
from robodine_edge.process.metrics import Metrics

REFRESH_EVERY = 512
"""Commits between checks that the mapped `-shm` is still the one SQLite uses."""
KINDS = (
    ("robodine_edge.data.robots.save_states", "poses"),
    ("robodine_edge.data.robots.add_poses", "poses"),
    ("robodine_edge.data.events.", "events"),
    ("robodine_edge.care.retention.", "purge"),
    ("robodine_edge.data.orders.", "orders"),
    ("robodine_edge.data.kitchen.", "orders"),
    ("robodine_edge.data.tasks.", "orders"),
)
"""A unit's kind by the start of its function's name; anything else is `other`. An
event written by the unit that makes a change (an order placed) counts with that change,
and so does an order's Idempotency-Key, written by the unit that places it: an
idempotency record written alone is another creating request's (a party arriving, a
table, a user) or an answer refused, so `other`, as is the hourly prune of them."""


def kind_of(unit_name: str) -> str:
    for prefix, kind in KINDS:
        if unit_name.startswith(prefix):
            return kind
    return "other"


class WearMeter:
    """Counts the WAL bytes of each commit into `robodine_db_wal_bytes_total{kind}`."""

    def __init__(self, database: Path, metrics: Metrics) -> None:
        self._index = WalIndex(database)
        self._counter = metrics.db_wal_bytes
        self._kinds: dict[str, str] = {}
        self._commits = 0
        self._frames = 0
        self._salt = b""

    def committed(self, units: list[tuple[str, int]]) -> None:
        """Writer thread, after a commit of `units` (name, rows changed)."""
        self._commits += 1
        if self._commits % REFRESH_EVERY == 0:
            self._index.refresh()
        state = self._index.read()
        if state is None:
            return
        if not self._salt:  # the first look: what the WAL held before is not this commit's
            self._frames, self._salt = state.frames, state.salt
            return
        restarted = state.salt != self._salt or state.frames < self._frames
        appended = state.frames if restarted else state.frames - self._frames
        self._frames, self._salt = state.frames, state.salt
        if appended and units:
            self._count(appended * state.frame_bytes, units)

    def _count(self, size: int, units: list[tuple[str, int]]) -> None:
        weights: dict[str, int] = {}
        for name, rows in units:
            kind = self._kinds.get(name)
            if kind is None:
                kind = self._kinds[name] = kind_of(name)
            weights[kind] = weights.get(kind, 0) + max(rows, 1)
        total = sum(weights.values())
        for kind, weight in weights.items():
            self._counter.labels(kind).inc(size * weight / total)

    def close(self) -> None:
        self._index.close()
