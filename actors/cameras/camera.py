"""One actor per registered camera: its latest frame, rates, status and recording.

The network room reassembles frames from datagrams (`net/video.py`) and tells this
actor each complete one. It keeps the latest (for `/snapshot.jpg`), hands it on to
the live viewers (`/live`, through the `FrameSink` handed to it: a crossing into the
event loop), measures the frame rate and the latency (receive time minus the camera's
send time: meaningful when both clocks are synced), and appends it to the recording,
if one runs. A `Tick` every second notices a camera gone quiet and publishes the
figures to the `video_streams` topic at most once a second.

Recordings are files of concatenated JPEGs (`.mjpeg`; `ffplay -f mjpeg` plays them)
under `DATA_DIR/videos/<camera_id>/`. One left unfinished by a stop or a crash is
closed at the next start (its end is the file's last write) and recording goes on in
a new file: a restart does not end a recording someone started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data import video as data
from robodine_edge.data.datadir import PRIVATE_FILE_MODE, private_dir
from robodine_edge.errors import Conflict
from robodine_edge.process.logs import ALREADY_RECORDED
from robodine_edge.types import EventLevel, Publish

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
WRITE_TIMEOUT_S = 10.0
RATE_WINDOW_S = 2.0
INACTIVE_AFTER_S = 5.0
LATENCY_WEIGHT = 0.2
"""Weight of the newest frame in the latency average (an exponential moving average)."""

FrameSink = Callable[[str, bytes | None], None]
"""(camera id, JPEG) to the live viewers, from this actor's thread; None: camera gone."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete camera frame, as the network room reassembled it."""

    camera_id: str
    number: int
    sent_at: float
    """The camera's clock, unix seconds."""
    received_at: float
    """Ours, unix seconds, when its last chunk arrived."""
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class CameraTick:
    pass


@dataclass(frozen=True, slots=True)
class EndRecording:
    """From the care thread: close the recording running now (`why` says why, in the log)
    and, when `go_on`, continue in a new file, so the closed part can be removed."""

    why: str
    go_on: bool = False


RecordingRefusal = Callable[[], str | None]
"""Why no recording may start now (the disk is low), or None."""


@dataclass
class _Recording:
    record: data.RecordingRecord
    path: Path
    file: IO[bytes]
    size: int = 0


