"""Camera recordings on disk: finding them, removing the oldest, and the size cap.

Recordings are the `.mjpeg` files under `DATA_DIR/videos/<camera_id>/` (`actors.cameras.camera`).
The oldest (by last write) go first; a recording still being written (its row has no
end yet) is never removed: its camera is asked to close it and go on in a new file
(`EndRecording`), and the closed part goes on the next round. Removing one deletes the
file, then its row (a unit of work for the store), so `/recordings` lists only what is
on disk. Files without a row (a deleted camera's: they stay on disk) count and go too.

`RecordingsCap` keeps them all under `retention.recordings_mb`; `care.disk` uses
`Recordings.remove_oldest` when the disk runs low. Care thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data.models import Recording

log = logging.getLogger(__name__)
SUFFIX = ".mjpeg"
WRITE_TIMEOUT_S = 30.0
CAP_EVERY_S = 10.0
CAP_AGAIN_S = 2.0
"""After asking cameras to close their files, the cap looks again this soon."""

EndRecordings = Callable[[set[str], str, bool], None]
"""Tell these cameras (all, for an empty set) to close their recordings, saying why;
with True, to go on in a new file."""


@dataclass(frozen=True, slots=True)
class RecordingFile:
    path: Path
    name: str
    """Its path under the videos folder, as its row names it (`<camera_id>/<file>`)."""
    size: int
    modified: float

    @property
    def camera_id(self) -> str:
        return self.name.split("/", 1)[0]


def open_recordings() -> set[str]:
    """Unit of work (writer thread): the files of the recordings not closed yet."""
    return {row.file for row in Recording.select(Recording.file).where(Recording.ended_at.is_null())}


def forget_recordings(names: list[str]) -> int:
    """Unit of work (writer thread): remove the rows of recordings whose files are gone."""
    return int(Recording.delete().where(Recording.file.in_(names)).execute()) if names else 0


def recording_files(videos: Path) -> list[RecordingFile]:
    """Every recording file, oldest first."""
    found = []
    try:
        folders = [entry for entry in videos.iterdir() if entry.is_dir() and not entry.is_symlink()]
    except OSError:
        return []
    for folder in folders:
        for path in folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.lstat()
            except OSError:
                continue
            if path.is_file() and not path.is_symlink():
                found.append(RecordingFile(path, f"{folder.name}/{path.name}", stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda file: (file.modified, file.name))


class Recordings:
    """Removes recordings, oldest first. Care thread."""

    def __init__(self, videos: Path, writer: Writer) -> None:
        self.videos = videos
        self._writer = writer

    def files(self) -> tuple[list[RecordingFile], set[str]]:
        """(every recording file oldest first, the names of those still being written)."""
        return recording_files(self.videos), self._write(open_recordings)

    def remove_oldest(self, enough: Callable[[int], bool]) -> tuple[list[RecordingFile], list[RecordingFile]]:
        """Remove closed recordings, oldest first, until `enough(bytes removed so far)`.
        Returns (the removed, the ones still being written)."""
        files, running = self.files()
        removed: list[RecordingFile] = []
        freed = 0
        for file in files:
            if enough(freed):
                break
            if file.name in running:
                continue
            try:
                file.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove the recording %s: %s", file.path, exc.strerror or exc)
                continue
            removed.append(file)
            freed += file.size
        if removed:
            self._write(forget_recordings, [file.name for file in removed])
            log.info(
                "removed %d recordings (%d MiB), the oldest from %s",
                len(removed), freed // 2**20, removed[0].name,
            )  # fmt: skip
        return removed, [file for file in files if file.name in running]

    def _write(self, unit: Callable[..., Any], *args: Any) -> Any:
        return self._writer.write(unit, *args).get(timeout=WRITE_TIMEOUT_S)


class RecordingsCap:
    """The job: all recordings together stay under `retention.recordings_mb`."""

    name = "recordings"
    retry_s = CAP_EVERY_S

    def __init__(self, recordings: Recordings, cap_bytes: int, end_recordings: EndRecordings) -> None:
        self._recordings = recordings
        self._cap = cap_bytes
        self._end = end_recordings

    def first_delay(self) -> float:
        return CAP_AGAIN_S

    def run(self) -> float:
        total = sum(file.size for file in recording_files(self._recordings.videos))
        if total <= self._cap:
            return CAP_EVERY_S
        removed, running = self._recordings.remove_oldest(lambda freed: total - freed <= self._cap)
        if total - sum(file.size for file in removed) <= self._cap:
            return CAP_EVERY_S
        cameras = {file.camera_id for file in running}
        if cameras:
            self._end(cameras, "recordings reached retention.recordings_mb: going on in a new file", True)
        return CAP_AGAIN_S
