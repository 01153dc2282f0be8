"""WAL checkpoints off the writer's path, and the nightly tidy-up of the database file.

SQLite's automatic checkpoint runs inside the commit that fills the WAL to 1,000
pages: that commit, and every order queued behind it, waits while ~4 MiB are copied
into the database and synced. Here the `care` thread does it instead, on its own
connection, in PASSIVE mode (it neither waits for nor blocks the writer or a reader),
once the WAL holds `CHECKPOINT_BYTES` of frames not yet copied. A reader's snapshot can cut a
PASSIVE checkpoint short (it copies only what every reader has moved past): one cut short is
finished on the next look, a second later, when that reader is done — not after another
`CHECKPOINT_BYTES`. The writer starts the WAL again from its beginning only once all of it
is copied, so waiting would let each cut-short round add its frames to the file (cut back
to `db.WAL_SIZE_LIMIT` only when the WAL begins again). The writer keeps its own
automatic checkpoint at a far higher mark (`db.PRAGMAS`), a safety net should this
thread stall. The bytes each checkpoint sends to storage are this thread's, read from
`/proc/thread-self/io` around it (`robodine_db_checkpoint_bytes_total`).

Every night at `NIGHTLY_HOUR` (local time), through the writer actor (`Writer.maintain`:
between two batches, on the write connection): `wal_checkpoint(TRUNCATE)`, which
shrinks the WAL file to nothing, and
`VACUUM` only when it pays: when at least a quarter of the file, and at least
`VACUUM_MIN_BYTES`, is free pages (after a large purge), the store has had no order
activity for `QUIET_S`, and the disk has room for the copy VACUUM makes. VACUUM holds
the writer for as long as it takes (seconds per hundred MiB on a Pi), which is why it
waits for a quiet night rather than running whenever the file has slack: free pages
are reused by new rows anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase

from robodine_edge.actors.storage.writer import Writer
from robodine_edge.care.walindex import WalIndex
from robodine_edge.clock import utcnow
from robodine_edge.data.db import CHECKPOINT_BYTES, PRAGMAS
from robodine_edge.process.metrics import Metrics

log = logging.getLogger(__name__)
CHECK_EVERY_S = 1.0
NIGHTLY_HOUR = 4
VACUUM_MIN_BYTES = 64 * 2**20
VACUUM_SHARE = 0.25
QUIET_S = 1800.0
NIGHTLY_TIMEOUT_S = 3600.0
TRUNCATE_BUSY_MS = 200
"""How long the nightly checkpoint waits for readers (a backup's snapshot) before it
gives up for the night: the writer waits with it."""


def thread_write_bytes() -> int:
    """Bytes this thread has caused to be sent to storage (Linux task I/O accounting)."""
    try:
        with open("/proc/thread-self/io", "rb") as file:
            for line in file:
                if line.startswith(b"write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Checkpoints:
    """The job: a PASSIVE checkpoint whenever the WAL has grown enough. Care thread."""

    name = "checkpoint"
    retry_s = 5.0

    def __init__(self, database: Path, metrics: Metrics, *, frames: int | None = None) -> None:
        """`frames`: the mark in frames (None: `CHECKPOINT_BYTES` of the database's pages)."""
        self._database = database
        self._metrics = metrics
        self._frames = frames
        self._index = WalIndex(database)
        self._conn: sqlite3.Connection | None = None
        self._cut_short: bytes | None = None
        """The salt of the WAL whose last checkpoint a reader cut short (None: it was not):
        a WAL started again since is another, with nothing of it to finish."""

    def first_delay(self) -> float:
        return CHECK_EVERY_S

    def run(self) -> float:
        state = self._index.read()
        if state is None:
            self._index.refresh()
            return CHECK_EVERY_S
        unfinished = self._cut_short == state.salt and state.frames > state.backfilled
        mark = self._frames if self._frames is not None else CHECKPOINT_BYTES // state.page_size
        if state.frames - state.backfilled < mark and not unfinished:
            self._index.refresh()
            return CHECK_EVERY_S
        before = thread_write_bytes()
        _, frames, copied = self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self._metrics.db_checkpoint_bytes.inc(max(0, thread_write_bytes() - before))
        self._cut_short = state.salt if 0 <= copied < frames else None
        return CHECK_EVERY_S

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self._database, isolation_level=None, timeout=0)
        return self._conn

    def close(self) -> None:
        """Care thread, at stop."""
        self._index.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def seconds_until(hour: int, now: datetime | None = None) -> float:
    """Seconds from `now` (local, aware) to the next `hour`:00 local time."""
    now = now or datetime.now().astimezone()
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    return (due - now).total_seconds()


class Nightly:
    """The job: the nightly checkpoint and, when it pays, VACUUM. Care thread; the work
    itself on the store's."""

    name = "nightly"
    retry_s = 3600.0

    def __init__(
        self,
        writer: Writer,
        min_free_bytes: int,
        *,
        hour: int = NIGHTLY_HOUR,
        vacuum_min_bytes: int = VACUUM_MIN_BYTES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._writer = writer
        self._min_free = min_free_bytes
        self._vacuum_min = vacuum_min_bytes
        self._hour = hour
        self._clock = clock

    def first_delay(self) -> float:
        return seconds_until(self._hour)

    def run(self) -> float:
        started = time.monotonic()
        done = self._writer.maintain(self.tidy).get(timeout=NIGHTLY_TIMEOUT_S)
        log.info("nightly database upkeep: %s (%.1f s)", done, time.monotonic() - started)
        return seconds_until(self._hour)

    def tidy(self, db: SqliteDatabase) -> dict[str, Any]:
        """Writer thread, outside a transaction."""
        done: dict[str, Any] = {"checkpoint": truncate_wal(db)}
        reason = self._vacuum_refused(db)
        if reason is None:
            db.execute_sql("VACUUM")
            done["checkpoint_after_vacuum"] = truncate_wal(db)
            done["vacuum"] = "done"
        else:
            done["vacuum"] = reason
        return done

    def _vacuum_refused(self, db: SqliteDatabase) -> str | None:
        """Why VACUUM does not run tonight, or None."""
        page = db.execute_sql("PRAGMA page_size").fetchone()[0]
        pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
        free = db.execute_sql("PRAGMA freelist_count").fetchone()[0] * page
        if free < self._vacuum_min or free < VACUUM_SHARE * pages * page:
            return f"not worth it ({free // 2**20} MiB free of {pages * page // 2**20} MiB)"
        last = db.execute_sql('SELECT MAX(updated_at) FROM "order"').fetchone()[0]
        if last is not None and _parsed(last) > self._clock() - timedelta(seconds=QUIET_S):
            return "the store is not quiet (orders in the last 30 minutes)"
        stats = os.statvfs(Path(db.database).parent)
        if stats.f_bavail * stats.f_frsize < 2 * (pages * page - free) + self._min_free:
            return "not enough free space for the copy VACUUM makes"
        return None


def truncate_wal(db: SqliteDatabase) -> str:
    """`wal_checkpoint(TRUNCATE)` on the write connection, waiting at most
    `TRUNCATE_BUSY_MS` for readers; says how it went."""
    db.execute_sql(f"PRAGMA busy_timeout = {TRUNCATE_BUSY_MS}")
    try:
        busy, frames, copied = db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        with contextlib.suppress(Exception):
            db.execute_sql(f"PRAGMA busy_timeout = {PRAGMAS['busy_timeout']}")
    return "busy (a reader held the WAL)" if busy else f"WAL truncated ({copied} of {frames} frames copied)"


def _parsed(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
