"""Scheduled backups: an online copy of the database every `backup.interval_s` into
`DATA_DIR/backups/robodine-<UTC time as YYYYmmddTHHMMSSZ>.sqlite3`, the newest
`backup.keep` of that name kept and older ones of that name removed; nothing else in
the folder is touched (`before-restore-*` copies, files someone put there).

Runs on the `care-backup` thread, a thread of its own because a copy of a large
database takes minutes on a Pi. The copy reads one WAL snapshot, so the store's writer
never waits for it; it goes a megabyte at a time, flushing what it wrote every few
megabytes and pausing briefly, so the card's write queue never holds a backup's worth
of data in front of an order's commit. A copy that would leave less than
`data.min_free_mb` free is not started.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from robodine_edge.care.snapshot import backup
from robodine_edge.clock import utcnow
from robodine_edge.config import BackupConfig
from robodine_edge.data.datadir import private_dir
from robodine_edge.data.db import database_path
from robodine_edge.errors import BackupError
from robodine_edge.process.logs import ALREADY_RECORDED
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import EventLevel

log = logging.getLogger(__name__)
FOLDER = "backups"
NAME = re.compile(r"robodine-(\d{8}T\d{6}Z)\.sqlite3")
STAMP = "%Y%m%dT%H%M%SZ"
FIRST_DELAY_S = 60.0
"""An overdue backup (or the first one) starts this long after the service is ready, or
after `interval_s` if that is shorter: start-up is the busiest minute of a day."""
FLUSH_EVERY_PAGES = 2048
"""Pages copied (8 MiB at 4 KiB) between flushes of the copy to the card."""
PAUSE_S = 0.005
"""Pause after each step of `backup.STEP_PAGES` pages, so the copy takes turns with the service."""

RecordEvent = Callable[..., object]
"""`Journal.record`: writes an event through the store and publishes it once committed."""


class Stopping(Exception):
    """The service is stopping: the copy in progress is abandoned (its partial file removed)."""


def backup_name(moment: datetime) -> str:
    return f"robodine-{moment:{STAMP}}.sqlite3"


def scheduled_backups(folder: Path) -> list[Path]:
    """The files of the scheduled backups' name in `folder`, newest first (by the time in the name)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    found = [path for path in entries if NAME.fullmatch(path.name) and path.is_file() and not path.is_symlink()]
    return sorted(found, key=lambda path: path.name, reverse=True)


def taken_at(path: Path) -> datetime:
    match = NAME.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not a scheduled backup's name")
    return datetime.strptime(match.group(1), STAMP)


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove the scheduled backups past the newest `keep`; returns those removed."""
    removed = []
    for path in scheduled_backups(folder)[keep:]:
        try:
            path.unlink()
        except OSError as exc:
            log.warning("cannot remove the old backup %s: %s", path, exc.strerror or exc)
            continue
        removed.append(path)
    return removed


class ScheduledBackup:
    """The job: `run` writes one backup and prunes; it returns the seconds until the next."""

    name = "backup"

    def __init__(
        self,
        data_dir: Path,
        config: BackupConfig,
        min_free_bytes: int,
        stopping: threading.Event,
        record: RecordEvent,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._metrics = metrics
        self._data_dir = data_dir
        self._folder = data_dir / FOLDER
        self._config = config
        self._min_free = min_free_bytes
        self._stopping = stopping
        self._record = record
        self._clock = clock
        self._failing = False

    @property
    def retry_s(self) -> float:
        return float(self._config.interval_s)

    def first_delay(self) -> float:
        """Seconds from now to the first backup: the newest one's time plus the interval
        (a restart does not put the schedule back), and never sooner than `FIRST_DELAY_S`
        (or the interval, if shorter), nor later than one interval."""
        interval = float(self._config.interval_s)
        soonest = min(interval, FIRST_DELAY_S)
        newest = scheduled_backups(self._folder)
        if not newest:
            return soonest
        due = (taken_at(newest[0]) + timedelta(seconds=interval) - self._clock()).total_seconds()
        return min(max(due, soonest), interval)

    def run(self) -> float:
        target = self._folder / backup_name(self._clock())
        started = time.monotonic()
        try:
            private_dir(self._folder)
            self._check_room()
            size = backup(self._data_dir, target, between_steps=self._pace(target))
        except Stopping:
            log.info("backup to %s abandoned: the service is stopping", target)
            return self.retry_s
        except (BackupError, OSError) as exc:
            self._metrics.backups.labels("failed").inc()
            self._failed(str(exc) if isinstance(exc, BackupError) else f"{exc.strerror or exc} ({self._folder})")
            return self.retry_s
        self._metrics.backups.labels("ok").inc()
        removed = prune(self._folder, self._config.keep)
        log.info(
            "backup written to %s (%d bytes in %.1f s); %d old backups removed",
            target, size, time.monotonic() - started, len(removed),
        )  # fmt: skip
        if self._failing:
            self._failing = False
            self._record("backup_ok", f"backups are written again ({target.name})")
        return float(self._config.interval_s)

    def _check_room(self) -> None:
        """Refuse a copy that would leave less than `data.min_free_mb` free (low disk
        would then remove recordings to make room for a backup)."""
        needed = database_path(self._data_dir).stat().st_size
        stats = os.statvfs(self._folder)
        free = stats.f_bavail * stats.f_frsize
        if free - needed < self._min_free:
            raise BackupError(
                f"not enough free space for a backup: {needed // 2**20} MiB needed, {free // 2**20} MiB free,"
                f" {self._min_free // 2**20} MiB to be kept free (data.min_free_mb)"
            )

    def _pace(self, target: Path) -> Callable[[int, int], None]:
        partial = target.with_name(f".{target.name}.partial")
        flushed = 0

        def between_steps(copied: int, total: int) -> None:
            nonlocal flushed
            if self._stopping.is_set():
                raise Stopping
            if copied - flushed >= FLUSH_EVERY_PAGES:
                flushed = copied
                _flush(partial)
            self._stopping.wait(PAUSE_S)

        return between_steps

    def _failed(self, reason: str) -> None:
        """Logged every time; an event (and staff notification) once, until a backup works again."""
        log.error("scheduled backup failed: %s", reason, extra=ALREADY_RECORDED)
        if not self._failing:
            self._failing = True
            self._record("backup_failed", f"the scheduled backup failed: {reason}", level=EventLevel.ERROR)


def _flush(path: Path) -> None:
    """Send what the copy wrote so far to the card, so it never piles up in the page cache
    to be flushed at once in front of the WAL's next fsync."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)
