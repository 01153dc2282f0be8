"""The watch on free space in the data directory.

Below `data.min_free_mb` free, the disk is low: every camera closes its recording and
none may start one (`DiskGauge.refusal`, consulted by the camera actors), the oldest
recordings are removed until the minimum is free again (or none is left), and one
`disk_low` event (warning, staff notified) says so, once until the disk has recovered.
The disk counts as recovered at `RECOVERED_SHARE` above the minimum (so it does not
flap around the mark), with an info `disk_ok` event; recordings are then started again
by staff, not by themselves. Orders go on being taken throughout: the database is
what the room is kept for.

Runs on the `care` thread, every `EVERY_S` (every second while low).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from robodine_edge.care.backups import RecordEvent
from robodine_edge.care.recordings import EndRecordings, Recordings
from robodine_edge.process.logs import ALREADY_RECORDED
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import EventLevel

log = logging.getLogger(__name__)
EVERY_S = 5.0
LOW_EVERY_S = 1.0
RECOVERED_SHARE = 1.1


class DiskGauge:
    """Whether the disk is low; set by the care thread, read by any (a plain flag)."""

    def __init__(self) -> None:
        self.low = False

    def refusal(self) -> str | None:
        """Camera actors' threads: why a recording may not start now."""
        return "the disk is low (data.min_free_mb)" if self.low else None


class DiskWatch:
    """The job."""

    name = "disk"
    retry_s = EVERY_S

    def __init__(
        self,
        data_dir: Path,
        min_free_bytes: int,
        gauge: DiskGauge,
        recordings: Recordings,
        end_recordings: EndRecordings,
        record: RecordEvent,
        metrics: Metrics,
    ) -> None:
        self._data_dir = data_dir
        self._min_free = min_free_bytes
        self._gauge = gauge
        self._recordings = recordings
        self._end = end_recordings
        self._record = record
        self._metrics = metrics

    def first_delay(self) -> float:
        return 0.0

    def run(self) -> float:
        free = self._free()
        if free >= self._min_free * (RECOVERED_SHARE if self._gauge.low else 1):
            if self._gauge.low:
                self._recovered(free)
            return EVERY_S
        if not self._gauge.low:
            self._went_low(free)
        self._recordings.remove_oldest(lambda freed: self._free() >= self._min_free)
        return LOW_EVERY_S

    def _free(self) -> int:
        free = shutil.disk_usage(self._data_dir).free
        self._metrics.data_free_bytes.set(free)
        return free

    def _went_low(self, free: int) -> None:
        self._gauge.low = True
        self._end(set(), "the disk is low", False)
        message = (
            f"the disk is low: {free // 2**20} MiB free in the data folder, under data.min_free_mb"
            f" ({self._min_free // 2**20} MiB); recordings are stopped and the oldest removed, orders go on"
        )
        log.warning("%s", message, extra=ALREADY_RECORDED)
        self._record("disk_low", message, level=EventLevel.WARNING)

    def _recovered(self, free: int) -> None:
        self._gauge.low = False
        message = f"the disk has room again: {free // 2**20} MiB free; recordings may be started again"
        log.info("%s", message)
        self._record("disk_ok", message)
