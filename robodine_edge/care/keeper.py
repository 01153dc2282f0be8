"""The care threads and their jobs, built from the config and started by the composition root.

`care`: WAL checkpoints, the disk watch, the recordings cap, retention and the nightly
upkeep: short steps, each handing its writes to the writer actor. `care-backup`: the
scheduled backups alone, since one copy of a large database takes minutes. Both start
once the service is ready and stop before the actors do (a backup in progress is
abandoned, its partial file removed).
"""

from __future__ import annotations

import threading
from pathlib import Path

from robodine_edge.actors.storage.writer import Writer
from robodine_edge.care.backups import RecordEvent, ScheduledBackup
from robodine_edge.care.checkpoints import Checkpoints, Nightly
from robodine_edge.care.disk import DiskGauge, DiskWatch
from robodine_edge.care.recordings import EndRecordings, Recordings, RecordingsCap
from robodine_edge.care.retention import Retention
from robodine_edge.care.rota import Job, Rota
from robodine_edge.config import Config
from robodine_edge.data.datadir import videos_dir
from robodine_edge.data.db import database_path
from robodine_edge.process.metrics import Metrics

MIB = 2**20


class Keeper:
    """Any one thread starts and stops it (the composition root's)."""

    def __init__(
        self,
        config: Config,
        writer: Writer,
        record: RecordEvent,
        metrics: Metrics,
        gauge: DiskGauge,
        end_recordings: EndRecordings,
    ) -> None:
        data_dir = Path(config.data.dir)
        min_free = config.data.min_free_mb * MIB
        recordings = Recordings(videos_dir(data_dir), writer)
        self.checkpoints = Checkpoints(database_path(data_dir), metrics)
        jobs: list[Job] = [
            self.checkpoints,
            DiskWatch(data_dir, min_free, gauge, recordings, end_recordings, record, metrics),
            Nightly(writer, min_free),
        ]
        if config.retention.recordings_mb:
            jobs.append(RecordingsCap(recordings, config.retention.recordings_mb * MIB, end_recordings))
        retention = Retention(writer, config.retention, metrics=metrics)
        if retention.enabled:
            jobs.append(retention)
        self.care = Rota("care", jobs, closing=[self.checkpoints])
        stopping = threading.Event()
        backups: list[Job] = []
        if config.backup.interval_s:
            backups.append(ScheduledBackup(data_dir, config.backup, min_free, stopping, record, metrics))
        self.backups = Rota("care-backup", backups, stopping=stopping)

    def start(self) -> None:
        self.care.start()
        self.backups.start()

    def stop(self) -> None:
        self.backups.stop()
        self.care.stop()