class CameraActor(SupervisedActor):
    """All methods run in this camera's own thread."""

    def __init__(
        self,
        camera_id: str,
        writer: Writer,
        journal: Journal,
        publish: Publish,
        frames_out: FrameSink,
        videos_dir: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        refusal: RecordingRefusal = lambda: None,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._refusal = refusal
        self._camera_id = camera_id
        self._writer = writer
        self._journal = journal
        self._publish = publish
        self._frames_out = frames_out
        self._videos_dir = videos_dir
        self._clock = clock
        self._latest: Frame | None = None
        self._arrivals: deque[float] = deque()
        self._heard_at = float("-inf")
        self._latency_ms: float | None = None
        self._error: str | None = None
        self._recording: _Recording | None = None
        self._announced: dict[str, Any] | None = None

    def on_start(self) -> None:
        self._record = self._write(data.load_stream, self._camera_id)
        unfinished = self._write(data.unfinished_recording, self._camera_id)
        if unfinished is not None:
            self._close_unfinished(unfinished)
            with contextlib.suppress(Conflict):  # cannot write there now: shown as `error`, the camera still runs
                self._open_recording()

    def on_stop(self) -> None:
        """The file is closed with its size recorded; the row stays unfinished, so the next
        start goes on recording (see the module's docstring)."""
        if self._recording is not None:
            self._recording.file.close()
            self._writer.write(data.finish_recording, self._recording.record.id, None, self._recording.size)
        self._frames_out(self._camera_id, None)

    # -- asks ----------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """The camera as the API shows it."""
        record = self._record
        return {
            "id": record.id,
            "camera_id": record.camera_id,
            "name": record.name,
            "source": record.source,
            "robot_id": record.robot_id,
            "status": self._status(),
            "fps": self._fps(),
            "latency_ms": None if self._latency_ms is None else round(self._latency_ms, 1),
            "last_frame_at": to_iso(self._last_frame_at()),
            "recording": self._recording is not None,
        }

    def latest_jpeg(self) -> bytes | None:
        return self._latest.jpeg if self._latest is not None else None

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        self._record = self._write(data.update_stream, self._camera_id, changes)
        return self._announce()

    def start_recording(self) -> dict[str, Any]:
        if self._recording is not None:
            raise Conflict(f"camera {self._camera_id} is already recording ({self._recording.record.file})")
        self._error = None
        self._open_recording()
        return self._announce()

    def stop_recording(self) -> dict[str, Any]:
        if self._recording is None:
            raise Conflict(f"camera {self._camera_id} is not recording")
        self._close_recording()
        return self._announce()

    def recordings(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; the one running now with the bytes written so far."""
        running = self._recording
        out = []
        for record in self._write(data.list_recordings, self._camera_id, limit):
            item = record.json()
            if running is not None and record.id == running.record.id:
                item["bytes"] = running.size
            out.append(item)
        return out

    # -- tells -------------------------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, Frame):
            self._frame(message)
        elif isinstance(message, CameraTick):
            self._tick()
        elif isinstance(message, EndRecording):
            self._end_recording(message)
        else:
            return super().on_receive(message)
        return None

    def _frame(self, frame: Frame) -> None:
        was_active = self._status() == "active"
        now = self._clock()
        self._latest, self._heard_at = frame, now
        self._arrivals.append(now)
        latency = max(0.0, (frame.received_at - frame.sent_at) * 1000)
        self._latency_ms = (
            latency if self._latency_ms is None else self._latency_ms + LATENCY_WEIGHT * (latency - self._latency_ms)
        )
        self._frames_out(self._camera_id, frame.jpeg)
        if self._recording is not None:
            self._append(frame.jpeg)
        if not was_active:
            self._announce()

    def _end_recording(self, message: EndRecording) -> None:
        if self._recording is None:
            return
        log.info("camera %s: recording closed: %s", self._camera_id, message.why)
        self._close_recording()
        if message.go_on:
            with contextlib.suppress(Conflict):  # could not go on: shown as `error` (or refused: disk low)
                self._open_recording()
        self._announce()

    def _tick(self) -> None:
        view = self.view()
        if view != self._announced:
            self._announced = view
            self._publish("video_streams", "upsert", view)

    # -- helpers -------------------------------------------------------------------------------

    def _last_frame_at(self) -> datetime | None:
        if self._latest is None:
            return None
        return datetime.fromtimestamp(self._latest.received_at, UTC).replace(tzinfo=None)

    def _status(self) -> str:
        if self._error is not None:
            return "error"
        return "active" if self._clock() - self._heard_at < INACTIVE_AFTER_S else "inactive"

    def _fps(self) -> float:
        self._prune(self._clock())
        return round(len(self._arrivals) / RATE_WINDOW_S, 1)

    def _prune(self, now: float) -> None:
        while self._arrivals and now - self._arrivals[0] > RATE_WINDOW_S:
            self._arrivals.popleft()

    def _announce(self) -> dict[str, Any]:
        view = self._announced = self.view()
        self._publish("video_streams", "upsert", view)
        return view

    def _open_recording(self) -> None:
        refusal = self._refusal()
        if refusal is not None:
            raise Conflict(f"camera {self._camera_id} cannot record: {refusal}")
        started = utcnow()
        folder = self._videos_dir / self._camera_id
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"{self._camera_id}-{stamp}.mjpeg"
        for n in range(2, 100):
            if not path.exists():
                break
            path = folder / f"{self._camera_id}-{stamp}-{n}.mjpeg"
        try:
            private_dir(folder)
            handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE), "wb")
        except OSError as exc:
            self._fail(f"cannot start recording: {exc}")
            raise Conflict(f"camera {self._camera_id} cannot record: {exc.strerror or exc}") from None
        file = path.relative_to(self._videos_dir).as_posix()
        record = self._write(data.start_recording, self._camera_id, file, started)
        self._recording = _Recording(record, path, handle)
        log.info("camera %s: recording to %s", self._camera_id, path)

    def _append(self, jpeg: bytes) -> None:
        assert self._recording is not None
        try:
            self._recording.file.write(jpeg)
        except OSError as exc:
            self._close_recording()
            self._fail(f"recording stopped: {exc}")
            return
        self._recording.size += len(jpeg)

    def _close_recording(self) -> None:
        recording, self._recording = self._recording, None
        if recording is None:
            return
        try:
            recording.file.close()
        except OSError as exc:
            log.warning("camera %s: closing %s: %s", self._camera_id, recording.path, exc)
        self._writer.write(data.finish_recording, recording.record.id, utcnow(), recording.size)

    def _close_unfinished(self, record: data.RecordingRecord) -> None:
        path = self._videos_dir / record.file
        try:
            stat = path.stat()
            ended, size = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None), stat.st_size
        except OSError:
            ended, size = record.started_at, record.bytes
        self._write(data.finish_recording, record.id, ended, size)

    def _fail(self, reason: str) -> None:
        self._error = reason
        log.warning("camera %s: %s", self._camera_id, reason, extra=ALREADY_RECORDED)
        self._journal.record(
            "camera_error", f"camera {self._camera_id}: {reason}", level=EventLevel.ERROR,
            entity_type="camera", entity_id=self._camera_id,
        )  # fmt: skip
        self._announce()

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=WRITE_TIMEOUT_S)


class CameraProxy(TypedProxy):
    """A camera actor as HTTP and the cameras actor reach it (`ActorSlot[CameraProxy]`)."""

    view = proxy_method(CameraActor.view)
    latest_jpeg = proxy_method(CameraActor.latest_jpeg)
    update = proxy_method(CameraActor.update)
    start_recording = proxy_method(CameraActor.start_recording)
    stop_recording = proxy_method(CameraActor.stop_recording)
    recordings = proxy_method(CameraActor.recordings)
